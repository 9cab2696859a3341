// What memshare knows about each page of a mapping: its protection and the
// advice that changes who may touch it.  Every access check reads this, so
// that no access through memshare can fault.
#pragma once

#include <cstddef>
#include <iterator>
#include <map>

namespace memshare {

struct page_state {
    int prot = 0;
    bool dontfork = false; // MADV_DONTFORK: not inherited by forked children
    bool guard = false;    // MADV_GUARD_INSTALL: any access faults

    friend bool operator==(const page_state&, const page_state&) = default;
};

// The states of the bytes [0, size()) of a region, kept as runs of equal
// state.  A mapping has one run until protect() or advise() splits it, so a
// sparse 1 TiB mapping costs a few tree nodes, not a byte per page.
class page_states {
public:
    page_states() = default;
    page_states(std::size_t size, page_state initial);

    [[nodiscard]] std::size_t size() const noexcept { return size_; }

    // Applies `change(page_state&)` to the bytes [begin, end).
    template <class Change>
    void update(std::size_t begin, std::size_t end, Change change) {
        if (begin >= end) {
            return;
        }
        split(begin);
        split(end);
        for (auto it = runs_.find(begin); it != runs_.end() && it->first < end; ++it) {
            change(it->second);
        }
        merge(begin, end);
    }

    // Whether `pred(const page_state&)` holds for every byte in [begin, end).
    template <class Pred>
    [[nodiscard]] bool all_of(std::size_t begin, std::size_t end, Pred pred) const {
        if (runs_.size() == 1) {
            return pred(runs_.begin()->second); // the usual case, on every access
        }
        for (auto it = run_at(begin); it != runs_.end() && it->first < end; ++it) {
            if (!pred(it->second)) {
                return false;
            }
        }
        return true;
    }

    // Calls `visit(begin, end, const page_state&)` for every run.
    template <class Visit>
    void for_each_run(Visit visit) const {
        for (auto it = runs_.begin(); it != runs_.end(); ++it) {
            const auto next = std::next(it);
            visit(it->first, next == runs_.end() ? size_ : next->first, it->second);
        }
    }

    // Grows or shrinks to `size` bytes; new bytes take the last run's state,
    // as pages added by mremap() take the protection of the mapping's tail.
    void resize(std::size_t size);

private:
    using runs_type = std::map<std::size_t, page_state>;

    [[nodiscard]] runs_type::const_iterator run_at(std::size_t offset) const;
    void split(std::size_t at);
    void merge(std::size_t begin, std::size_t end);

    runs_type runs_; // key: offset where a run starts; runs tile [0, size_)
    std::size_t size_ = 0;
};

} // namespace memshare

#include <memshare/mapping/page_states.hpp>

namespace memshare {

page_states::page_states(std::size_t size, page_state initial) : size_(size) {
    runs_.emplace(0, initial);
}

page_states::runs_type::const_iterator page_states::run_at(std::size_t offset) const {
    auto it = runs_.upper_bound(offset);
    return it == runs_.begin() ? it : std::prev(it);
}

void page_states::split(std::size_t at) {
    if (at == 0 || at >= size_) {
        return;
    }
    auto it = std::prev(runs_.upper_bound(at));
    if (it->first != at) {
        runs_.emplace_hint(std::next(it), at, it->second);
    }
}

void page_states::merge(std::size_t begin, std::size_t end) {
    auto it = runs_.lower_bound(begin);
    if (it != runs_.begin()) {
        --it;
    }
    while (it != runs_.end()) {
        auto next = std::next(it);
        if (next == runs_.end() || next->first > end) {
            break;
        }
        if (next->second == it->second) {
            runs_.erase(next);
        } else {
            it = next;
        }
    }
}

void page_states::resize(std::size_t size) {
    if (size < size_) {
        runs_.erase(runs_.lower_bound(size), runs_.end());
    }
    size_ = size;
}

} // namespace memshare

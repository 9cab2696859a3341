#include "mapping/fork_registry.hpp"

#include "base/linux_abi.hpp"

#include <pthread.h>

#include <mutex>
#include <set>
#include <vector>

namespace memshare::detail {
namespace {

// Never destroyed: a child may fork while static destructors run.
std::mutex& registry_mutex() {
    static auto* mutex = new std::mutex;
    return *mutex;
}

std::set<region_state*>& registry() {
    static auto* regions = new std::set<region_state*>;
    return *regions;
}

void refill(region_state& state, std::size_t begin, std::size_t end, int prot) {
    void* want = state.addr + begin;
    void* got = ::mmap(want, end - begin, prot,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (got != want) {
        // Kernels before 4.17 take MAP_FIXED_NOREPLACE as a hint only.
        if (got != MAP_FAILED) {
            ::munmap(got, end - begin);
        }
        // Nothing can be mapped there: make memshare refuse every access.
        state.pages.update(begin, end, [](page_state& page) { page.prot = PROT_NONE; });
    }
}

// Runs in the child with one thread; the parent's forking thread held the
// registry lock (prepare), so no region is being added or removed.
void after_fork_in_child() {
    for (region_state* state : registry()) {
        struct hole {
            std::size_t begin, end;
            int prot;
        };
        std::vector<hole> holes;
        state->pages.for_each_run(
            [&](std::size_t begin, std::size_t end, const page_state& page) {
                if (page.dontfork) {
                    holes.push_back({begin, end, page.prot});
                }
            });
        for (const auto& [begin, end, prot] : holes) {
            state->pages.update(begin, end,
                                [](page_state& page) { page.dontfork = false; });
            refill(*state, begin, end, prot);
        }
    }
    registry_mutex().unlock();
}

} // namespace

void install_fork_registry_handlers() {
    static std::once_flag once;
    std::call_once(once, [] {
        ::pthread_atfork([] { registry_mutex().lock(); },
                         [] { registry_mutex().unlock(); }, after_fork_in_child);
    });
}

void fork_registry_add(region_state& state) {
    install_fork_registry_handlers();
    const std::scoped_lock lock(registry_mutex());
    registry().insert(&state);
    state.in_fork_registry = true;
}

void fork_registry_remove(region_state& state) noexcept {
    if (!state.in_fork_registry) {
        return;
    }
    const std::scoped_lock lock(registry_mutex());
    registry().erase(&state);
    state.in_fork_registry = false;
}

} // namespace memshare::detail

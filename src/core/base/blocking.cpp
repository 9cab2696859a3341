#include <memshare/base/blocking.hpp>

#include <atomic>

namespace memshare {
namespace {

std::atomic<blocking_runner> runner{nullptr};

} // namespace

void set_blocking_runner(blocking_runner new_runner) noexcept {
    runner = new_runner;
}

void detail::run_blocking(void (*call)(void*), void* context) {
    if (const blocking_runner run = runner.load()) {
        run(call, context);
    } else {
        call(context);
    }
}

} // namespace memshare

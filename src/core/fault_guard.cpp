#include <memshare/fault_guard.hpp>

#include <csetjmp>
#include <csignal>
#include <mutex>

namespace memshare::detail {
namespace {

struct guard_frame {
    sigjmp_buf jump;
    const std::byte* begin;
    const std::byte* end;
    memory_fault fault;
    guard_frame* outer;
};

// The innermost guard of this thread.  initial-exec, so the signal handler
// reads it without the allocation that lazy TLS may need.
thread_local guard_frame* active __attribute__((tls_model("initial-exec"))) = nullptr;

struct sigaction previous_action{};

void on_sigbus(int signal, siginfo_t* info, void* context) {
    guard_frame* frame = active;
    const auto* address = static_cast<const std::byte*>(info->si_addr);
    if (frame != nullptr && address >= frame->begin && address < frame->end) {
        frame->fault = {address, info->si_code};
        siglongjmp(frame->jump, 1);
    }
    // Not a guarded access: hand it on as if memshare had never been here.
    if ((previous_action.sa_flags & SA_SIGINFO) != 0) {
        previous_action.sa_sigaction(signal, info, context);
    } else if (previous_action.sa_handler != SIG_DFL &&
               previous_action.sa_handler != SIG_IGN) {
        previous_action.sa_handler(signal);
    } else {
        // Returning retries the access, which faults again and, with the
        // default action back in place, ends the process as it would have.
        ::sigaction(SIGBUS, &previous_action, nullptr);
    }
}

void install_handler() {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction action{};
        action.sa_sigaction = on_sigbus;
        // SA_NODEFER: leaving the handler by siglongjmp would otherwise leave
        // SIGBUS blocked, since sigsetjmp() does not save the mask (saving it
        // costs a syscall on every guarded access).
        action.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
        sigemptyset(&action.sa_mask);
        ::sigaction(SIGBUS, &action, &previous_action);
    });
}

} // namespace

std::optional<memory_fault> guarded(const std::byte* begin, std::size_t size,
                                    void (*access)(void*), void* context) noexcept {
    install_handler();
    guard_frame frame{};
    frame.begin = begin;
    frame.end = begin + size;
    frame.outer = active;
    if (sigsetjmp(frame.jump, 0) != 0) {
        active = frame.outer;
        return frame.fault;
    }
    active = &frame;
    access(context);
    active = frame.outer;
    return std::nullopt;
}

} // namespace memshare::detail

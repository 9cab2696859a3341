#include <memshare/mapping/fault_guard.hpp>
#include <memshare/mapping/fault_shield.hpp>

#include <csetjmp>
#include <csignal>
#include <mutex>

namespace memshare::detail {
namespace {

struct guard_frame {
    sigjmp_buf jump;
    const std::byte* begin;
    const std::byte* end;
    std::optional<memory_fault> fault;
    guard_frame* outer;
};

// The innermost guard of this thread.  initial-exec, so the signal handler
// reads it without the allocation that lazy TLS may need.
thread_local guard_frame* active __attribute__((tls_model("initial-exec"))) = nullptr;

struct sigaction previous_action{};
// The address of the last fault handed on, per thread: if the handler it
// went to returns and the access faults again, nobody fixed it.
thread_local const void* handed_on __attribute__((tls_model("initial-exec"))) = nullptr;

void hand_on(int signal, siginfo_t* info, void* context) {
    const bool again = info->si_code > 0 && info->si_addr == handed_on;
    handed_on = info->si_code > 0 ? info->si_addr : nullptr;
    if (!again && (previous_action.sa_flags & SA_SIGINFO) != 0) {
        previous_action.sa_sigaction(signal, info, context);
    } else if (!again && previous_action.sa_handler != SIG_DFL &&
               previous_action.sa_handler != SIG_IGN) {
        previous_action.sa_handler(signal);
    } else {
        // Returning retries the access, which faults again and, with the
        // default action in place, ends the process as it would have.
        struct sigaction fatal{};
        fatal.sa_handler = SIG_DFL;
        sigemptyset(&fatal.sa_mask);
        ::sigaction(SIGBUS, &fatal, nullptr);
    }
}

void on_sigbus(int signal, siginfo_t* info, void* context) {
    guard_frame* frame = active;
    const auto* address = static_cast<const std::byte*>(info->si_addr);
    const bool guarded_here =
        frame != nullptr && address >= frame->begin && address < frame->end;
    // si_code > 0: the kernel raised it for an access (not kill() or raise()).
    if (info->si_code > 0) {
        // A guarded access reports the fault itself, once it has finished.
        if (detail::shield_fault(address, !guarded_here)) {
            if (guarded_here && !frame->fault) {
                frame->fault = memory_fault{address, info->si_code};
            }
            return; // the access finds the replaced page
        }
        if (guarded_here) {
            frame->fault = memory_fault{address, info->si_code};
            siglongjmp(frame->jump, 1);
        }
    }
    hand_on(signal, info, context);
}

struct sigaction our_action() {
    struct sigaction action{};
    action.sa_sigaction = on_sigbus;
    // SA_NODEFER: leaving the handler by siglongjmp would otherwise leave
    // SIGBUS blocked, since sigsetjmp() does not save the mask (saving it
    // costs a syscall on every guarded access).
    action.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    return action;
}

} // namespace

void install_sigbus_handler() noexcept {
    // Each new mapping checks that the handler is still memshare's: one
    // installed later (faulthandler.enable(), say) is kept and handed
    // every fault that is not memshare's.
    static std::mutex installing;
    const std::scoped_lock lock(installing);
    struct sigaction current{};
    ::sigaction(SIGBUS, nullptr, &current);
    if ((current.sa_flags & SA_SIGINFO) != 0 && current.sa_sigaction == on_sigbus) {
        return;
    }
    const struct sigaction action = our_action();
    ::sigaction(SIGBUS, &action, &previous_action);
}

std::optional<memory_fault> guarded(const std::byte* begin, std::size_t size,
                                    void (*access)(void*), void* context) noexcept {
    static std::once_flag once;
    std::call_once(once, install_sigbus_handler);
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
    return frame.fault; // set if the shield replaced pages under the access
}

} // namespace memshare::detail

#include "base/helper_process.hpp"

#include <memshare/base/error.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>

extern char** environ;

namespace memshare::detail {

void spawn_helper(const std::string& executable,
                  const std::vector<std::string>& arguments,
                  const std::vector<int>& descriptors, const std::string& purpose) {
    if (executable.empty()) {
        throw os_error(ENOENT, "posix_spawn", arguments.at(0),
                       "the helper's location was never set: " + purpose);
    }
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    for (std::size_t i = 0; i < descriptors.size(); ++i) {
        const int target = static_cast<int>(i);
        if (descriptors[i] < 0) {
            ::posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_RDWR,
                                               0);
        } else {
            ::posix_spawn_file_actions_adddup2(&actions, descriptors[i], target);
        }
    }
    // Inheritable descriptors of this process are no business of a helper.
    ::posix_spawn_file_actions_addclosefrom_np(&actions,
                                               static_cast<int>(descriptors.size()));

    posix_spawnattr_t attributes;
    ::posix_spawnattr_init(&attributes);
    sigset_t all;
    sigset_t none;
    ::sigfillset(&all);
    ::sigemptyset(&none);
    ::posix_spawnattr_setsigdefault(&attributes, &all);
    ::posix_spawnattr_setsigmask(&attributes, &none);
    ::posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF |
                                                POSIX_SPAWN_SETSIGMASK);

    std::vector<char*> argv;
    for (const auto& argument : arguments) {
        argv.push_back(const_cast<char*>(argument.c_str()));
    }
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int err = ::posix_spawn(&pid, executable.c_str(), &actions, &attributes,
                                  argv.data(), environ);
    ::posix_spawnattr_destroy(&attributes);
    ::posix_spawn_file_actions_destroy(&actions);
    if (err != 0) {
        throw os_error(err, "posix_spawn", executable,
                       purpose + "; reinstall memshare");
    }
    // ECHILD: a SIGCHLD handler of the program collected the process first.
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
}

} // namespace memshare::detail

#include <memshare/process.hpp>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace memshare {

std::uint64_t process_start_time(pid_t pid) {
    std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
    const std::string stat((std::istreambuf_iterator<char>(file)),
                           std::istreambuf_iterator<char>());
    // The command name (field 2) may hold spaces and ')'; the fields after
    // it start past its last ')'.  Field 22 is the 20th after that.
    const auto end_of_name = stat.rfind(')');
    if (end_of_name == std::string::npos) {
        return 0;
    }
    std::istringstream fields(stat.substr(end_of_name + 1));
    std::string field;
    for (int i = 3; i <= 22 && fields >> field; ++i) {
        if (i == 22) {
            return std::stoull(field);
        }
    }
    return 0;
}

bool process_alive(pid_t pid, std::uint64_t start_time) {
    return pid > 0 && start_time != 0 && process_start_time(pid) == start_time;
}

} // namespace memshare

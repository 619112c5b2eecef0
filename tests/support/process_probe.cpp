#include "process_probe.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>

#include "temp_dir.hpp"

namespace iot::test::proc {

namespace {

std::filesystem::path proc_dir(pid_t pid) { return std::filesystem::path("/proc") / std::to_string(pid); }

// "VmHWM:\t   12345 kB" -> 12345.
std::optional<std::int64_t> status_kib(const std::string& status, const std::string& key) {
    std::istringstream lines(status);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind(key + ":", 0) != 0) continue;
        std::istringstream value(line.substr(key.size() + 1));
        std::int64_t kib = 0;
        if (value >> kib) return kib;
    }
    return std::nullopt;
}

std::optional<std::size_t> count_entries(const std::filesystem::path& dir) {
    std::error_code error;
    std::filesystem::directory_iterator it(dir, error);
    if (error) return std::nullopt;
    std::size_t count = 0;
    for (const auto& entry : it) {
        (void)entry;
        ++count;
    }
    return count;
}

}  // namespace

std::optional<MemoryUsage> memory_usage(pid_t pid) {
    const auto status = read_file(proc_dir(pid) / "status");
    if (!status) return std::nullopt;
    const auto peak = status_kib(*status, "VmHWM");
    const auto current = status_kib(*status, "VmRSS");
    if (!peak || !current) return std::nullopt;  // a zombie has no memory lines
    return MemoryUsage{*peak, *current};
}

bool reset_peak_memory(pid_t pid) {
    std::ofstream clear_refs(proc_dir(pid) / "clear_refs");
    clear_refs << "5";  // resets VmHWM to the current RSS (proc(5))
    clear_refs.flush();
    return static_cast<bool>(clear_refs);
}

std::optional<std::size_t> open_fd_count(pid_t pid) { return count_entries(proc_dir(pid) / "fd"); }

std::vector<std::string> open_fd_targets(pid_t pid) {
    std::vector<std::string> targets;
    std::error_code error;
    std::filesystem::directory_iterator it(proc_dir(pid) / "fd", error);
    if (error) return targets;
    for (const auto& entry : it) {
        std::error_code link_error;
        const auto target = std::filesystem::read_symlink(entry.path(), link_error);
        targets.push_back(link_error ? "(unreadable)" : target.string());
    }
    std::sort(targets.begin(), targets.end());
    return targets;
}

std::optional<std::size_t> thread_count(pid_t pid) { return count_entries(proc_dir(pid) / "task"); }

std::string describe_fd_targets(const std::vector<std::string>& targets) {
    std::map<std::string, std::size_t> kinds;
    for (const auto& target : targets) {
        // "socket:[4711]" and "pipe:[4712]" differ only by inode: group them.
        const auto bracket = target.find(":[");
        ++kinds[bracket == std::string::npos || target.rfind("anon_inode:", 0) == 0 ? target
                                                                                    : target.substr(0, bracket)];
    }
    std::string text;
    for (const auto& [kind, count] : kinds) text += "  " + std::to_string(count) + " x " + kind + "\n";
    return text;
}

}  // namespace iot::test::proc

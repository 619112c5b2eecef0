#include "temp_dir.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace iot::test {

namespace {

std::filesystem::path temp_root() {
    const char* tmpdir = std::getenv("TMPDIR");
    if (tmpdir != nullptr && *tmpdir != '\0') return tmpdir;
    return "/tmp";
}

}  // namespace

TempDir::TempDir(std::string_view prefix) {
    // mkdtemp wants a writable template; keep the path short because the
    // notify socket lives here and sun_path holds only 108 bytes.
    std::string pattern = (temp_root() / (std::string(prefix) + "-XXXXXX")).string();
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (::mkdtemp(buffer.data()) == nullptr) {
        throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
    }
    path_ = buffer.data();
}

TempDir::~TempDir() {
    if (keep_) return;
    std::error_code ignored;  // a destructor cannot report; a leftover dir in /tmp is harmless
    std::filesystem::remove_all(path_, ignored);
}

void write_file(const std::filesystem::path& file, std::string_view content, std::filesystem::perms mode) {
    const auto temporary = file.string() + ".tmp";
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        if (!out) throw std::runtime_error("cannot create " + temporary);
        out.write(content.data(), static_cast<std::streamsize>(content.size()));
        if (!out.flush()) throw std::runtime_error("cannot write " + temporary);
    }
    std::filesystem::permissions(temporary, mode);
    // rename() so a daemon re-reading the file on SIGHUP never sees half of it.
    std::filesystem::rename(temporary, file);
}

std::optional<std::string> read_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace iot::test

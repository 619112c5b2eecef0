// A private directory for one test, removed with everything in it when the
// test ends, plus small whole-file helpers for what tests put there.
//
// Owned by the test thread that created it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace iot::test {

class TempDir {
public:
    // Creates a fresh directory under $TMPDIR (or /tmp) named <prefix>-XXXXXX, mode 0700.
    explicit TempDir(std::string_view prefix = "iot-test");
    ~TempDir();

    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    TempDir(TempDir&&) = delete;
    TempDir& operator=(TempDir&&) = delete;

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    [[nodiscard]] std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

    // Leaves the directory on disk when the test ends, for a post-mortem.
    void keep() noexcept { keep_ = true; }

private:
    std::filesystem::path path_;
    bool keep_ = false;
};

// Writes (replacing) a whole file with the given permissions; throws std::runtime_error on failure.
void write_file(const std::filesystem::path& file, std::string_view content,
                std::filesystem::perms mode = std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

// The whole file, or nullopt when it cannot be read.
[[nodiscard]] std::optional<std::string> read_file(const std::filesystem::path& file);

}  // namespace iot::test

#include "notify_listener.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "wait_until.hpp"

namespace iot::test {

namespace {

std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        const auto end = text.find('\n');
        lines.push_back(text.substr(0, end));
        if (end == std::string_view::npos) break;
        text.remove_prefix(end + 1);
    }
    return lines;
}

}  // namespace

bool NotifyDatagram::has_line(std::string_view assignment) const {
    for (const auto line : lines_of(text)) {
        if (line == assignment) return true;
    }
    return false;
}

std::optional<std::string> NotifyDatagram::value_of(std::string_view key) const {
    for (const auto line : lines_of(text)) {
        if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == '=') {
            return std::string(line.substr(key.size() + 1));
        }
    }
    return std::nullopt;
}

NotifyListener::NotifyListener(std::filesystem::path socket_path) : path_(std::move(socket_path)) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string path_text = path_.string();
    if (path_text.size() >= sizeof address.sun_path) {
        throw std::runtime_error("notify socket path too long: " + path_text);
    }
    std::memcpy(address.sun_path, path_text.c_str(), path_text.size() + 1);

    socket_fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (socket_fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    if (::bind(socket_fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        const int error = errno;
        ::close(socket_fd_);
        throw std::runtime_error("bind " + path_text + ": " + std::strerror(error));
    }
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
    if (stop_fd_ < 0) {
        const int error = errno;
        ::close(socket_fd_);
        throw std::runtime_error(std::string("eventfd: ") + std::strerror(error));
    }
    thread_ = std::thread([this] { receive_loop(); });
}

NotifyListener::~NotifyListener() {
    const std::uint64_t one = 1;
    ssize_t ignored = ::write(stop_fd_, &one, sizeof one);
    (void)ignored;
    if (thread_.joinable()) thread_.join();
    ::close(stop_fd_);
    ::close(socket_fd_);
    ::unlink(path_.c_str());
}

void NotifyListener::receive_loop() {
    // sd_notify datagrams are small; 64 KiB covers any STATUS= line.
    std::vector<char> buffer(65536);
    for (;;) {
        pollfd fds[2] = {{socket_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
        const int ready = ::poll(fds, 2, -1);
        if (ready < 0) {
            if (errno == EINTR) continue;
            return;
        }
        if ((fds[1].revents & POLLIN) != 0) return;
        if ((fds[0].revents & POLLIN) == 0) continue;
        const ssize_t got = ::recv(socket_fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
        if (got < 0) continue;  // EAGAIN/EINTR: poll again
        NotifyDatagram datagram{std::chrono::steady_clock::now(),
                                std::string(buffer.data(), static_cast<std::size_t>(got))};
        {
            const std::lock_guard lock(mutex_);
            datagrams_.push_back(std::move(datagram));
        }
        arrived_.notify_all();
    }
}

std::vector<NotifyDatagram> NotifyListener::datagrams() const {
    const std::lock_guard lock(mutex_);
    return datagrams_;
}

std::vector<NotifyDatagram> NotifyListener::datagrams_since(std::chrono::steady_clock::time_point since) const {
    const std::lock_guard lock(mutex_);
    std::vector<NotifyDatagram> recent;
    for (const auto& datagram : datagrams_) {
        if (datagram.received >= since) recent.push_back(datagram);
    }
    return recent;
}

std::size_t NotifyListener::count(std::string_view assignment) const {
    return count_since(assignment, std::chrono::steady_clock::time_point::min());
}

std::size_t NotifyListener::count_since(std::string_view assignment,
                                        std::chrono::steady_clock::time_point since) const {
    const std::lock_guard lock(mutex_);
    std::size_t found = 0;
    for (const auto& datagram : datagrams_) {
        if (datagram.received >= since && datagram.has_line(assignment)) ++found;
    }
    return found;
}

::testing::AssertionResult NotifyListener::wait_for(std::string_view assignment, std::chrono::milliseconds timeout,
                                                    std::size_t occurrences) const {
    std::unique_lock lock(mutex_);
    const auto have_enough = [&] {
        std::size_t found = 0;
        for (const auto& datagram : datagrams_) {
            if (datagram.has_line(assignment)) ++found;
        }
        return found >= occurrences;
    };
    if (arrived_.wait_for(lock, timeout, have_enough)) return ::testing::AssertionSuccess();
    lock.unlock();
    return ::testing::AssertionFailure() << "timed out after " << format_seconds(timeout) << " waiting for "
                                         << occurrences << " x \"" << assignment << "\" on the notify socket; got:\n"
                                         << transcript();
}

::testing::AssertionResult NotifyListener::wait_for_since(std::string_view assignment,
                                                          std::chrono::steady_clock::time_point since,
                                                          std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    const auto arrived = [&] {
        for (const auto& datagram : datagrams_) {
            if (datagram.received >= since && datagram.has_line(assignment)) return true;
        }
        return false;
    };
    if (arrived_.wait_for(lock, timeout, arrived)) return ::testing::AssertionSuccess();
    lock.unlock();
    return ::testing::AssertionFailure() << "timed out after " << format_seconds(timeout) << " waiting for a new \""
                                         << assignment << "\" on the notify socket; got:\n"
                                         << transcript();
}

std::vector<std::chrono::milliseconds> NotifyListener::intervals(std::string_view assignment) const {
    const std::lock_guard lock(mutex_);
    std::vector<std::chrono::milliseconds> gaps;
    std::optional<std::chrono::steady_clock::time_point> previous;
    for (const auto& datagram : datagrams_) {
        if (!datagram.has_line(assignment)) continue;
        if (previous)
            gaps.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(datagram.received - *previous));
        previous = datagram.received;
    }
    return gaps;
}

std::optional<std::chrono::steady_clock::time_point> NotifyListener::last_time(std::string_view assignment) const {
    const std::lock_guard lock(mutex_);
    for (auto it = datagrams_.rbegin(); it != datagrams_.rend(); ++it) {
        if (it->has_line(assignment)) return it->received;
    }
    return std::nullopt;
}

std::optional<std::string> NotifyListener::last_value(std::string_view key) const {
    const std::lock_guard lock(mutex_);
    for (auto it = datagrams_.rbegin(); it != datagrams_.rend(); ++it) {
        if (auto value = it->value_of(key)) return value;
    }
    return std::nullopt;
}

std::string NotifyListener::transcript() const {
    const std::lock_guard lock(mutex_);
    std::string text;
    if (datagrams_.empty()) return "  (nothing)\n";
    const auto first = datagrams_.front().received;
    for (const auto& datagram : datagrams_) {
        std::string one_line = datagram.text;
        for (auto& c : one_line) {
            if (c == '\n') c = ' ';
        }
        text += "  +" + format_seconds(datagram.received - first) + "  " + one_line + "\n";
    }
    return text;
}

}  // namespace iot::test

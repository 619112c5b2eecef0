// The service manager notification protocol (sd_notify), behind an interface
// so the supervisor can be tested with a recording fake.
//
// Thread: used by the supervisor thread only.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace iot {

class Notifier {
public:
    virtual ~Notifier() = default;
    virtual void notify(const std::string& state) = 0;
    // Half of $WATCHDOG_USEC when the watchdog is enabled for this process.
    [[nodiscard]] virtual std::optional<std::chrono::microseconds> watchdog_interval() const = 0;
};

class SdNotifier final : public Notifier {
public:
    void notify(const std::string& state) override;
    [[nodiscard]] std::optional<std::chrono::microseconds> watchdog_interval() const override;
};

}  // namespace iot

// strerror() is not thread-safe; this is, and it is what every thread uses.
#pragma once

#include <string>

namespace iot {

[[nodiscard]] std::string errno_text(int error_number);

}  // namespace iot

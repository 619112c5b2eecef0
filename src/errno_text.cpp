#include "iot-amqpd/errno_text.hpp"

#include <cstring>

namespace iot {

std::string errno_text(int error_number) {
    char buffer[256] = {};
    // The GNU strerror_r returns a pointer that may or may not be `buffer`.
    return ::strerror_r(error_number, buffer, sizeof(buffer));
}

}  // namespace iot

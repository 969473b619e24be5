#include "crypto/openssl.hpp"

#include <openssl/err.h>

namespace selo::crypto {

std::string drain_errors() {
    std::string out;
    unsigned long e = 0;
    const char* file = nullptr;
    int line = 0;
    while ((e = ::ERR_get_error_all(&file, &line, nullptr, nullptr, nullptr)) != 0) {
        char buf[256];
        ::ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) {
            out += "; ";
        }
        out += buf;
    }
    return out;
}

Error openssl_error(ErrorCode code, std::string_view what) {
    std::string detail = drain_errors();
    if (detail.empty()) {
        return Error{code, std::string(what)};
    }
    return Error{code, fmt::format("{} ({})", what, detail)};
}

void clear_errors() noexcept { ::ERR_clear_error(); }

}  // namespace selo::crypto

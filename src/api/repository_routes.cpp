#include "api/api.hpp"

namespace selo::api {

// The repository and status routes: add_ca_routes (/ca/{ca}.crt) and add_status_routes
// (/crl/{ca}.crl, POST /ocsp, GET /ocsp/{request}). Decided on the path alone, whatever the
// method and whether a route runs inline or on a worker, so the router still answers 405 or
// 404 for what it does not serve there.
bool is_repository_request(const http::Request& request) {
    auto path = http::target_path(request.target());
    if (!path) {
        return false;
    }
    std::string_view p = *path;
    return p == "/ocsp" || p.starts_with("/ocsp/") || p.starts_with("/ca/") ||
           p.starts_with("/crl/");
}

}  // namespace selo::api

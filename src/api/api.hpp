#pragma once
// The HTTP surface: one file per service turns routes into domain calls. Handlers decode,
// authorise, call the domain, render; errors become each protocol's own error shape here.

#include <map>
#include <string>

#include "account/enrolment.hpp"
#include "account/institution.hpp"
#include "api/v1.hpp"
#include "cloudsign/activation.hpp"
#include "cloudsign/service.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "http/router.hpp"
#include "pki/authority.hpp"
#include "pki/crl.hpp"
#include "pki/ocsp.hpp"
#include "pki/repository.hpp"
#include "translog/log.hpp"
#include "tsa/authority.hpp"
#include "tsa/epcm.hpp"

namespace selo::sepbox {
class SepboxService;
}

namespace selo::api {

struct ApiContext {
    const Config& config;
    pki::CaRepository& cas;
    cloudsign::CloudSignService& cloudsign;
    const Clock& clock;
    ApiRegistry& registry;  // every /api/v1 route goes through it
    // Counter enrolment, subscriptions, eSignCloud activation and recovery (null: not served).
    account::EnrolmentService* enrolment = nullptr;
    cloudsign::ActivationService* activation = nullptr;
    pki::OcspResponder* ocsp = nullptr;  // null: no /ocsp routes
    pki::CrlPublisher* crls = nullptr;   // null: no /crl routes
    sepbox::SepboxService* sepbox = nullptr;  // null: the /api/v1/sepbox routes answer 503
    // The CAs and their certificates, for /api/v1/certificates; null: no such routes.
    std::map<std::string, pki::CertificateAuthority, std::less<>>* authorities = nullptr;
    pki::CertificateRepository* certificates = nullptr;
    tsa::TimeStampAuthority* tsa = nullptr;  // POST /tsa and CSC signatures/timestamp; null: off
    // Every certificate the TSA's unit has had (GET /ca/time-stamping-units.pem); empty: not served.
    std::function<Result<std::vector<Bytes>>()> tsa_unit_certificates;
    translog::TransparencyLog* log = nullptr;  // /api/v1/log; null: off
    tsa::PostmarkService* postmarks = nullptr;  // /api/v1/epcm; null: off
    // Institutions and their members (/api/v1/institutions, members reading its SEPBox); null: off.
    account::InstitutionService* institutions = nullptr;
};

// GET /ca/{name}.crt (RFC 5280 §4.2.2.1 caIssuers target, DER, application/pkix-cert).
void add_ca_routes(http::Router& router, ApiContext& ctx);
// POST /ocsp, GET /ocsp/{base64} (RFC 6960 Appendix A, RFC 5019 §5-6), GET /crl/{ca}.crl.
void add_status_routes(http::Router& router, ApiContext& ctx);
// /api/v1/certificates: listing, status and DER, and the officer's revoke/suspend/resume.
void add_certificate_routes(http::Router& router, ApiContext& ctx);
// POST /csc/v2/... (Cloud Signature Consortium API v2).
void add_csc_routes(http::Router& router, ApiContext& ctx);
// /api/v1/auth/login, /logout, /me, /openapi.json.
void add_auth_routes(http::Router& router, ApiContext& ctx);
// POST /tsa (RFC 3161 over HTTP), when ctx.tsa is set.
void add_tsa_routes(http::Router& router, ApiContext& ctx);
// /api/v1/log/... (the transparency log), when ctx.log is set.
void add_log_routes(http::Router& router, ApiContext& ctx);
// /api/v1/epcm/... (S43 postmarks), when ctx.postmarks is set.
void add_epcm_routes(http::Router& router, ApiContext& ctx);
// /api/v1/enrolments, /esigncloud/activation, /accounts/{account}/recovery, /subscriptions.
void add_counter_routes(http::Router& router, ApiContext& ctx);
// /api/v1/institutions: clerks register institutions and manage their members.
void add_institution_routes(http::Router& router, ApiContext& ctx);
// GET /healthz, GET /logo.png.
void add_operations_routes(http::Router& router, ApiContext& ctx);

// Errors the router and the server produce themselves (404, 405, 413, ...) in each protocol's
// shape: CSC's {"error", "error_description"} under /csc/, problem+json under /api/.
void install_error_renderers(http::Router& router);

// True for the routes a plain-http repository listener serves: CA certificates (/ca/), CRLs
// (/crl/) and OCSP (/ocsp, /ocsp/...). Nothing else (sign-in, CSC, /api/v1) belongs there.
[[nodiscard]] bool is_repository_request(const http::Request& request);

// Every route of the server, in one router.
void add_all_routes(http::Router& router, ApiContext& ctx);

}  // namespace selo::api

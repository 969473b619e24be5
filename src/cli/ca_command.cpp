// `selo ca ...`: the CA officer's life-cycle commands. They open the data directory like the
// server does (SQLite lets both run at once); OCSP and CRLs read the status from the database,
// so a running server reflects a change at once.
#include <boost/json.hpp>

#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/data_dir.hpp"
#include "pki/revocation.hpp"

namespace selo::cli {
namespace {

// "2026-12-03T10:00:00Z" or seconds since the Unix epoch.
Result<TimePoint> parse_time(std::string_view text) {
    if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos && text.size() < 12) {
        return from_unix_seconds(std::stoll(std::string(text)));
    }
    std::tm tm{};
    const char* end = ::strptime(std::string(text).c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == nullptr || *end != '\0' || text.size() != 20) {
        return fail(ErrorCode::invalid_argument,
                    "--time '{}': expected YYYY-MM-DDTHH:MM:SSZ (UTC) or Unix seconds", text);
    }
    return from_unix_seconds(static_cast<std::int64_t>(::timegm(&tm)));
}

std::string iso(TimePoint t) {
    std::time_t s = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    ::gmtime_r(&s, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string lower(std::string s) {
    for (auto& c : s) {
        if (c >= 'A' && c <= 'F') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return s;
}

// The CA that issued `serial`: the one named, or the only one holding that serial.
Result<pki::CertificateAuthority*> authority_for(Runtime& rt, const std::string& ca,
                                                 const std::string& serial) {
    if (!ca.empty()) {
        return rt.authority(ca);
    }
    auto found = SELO_TRY(rt.certificates().list({"", "", serial, 10}));
    if (found.empty()) {
        return fail(ErrorCode::not_found, "no CA has issued a certificate with serial {}", serial);
    }
    if (found.size() > 1) {
        return fail(ErrorCode::conflict, "serial {} exists under several CAs; name one with --ca", serial);
    }
    return rt.authority(found.front().issuer);
}

boost::json::object to_json(const pki::CertificateRecord& r) {
    boost::json::object o;
    o["issuer"] = r.issuer;
    o["serial"] = r.serial_hex;
    o["subject"] = r.subject;
    o["profile"] = r.profile;
    o["status"] = r.status;
    o["not_before"] = iso(r.not_before);
    o["not_after"] = iso(r.not_after);
    if (r.revoked_at) {
        o["revoked_at"] = iso(*r.revoked_at);
    }
    if (r.revocation_reason && r.status != pki::kStatusValid) {
        o["reason"] = std::string(pki::revocation_reason_name(
            static_cast<pki::RevocationReason>(*r.revocation_reason)));
    }
    return o;
}

std::string officer_id() {
    const char* user = std::getenv("USER");
    return fmt::format("cli:{}", user != nullptr && *user != '\0' ? user : std::to_string(::getuid()));
}

}  // namespace

int run_ca(const CaArgs& args) {
    SystemClock clock;
    SystemRng rng;
    const std::string serial = lower(args.serial);
    std::optional<pki::RevocationReason> reason;
    std::optional<TimePoint> when;
    if (args.action == "revoke") {
        auto r = pki::revocation_reason_from_name(args.reason);
        if (!r) {
            print_error(r.error().message);
            return 2;
        }
        reason = *r;
        if (!args.time.empty()) {
            auto t = parse_time(args.time);
            if (!t) {
                print_error(t.error().message);
                return 2;
            }
            when = *t;
        }
    }
    auto rt_result = Runtime::open(args.data, clock, rng);
    if (!rt_result) {
        print_error(rt_result.error().message);
        return 1;
    }
    Runtime& rt = **rt_result;

    if (args.action == "list") {
        auto rows = rt.certificates().list({args.ca, args.status, serial, args.limit});
        if (!rows) {
            print_error(rows.error().message);
            return 1;
        }
        if (args.json) {
            boost::json::array out;
            for (const auto& r : *rows) {
                out.push_back(to_json(r));
            }
            std::cout << boost::json::serialize(out) << std::endl;
            return 0;
        }
        for (const auto& r : *rows) {
            std::cout << fmt::format("{:<16} {:<32} {:<9} {:<30} {} {}\n", r.issuer, r.serial_hex,
                                     r.status, r.profile, iso(r.not_after), r.subject);
        }
        return 0;
    }

    if (serial.empty()) {
        print_error("--serial is required");
        return 2;
    }
    auto ca = authority_for(rt, args.ca, serial);
    if (!ca) {
        print_error(ca.error().message);
        return 1;
    }
    if (args.action == "show") {
        auto rec = rt.certificates().find((*ca)->name(), serial);
        if (!rec || !*rec) {
            print_error(rec ? fmt::format("no certificate {}", serial) : rec.error().message);
            return 1;
        }
        auto cert = pki::Certificate::from_der((*rec)->der);
        if (!cert) {
            print_error(cert.error().message);
            return 1;
        }
        if (args.json) {
            auto o = to_json(**rec);
            o["pem"] = cert->pem();
            std::cout << boost::json::serialize(o) << std::endl;
        } else {
            std::cout << cert->pem();
        }
        return 0;
    }
    pki::Actor actor{officer_id(), args.comment};
    Result<pki::CertificateRecord> done = fail(ErrorCode::invalid_argument, "unknown action");
    if (args.action == "revoke") {
        done = (*ca)->revoke(serial, *reason, when, actor);
    } else if (args.action == "suspend") {
        done = (*ca)->suspend(serial, actor);
    } else if (args.action == "resume") {
        done = (*ca)->resume(serial, actor);
    }
    if (!done) {
        print_error(done.error().message);
        return 1;
    }
    if (args.json) {
        std::cout << boost::json::serialize(to_json(*done)) << std::endl;
    } else {
        std::cout << fmt::format("{} {}: {}{}\n", done->issuer, done->serial_hex, done->status,
                                 done->revoked_at ? " since " + iso(*done->revoked_at) : "");
    }
    return 0;
}

}  // namespace selo::cli

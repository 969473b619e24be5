// `selo ca ...`: the CA officer's life-cycle commands. They open the data directory like the
// server does (SQLite lets both run at once); OCSP and CRLs read the status from the database,
// so a running server reflects a change at once.
#include <boost/json.hpp>

#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <iostream>

#include <fcntl.h>
#include <openssl/pem.h>

#include <fstream>

#include "cli/commands.hpp"
#include "cli/data_dir.hpp"
#include "crypto/keys.hpp"
#include "pki/csr.hpp"
#include "pki/revocation.hpp"

namespace selo::cli {
namespace {

// "2026-12-03T10:00:00Z" or seconds since the Unix epoch.
Result<TimePoint> parse_time(std::string_view text) {
    std::int64_t secs = 0;
    if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos && text.size() < 12) {
        secs = std::stoll(std::string(text));
    } else {
        std::tm tm{};
        // strptime's end pointer points into s, which must outlive it.
        const std::string s(text);
        const char* end = ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (end == nullptr || *end != '\0' || text.size() != 20) {
            return fail(ErrorCode::invalid_argument,
                        "--time '{}': expected YYYY-MM-DDTHH:MM:SSZ (UTC) or Unix seconds", text);
        }
        secs = static_cast<std::int64_t>(::timegm(&tm));
    }
    if (!fits_time_point(secs)) {
        return fail(ErrorCode::invalid_argument, "--time '{}' is out of range", text);
    }
    return from_unix_seconds(secs);
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

Result<Bytes> read_whole(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        return fail(ErrorCode::not_found, "cannot read {}", p.string());
    }
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return to_bytes(s);
}

// The private key of --generate-key, written once (O_EXCL) and readable by its owner only.
Result<void> write_private_key(const std::filesystem::path& p, EVP_PKEY* key) {
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        return fail(ErrorCode::conflict, "cannot create {} (it must not exist yet)", p.string());
    }
    FILE* f = ::fdopen(fd, "w");
    bool ok = f != nullptr && ::PEM_write_PKCS8PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    ok = f != nullptr && std::fflush(f) == 0 && ::fsync(fd) == 0 && ok;
    if (f != nullptr) {
        std::fclose(f);
    } else {
        ::close(fd);
    }
    if (!ok) {
        ::unlink(p.c_str());
        return fail(ErrorCode::internal, "cannot write {}", p.string());
    }
    return {};
}

// The subject's key: from the CSR (proof of possession checked) or made here.
Result<crypto::EvpPkeyPtr> subject_key(const CaArgs& args, std::vector<std::string>& notes) {
    if (args.csr.empty() == !args.generate_key) {
        return fail(ErrorCode::invalid_argument, "give exactly one of --csr FILE and --generate-key");
    }
    if (!args.csr.empty()) {
        auto data = SELO_TRY(read_whole(args.csr));
        auto accepted = SELO_TRY(pki::accept_csr(data));
        notes = accepted.ignored;
        return std::move(accepted.public_key);
    }
    if (args.key_out.empty()) {
        return fail(ErrorCode::invalid_argument, "--generate-key needs --key-out FILE for the private key");
    }
    auto type = SELO_TRY(crypto::key_type_from_name(args.key_type));
    auto key = SELO_TRY(crypto::generate_key(type));
    SELO_TRY_VOID(write_private_key(args.key_out, key.get()));
    return key;
}

// The subject from the registration record: the account's identity for natural persons, the
// officer's entries (checked against the profile's rules by lint) for the others.
Result<pki::DistinguishedName> registered_subject(Runtime& rt, const CaArgs& args,
                                                  const pki::CertificateProfile& profile) {
    pki::DistinguishedName dn;
    const Config& cfg = rt.config();
    switch (profile.subject) {
    case pki::SubjectKind::natural_person: {
        if (args.account.empty()) {
            return fail(ErrorCode::invalid_argument, "profile {} needs --account (the registered holder)", profile.name);
        }
        auto acc = SELO_TRY(rt.account_records().find_by_id(args.account));
        if (!acc) {
            acc = SELO_TRY(rt.account_records().find_by_username(args.account));
        }
        if (!acc) {
            return fail(ErrorCode::not_found, "no account '{}'", args.account);
        }
        const account::Person& p = acc->person;
        if (p.id_type == account::IdentityDocument::staff_card ||
            p.id_type == account::IdentityDocument::trade_register) {
            return fail(ErrorCode::invalid_argument,
                        "a natural person's certificate names an identity card or passport, not a staff card");
        }
        // ETSI EN 319 412-1 §5.1.3: serialNumber = IDC/PAS + country + "-" + identifier.
        dn.add(NID_countryName, p.id_country)
            .add(NID_givenName, p.given_name)
            .add(NID_surname, p.surname)
            .add(NID_serialNumber, fmt::format("{}{}-{}", account::etsi_identity_type(p.id_type),
                                               p.id_country, p.id_number))
            .add(NID_commonName, p.name);
        return dn;
    }
    case pki::SubjectKind::legal_person: {
        if (args.organization.empty() || args.organization_identifier.empty()) {
            return fail(ErrorCode::invalid_argument,
                        "profile {} needs --organization and --organization-identifier (NTRMO-...)", profile.name);
        }
        if (!args.organization_identifier.starts_with("NTR") || args.organization_identifier.size() < 7 ||
            args.organization_identifier[5] != '-') {
            return fail(ErrorCode::invalid_argument,
                        "--organization-identifier must be NTR + country + '-' + registration number "
                        "(ETSI EN 319 412-1 §5.1.4), e.g. NTRMO-12345");
        }
        dn.add(NID_countryName, cfg.pki.country)
            .add(NID_organizationName, args.organization)
            .add(NID_organizationIdentifier, args.organization_identifier)
            .add(NID_commonName, args.common_name.empty() ? args.organization : args.common_name);
        return dn;
    }
    default:
        if (args.common_name.empty()) {
            return fail(ErrorCode::invalid_argument, "profile {} needs --common-name", profile.name);
        }
        dn.add(NID_countryName, cfg.pki.country)
            .add(NID_organizationName, cfg.pki.organization)
            .add(NID_commonName, args.common_name);
        return dn;
    }
}

// The same subject again, attribute by attribute (renewal keeps it).
Result<pki::DistinguishedName> subject_of(const pki::Certificate& cert) {
    pki::DistinguishedName dn;
    X509_NAME* name = ::X509_get_subject_name(cert.x509());
    for (int i = 0; i < ::X509_NAME_entry_count(name); ++i) {
        X509_NAME_ENTRY* e = ::X509_NAME_get_entry(name, i);
        unsigned char* utf8 = nullptr;
        int len = ::ASN1_STRING_to_UTF8(&utf8, ::X509_NAME_ENTRY_get_data(e));
        if (len < 0) {
            return fail(ErrorCode::internal, "cannot read the subject");
        }
        dn.add(::OBJ_obj2nid(::X509_NAME_ENTRY_get_object(e)), std::string(reinterpret_cast<char*>(utf8), len));
        ::OPENSSL_free(utf8);
    }
    return dn;
}

int print_issued(const CaArgs& args, const pki::Certificate& cert, const std::vector<std::string>& notes) {
    for (const auto& n : notes) {
        std::cerr << "selo: note: ignored from the CSR: " << n << "\n";
    }
    if (!args.out.empty()) {
        std::ofstream f(args.out, std::ios::binary | std::ios::trunc);
        f << cert.pem();
        if (!f.flush()) {
            print_error(fmt::format("cannot write {}", args.out.string()));
            return 1;
        }
    } else if (!args.json) {
        std::cout << cert.pem();
    }
    if (args.json) {
        boost::json::object o{{"serial", cert.serial_hex()}, {"subject", cert.subject()}, {"pem", cert.pem()}};
        std::cout << boost::json::serialize(o) << std::endl;
    } else {
        std::cerr << "issued " << cert.serial_hex() << " to " << cert.subject() << "\n";
    }
    return 0;
}

int run_issue(Runtime& rt, const CaArgs& args) {
    std::vector<std::string> notes;
    pki::CertificateAuthority* ca = nullptr;
    std::string profile_name = args.profile;
    std::optional<pki::DistinguishedName> subject;
    std::optional<pki::CertificateRecord> old;
    if (args.action == "renew") {
        if (args.serial.empty()) {
            print_error("--serial is required");
            return 2;
        }
        auto found = authority_for(rt, args.ca, lower(args.serial));
        if (!found) {
            print_error(found.error().message);
            return 1;
        }
        ca = *found;
        auto rec = rt.certificates().find(ca->name(), lower(args.serial));
        if (!rec || !*rec) {
            print_error(rec ? "no such certificate" : rec.error().message);
            return 1;
        }
        if ((*rec)->status == pki::kStatusRevoked) {
            print_error("a revoked certificate is not renewed; issue a new one after checking the registration");
            return 1;
        }
        auto cert = pki::Certificate::from_der((*rec)->der);
        auto dn = cert ? subject_of(*cert) : Result<pki::DistinguishedName>(std::unexpected(cert.error()));
        if (!dn) {
            print_error(dn.error().message);
            return 1;
        }
        subject = *dn;
        profile_name = (*rec)->profile;
        old = **rec;
    } else {
        auto profile = pki::find_profile(profile_name);
        if (!profile) {
            print_error(profile.error().message);
            return 2;
        }
        if (!args.ca.empty()) {
            auto a = rt.authority(args.ca);
            if (!a) {
                print_error(a.error().message);
                return 1;
            }
            ca = *a;
        } else {
            for (auto& [name, a] : rt.authorities()) {
                const auto& ps = a.profiles();
                if (name != pki::kRootCaName && std::find(ps.begin(), ps.end(), profile_name) != ps.end()) {
                    ca = &a;
                    break;
                }
            }
            if (ca == nullptr) {
                print_error(fmt::format("no CA issues {} certificates", profile_name));
                return 1;
            }
        }
        auto dn = registered_subject(rt, args, **profile);
        if (!dn) {
            print_error(dn.error().message);
            return 1;
        }
        subject = *dn;
    }
    std::optional<pki::Certificate> issued;
    if (args.count > 1 && (args.csr.empty() || !args.out.empty() || args.json)) {
        print_error("--count needs --csr and prints serials only (no -o, no --json)");
        return 2;
    }
    // EN 319 412-5 §4.2.2: QcSSCD asserts the private key is in a qualified signature (or seal)
    // creation device. A key this command writes to a file is not, whoever holds the file.
    if (args.generate_key) {
        if (auto prof = pki::find_profile(profile_name); prof && (*prof)->qc.sscd) {
            print_error(fmt::format("profile {} asserts QcSSCD (the key is in a qualified signature creation "
                                    "device); --generate-key writes the key to a file, so its certificate "
                                    "would say something false. Use --csr with a key made in the device.",
                                    profile_name));
            return 1;
        }
    }
    auto key = subject_key(args, notes);
    if (!key) {
        print_error(key.error().message);
        return 1;
    }
    // Several certificates: each serial is printed only after its certificate is committed, so
    // what was printed is what was acknowledged.
    for (unsigned i = 1; i < args.count; ++i) {
        auto one = rt.database().transaction([&]() -> Result<void> {
            auto c = SELO_TRY(ca->issue({profile_name, *subject, key->get(), std::nullopt, args.dns_names, args.ip_addresses}));
            SELO_TRY_VOID(rt.audit().record({officer_id(), "certificate.issue",
                                             fmt::format("{}/{}", ca->name(), c.serial_hex()),
                                             fmt::format("{} by {}, key from a CSR", profile_name, ca->name())}));
            issued = std::move(c);
            return {};
        });
        if (!one) {
            print_error(one.error().message);
            return 1;
        }
        std::cout << issued->serial_hex() << std::endl;
    }
    auto r = rt.database().transaction([&]() -> Result<void> {
        issued = SELO_TRY(ca->issue({profile_name, *subject, key->get(), std::nullopt, args.dns_names, args.ip_addresses}));
        std::string detail = fmt::format("{} by {}", profile_name, ca->name());
        if (old) {
            detail += ", renewing " + old->serial_hex;
        }
        detail += args.csr.empty() ? ", key generated by the CA" : ", key from a CSR";
        return rt.audit().record({officer_id(), args.action == "renew" ? "certificate.renew" : "certificate.issue",
                                  fmt::format("{}/{}", ca->name(), issued->serial_hex()), detail});
    });
    if (!r) {
        if (!args.key_out.empty()) {
            ::unlink(args.key_out.c_str());  // no certificate: the key is of no use
        }
        print_error(r.error().message);
        return 1;
    }
    if (args.count > 1) {
        std::cout << issued->serial_hex() << std::endl;
        return 0;
    }
    return print_issued(args, *issued, notes);
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
    if (args.action == "issue" || args.action == "renew") {
        return run_issue(rt, args);
    }

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
    if (serial.find_first_not_of("0123456789abcdef") != std::string::npos) {
        print_error(fmt::format("'{}' is not a serial number: give it in hex, as `selo ca list` shows it", args.serial));
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

#include "cli/ceremony.hpp"

#include <algorithm>

#include <fmt/ranges.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <set>
#include <sys/stat.h>

#include "cli/key_backend.hpp"
#include "core/log.hpp"
#include "pki/lint.hpp"
#include "store/audit.hpp"
#include "store/sql_pki.hpp"
#include "store/sqlite/sqlite_database.hpp"

namespace selo::cli {
namespace fs = std::filesystem;

namespace {

using X509ReqPtr = std::unique_ptr<X509_REQ, crypto::Free<&::X509_REQ_free>>;

const EVP_MD* digest_for(EVP_PKEY* key) {
    // As the CA code does: SHA-384 for P-384 (and larger), else SHA-256.
    if (::EVP_PKEY_get_base_id(key) == EVP_PKEY_EC && ::EVP_PKEY_get_bits(key) >= 384) {
        return ::EVP_sha384();
    }
    return ::EVP_sha256();
}

Result<X509ReqPtr> parse_csr(ByteView data) {
    crypto::BioPtr bio(::BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
    X509ReqPtr req;
    if (as_chars(data).find("-----BEGIN") != std::string_view::npos) {
        req.reset(::PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
    } else {
        const unsigned char* p = data.data();
        req.reset(::d2i_X509_REQ(nullptr, &p, static_cast<long>(data.size())));
        if (req && p != data.data() + data.size()) {
            return fail(ErrorCode::invalid_argument, "the CSR has trailing bytes after its DER");
        }
    }
    ::ERR_clear_error();
    if (!req) {
        return fail(ErrorCode::invalid_argument, "not a PKCS#10 certificate request (PEM or DER)");
    }
    return req;
}

// The name attribute `nid` of `name` as UTF-8 ("" when absent).
std::string attribute(const X509_NAME* name, int nid) {
    int i = ::X509_NAME_get_index_by_NID(name, nid, -1);
    if (i < 0) {
        return {};
    }
    unsigned char* utf8 = nullptr;
    int n = ::ASN1_STRING_to_UTF8(&utf8, ::X509_NAME_ENTRY_get_data(::X509_NAME_get_entry(name, i)));
    if (n < 0) {
        return {};
    }
    std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
    ::OPENSSL_free(utf8);
    return out;
}

Result<std::string> key_type_of(EVP_PKEY* key) {
    int bits = ::EVP_PKEY_get_bits(key);
    switch (::EVP_PKEY_get_base_id(key)) {
        case EVP_PKEY_EC:
            if (bits == 256) return std::string(crypto::key_type_name(crypto::KeyType::ec_p256));
            if (bits == 384) return std::string(crypto::key_type_name(crypto::KeyType::ec_p384));
            break;
        case EVP_PKEY_RSA:
            if (bits == 2048) return std::string(crypto::key_type_name(crypto::KeyType::rsa_2048));
            if (bits == 3072) return std::string(crypto::key_type_name(crypto::KeyType::rsa_3072));
            if (bits == 4096) return std::string(crypto::key_type_name(crypto::KeyType::rsa_4096));
            break;
        default: break;
    }
    return fail(ErrorCode::invalid_argument, "unsupported key ({} bits)", bits);
}

// Refuses a certificate outside its validity period at `now`.
Result<void> check_current(const pki::Certificate& c, TimePoint now, std::string_view what) {
    if (now < c.not_before() || now > c.not_after()) {
        return fail(ErrorCode::invalid_argument, "{} ({}) is not valid now", what, c.subject());
    }
    return {};
}

Result<void> check_lint(const pki::Certificate& c, std::string_view profile,
                        const pki::Certificate* issuer, std::string_view what) {
    const pki::CertificateProfile& prof = *SELO_TRY(pki::find_profile(profile));
    auto findings = pki::lint_certificate(c, prof, issuer);
    if (findings.empty()) {
        return {};
    }
    std::string all;
    for (const auto& f : findings) {
        all += fmt::format("{}[{}] {}", all.empty() ? "" : "; ", f.rule, f.message);
    }
    return fail(ErrorCode::invalid_argument, "{} is not a valid {} certificate: {}", what, profile, all);
}

// The offline root's data directory, opened for the ceremony only (Runtime refuses it).
struct OfflineRoot {
    Config config;
    std::optional<crypto::MasterKey> master;
    std::unique_ptr<store::Database> db;
    std::unique_ptr<KeyBackend> backend;
    std::unique_ptr<store::SqlCaRepository> cas;
    std::unique_ptr<store::SqlCertificateRepository> certificates;
    std::optional<pki::CaRecord> record;
};

Result<std::unique_ptr<OfflineRoot>> open_offline(const fs::path& dir, const Clock& clock, Rng& rng) {
    if (!is_data_directory(dir)) {
        return fail(ErrorCode::not_found,
                    "{} is not a Selo data directory; create an offline root with `selo ca "
                    "ceremony init-root --data {}`",
                    dir.string(), dir.string());
    }
    auto o = std::make_unique<OfflineRoot>();
    o->config = SELO_TRY(load_config(dir / kConfigFile));
    SELO_TRY_VOID(install_configured_profiles(o->config, (dir / kConfigFile).string()));
    if (!o->config.pki.offline_root) {
        return fail(ErrorCode::forbidden,
                    "{} is an online data directory, not an offline root (made by `selo ca "
                    "ceremony init-root`); only an offline root signs ceremony requests",
                    dir.string());
    }
    o->master.emplace(SELO_TRY(crypto::MasterKey::load(dir / o->config.keys.master_key_file)));
    const fs::path db_file = dir / o->config.database.path;
    struct stat st {};
    if (::stat(db_file.c_str(), &st) != 0) {
        return fail(ErrorCode::not_found, "the database {} is missing", db_file.string());
    }
    if ((st.st_mode & 077) != 0) {
        return fail(ErrorCode::forbidden,
                    "the database {} is accessible by group or others (mode {:o}); run chmod 600",
                    db_file.string(), st.st_mode & 0777);
    }
    o->db = SELO_TRY(store::open_sqlite(db_file));
    SELO_TRY_VOID(store::migrate(*o->db));
    o->backend = SELO_TRY(KeyBackend::open(o->config, dir, *o->db, *o->master, clock, rng));
    o->cas = std::make_unique<store::SqlCaRepository>(*o->db);
    o->certificates = std::make_unique<store::SqlCertificateRepository>(*o->db);
    for (const auto& rec : SELO_TRY(o->cas->list())) {
        if (rec.role == "root") {
            o->record = rec;
        }
    }
    if (!o->record) {
        return fail(ErrorCode::internal, "{} holds no root CA", dir.string());
    }
    return o;
}

}  // namespace

Result<bool> key_is_offline(store::Database& db, std::string_view id) {
    auto row = SELO_TRY(db.query_one("SELECT backend FROM keys WHERE id = ?", {std::string(id)}));
    return row && SELO_TRY(row->text(0)) == "offline";
}

Result<pki::Certificate> ceremony_init_root(const fs::path& dir, InitOptions options,
                                            const Clock& clock, Rng& rng) {
    options.offline_root = true;
    SELO_TRY_VOID(initialise_data_directory(dir, options, clock, rng));
    auto o = SELO_TRY(open_offline(dir, clock, rng));
    return pki::Certificate::from_der(o->record->certificate_der);
}

Result<std::string> ceremony_csr(Runtime& online, std::string_view ca) {
    auto rec = SELO_TRY(online.cas().find(ca));
    if (!rec) {
        return fail(ErrorCode::not_found, "no CA named '{}'", ca);
    }
    if (rec->role != "issuing") {
        return fail(ErrorCode::invalid_argument,
                    "CA '{}' is a root; the ceremony certifies issuing CAs (the offline root "
                    "replaces this one when their certificates are imported)",
                    ca);
    }
    auto cert = SELO_TRY(pki::Certificate::from_der(rec->certificate_der));
    auto key = SELO_TRY(online.keys().signing_key(rec->key_id));
    X509ReqPtr req(::X509_REQ_new());
    if (!req || ::X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1 ||
        ::X509_REQ_set_subject_name(req.get(), ::X509_get_subject_name(cert.x509())) != 1 ||
        ::X509_REQ_set_pubkey(req.get(), key.get()) != 1) {
        return crypto::openssl_fail("building the certificate request");
    }
    // Signed with the CA's own key (in the token, or sealed in the database): proof of possession.
    if (::X509_REQ_sign(req.get(), key.get(), digest_for(key.get())) <= 0) {
        return crypto::openssl_fail("signing the certificate request");
    }
    crypto::BioPtr bio(::BIO_new(::BIO_s_mem()));
    if (!bio || ::PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1) {
        return crypto::openssl_fail("encoding the certificate request");
    }
    char* data = nullptr;
    long n = ::BIO_get_mem_data(bio.get(), &data);
    SELO_TRY_VOID(store::append_audit(online.database(), online.clock().now(), "selo ca ceremony",
                                      "ca.ceremony.csr", ca, cert.subject()));
    return std::string(data, static_cast<std::size_t>(n));
}

Result<pki::Certificate> ceremony_sign(const fs::path& offline_dir, ByteView csr_data,
                                       const Clock& clock, Rng& rng) {
    auto o = SELO_TRY(open_offline(offline_dir, clock, rng));
    auto req = SELO_TRY(parse_csr(csr_data));
    EVP_PKEY* pub = ::X509_REQ_get0_pubkey(req.get());
    if (pub == nullptr) {
        ::ERR_clear_error();
        return fail(ErrorCode::invalid_argument, "the CSR's public key cannot be read");
    }
    int verified = ::X509_REQ_verify(req.get(), pub);
    ::ERR_clear_error();
    if (verified != 1) {
        return fail(ErrorCode::invalid_argument,
                    "the CSR's signature does not verify with its own public key: it was altered, "
                    "or made without the private key (no proof of possession)");
    }
    auto root = SELO_TRY(pki::Certificate::from_der(o->record->certificate_der));
    if (::EVP_PKEY_eq(pub, ::X509_get0_pubkey(root.x509())) == 1) {
        return fail(ErrorCode::invalid_argument, "the CSR is for the root's own key");
    }
    // The subject: the root's country and organisation, and the CA's own common name; nothing else.
    const X509_NAME* subject = ::X509_REQ_get_subject_name(req.get());
    const X509_NAME* root_name = ::X509_get_subject_name(root.x509());
    for (int i = 0; i < ::X509_NAME_entry_count(subject); ++i) {
        int nid = ::OBJ_obj2nid(::X509_NAME_ENTRY_get_object(::X509_NAME_get_entry(subject, i)));
        if (nid != NID_countryName && nid != NID_organizationName && nid != NID_commonName) {
            return fail(ErrorCode::invalid_argument,
                        "the CSR's subject has a {} attribute; an issuing CA's name is C, O and CN",
                        nid == NID_undef ? "non-standard" : ::OBJ_nid2sn(nid));
        }
    }
    std::string c = attribute(subject, NID_countryName);
    std::string org = attribute(subject, NID_organizationName);
    std::string cn = attribute(subject, NID_commonName);
    if (c != attribute(root_name, NID_countryName) || org != attribute(root_name, NID_organizationName)) {
        return fail(ErrorCode::invalid_argument,
                    "the CSR's subject (C={}, O={}) is not of this root's country and "
                    "organisation (C={}, O={})",
                    c, org, attribute(root_name, NID_countryName),
                    attribute(root_name, NID_organizationName));
    }
    if (cn.empty() || cn == attribute(root_name, NID_commonName)) {
        return fail(ErrorCode::invalid_argument,
                    "the CSR's subject needs a common name of its own (not the root's)");
    }
    auto ca = SELO_TRY(pki::CertificateAuthority::load(
        *o->record,
        pki::CaContext{o->backend->store(), *o->certificates, clock, rng, status_base_url(o->config.server)},
        {std::string(pki::kProfileIssuingCa)}));
    pki::DistinguishedName dn;
    dn.add(NID_countryName, c).add(NID_organizationName, org).add(NID_commonName, cn);
    // Only the key and the name come from the request: the profile decides every extension.
    std::optional<pki::Certificate> issued;
    SELO_TRY_VOID(o->db->transaction([&]() -> Result<void> {
        issued.emplace(SELO_TRY(ca.issue({std::string(pki::kProfileIssuingCa), dn, pub, std::nullopt, {}, {}})));
        return store::append_audit(*o->db, clock.now(), "selo ca ceremony", "ca.ceremony.sign",
                                   issued->subject(), "serial " + issued->serial_hex());
    }));
    return std::move(*issued);
}

Result<CeremonyImport> ceremony_import(Runtime& online, ByteView root_data,
                                       const std::vector<Bytes>& certificate_data) {
    const TimePoint now = online.clock().now();
    auto root = SELO_TRY(pki::Certificate::from_pem_or_der(root_data));
    // The root: self-signed, a valid root-CA certificate, current.
    if (::X509_check_issued(root.x509(), root.x509()) != X509_V_OK ||
        ::X509_verify(root.x509(), ::X509_get0_pubkey(root.x509())) != 1) {
        ::ERR_clear_error();
        return fail(ErrorCode::invalid_argument, "--root ({}) is not a self-signed certificate",
                    root.subject());
    }
    SELO_TRY_VOID(check_lint(root, pki::kProfileRootCa, nullptr, "--root"));
    SELO_TRY_VOID(check_current(root, now, "--root"));

    std::optional<pki::CaRecord> online_root;
    std::vector<pki::CaRecord> all = SELO_TRY(online.cas().list());
    for (const auto& rec : all) {
        if (rec.role == "root") {
            if (online_root) {
                return fail(ErrorCode::conflict, "this data directory has more than one root CA");
            }
            online_root = rec;
        }
    }
    if (!online_root) {
        return fail(ErrorCode::internal, "this data directory has no root CA");
    }
    const bool new_root = online_root->certificate_der != root.der();

    struct Replacement {
        std::string ca;
        pki::Certificate certificate;
    };
    std::vector<Replacement> replacements;
    std::set<std::string> covered;
    for (const auto& data : certificate_data) {
        auto cert = SELO_TRY(pki::Certificate::from_pem_or_der(data));
        const pki::CaRecord* target = nullptr;
        for (const auto& rec : all) {
            if (rec.parent != online_root->name) {
                continue;
            }
            auto info = SELO_TRY(online.keys().info(rec.key_id));
            auto key = SELO_TRY(crypto::public_key_from_der(info.public_key_der));
            if (::EVP_PKEY_eq(key.get(), ::X509_get0_pubkey(cert.x509())) == 1) {
                target = &rec;
            }
        }
        if (target == nullptr) {
            return fail(ErrorCode::invalid_argument,
                        "the certificate for {} certifies a key that none of this directory's "
                        "issuing CAs holds",
                        cert.subject());
        }
        if (!covered.insert(target->name).second) {
            return fail(ErrorCode::invalid_argument, "two certificates given for CA '{}'", target->name);
        }
        auto current = SELO_TRY(pki::Certificate::from_der(target->certificate_der));
        if (::X509_NAME_cmp(::X509_get_subject_name(cert.x509()),
                            ::X509_get_subject_name(current.x509())) != 0) {
            return fail(ErrorCode::invalid_argument,
                        "the certificate's subject ({}) is not CA '{}''s ({})", cert.subject(),
                        target->name, current.subject());
        }
        if (::X509_NAME_cmp(::X509_get_issuer_name(cert.x509()), ::X509_get_subject_name(root.x509())) != 0 ||
            ::X509_verify(cert.x509(), ::X509_get0_pubkey(root.x509())) != 1) {
            ::ERR_clear_error();
            return fail(ErrorCode::invalid_argument,
                        "the certificate for CA '{}' was not issued and signed by --root ({})",
                        target->name, root.subject());
        }
        SELO_TRY_VOID(check_lint(cert, pki::kProfileIssuingCa, &root,
                                 fmt::format("the certificate for CA '{}'", target->name)));
        SELO_TRY_VOID(check_current(cert, now, fmt::format("the certificate for CA '{}'", target->name)));
        replacements.push_back({target->name, std::move(cert)});
    }
    if (replacements.empty()) {
        return fail(ErrorCode::invalid_argument, "no --certificate given");
    }
    if (new_root) {
        // Every CA the old root certified moves to the new root at once.
        // Named in alphabetical order, whatever order the CAs were created in.
        std::vector<std::string> uncovered;
        for (const auto& rec : all) {
            if (rec.parent == online_root->name && !covered.contains(rec.name)) {
                uncovered.push_back(rec.name);
            }
        }
        std::sort(uncovered.begin(), uncovered.end());
        const std::string missing = fmt::format("{}", fmt::join(uncovered, ", "));
        if (!missing.empty()) {
            return fail(ErrorCode::invalid_argument,
                        "a new root must come with certificates for every CA the current root "
                        "certifies; missing: {} (export their CSRs with `selo ca ceremony csr`)",
                        missing);
        }
    }

    store::SqlCaRepository cas(online.database());
    std::vector<std::string> names;
    SELO_TRY_VOID(online.database().transaction([&]() -> Result<void> {
        if (new_root) {
            EVP_PKEY* pub = ::X509_get0_pubkey(root.x509());
            const std::string key_id =
                "ca/" + online_root->name + "/offline/" +
                hex_encode(ByteView(crypto::sha256(root.der())).first(8));
            if (!SELO_TRY(online.database().query_one("SELECT 1 FROM keys WHERE id = ?", {key_id}))) {
                SELO_TRY(online.database().execute(
                    "INSERT INTO keys (id, type, public_key, sealed_private_key, created_at, backend) "
                    "VALUES (?,?,?,?,?,'offline')",
                    {key_id, SELO_TRY(key_type_of(pub)), SELO_TRY(crypto::public_key_to_der(pub)),
                     Bytes{}, unix_seconds(now)}));
            }
            SELO_TRY_VOID(cas.replace_certificate(online_root->name, key_id, root.der()));
            SELO_TRY_VOID(store::append_audit(online.database(), now, "selo ca ceremony",
                                              "ca.ceremony.import-root", online_root->name,
                                              root.subject()));
        }
        for (const auto& r : replacements) {
            auto rec = SELO_TRY(cas.find(r.ca));
            SELO_TRY_VOID(cas.replace_certificate(r.ca, rec->key_id, r.certificate.der()));
            SELO_TRY_VOID(store::append_audit(online.database(), now, "selo ca ceremony",
                                              "ca.ceremony.import", r.ca,
                                              "serial " + r.certificate.serial_hex()));
            names.push_back(r.ca);
        }
        return {};
    }));
    CeremonyImport result{.cas = std::move(names)};
    if (new_root && !SELO_TRY(key_is_offline(online.database(), online_root->key_id))) {
        // Only once the new root is recorded: a failure before leaves the directory as it was.
        auto destroyed = online.keys().destroy_private_key(online_root->key_id);
        if (destroyed) {
            result.destroyed_key = online_root->key_id;
            SELO_TRY_VOID(store::append_audit(online.database(), online.clock().now(), "selo ca ceremony",
                                              "ca.ceremony.destroy-old-root-key", online_root->name,
                                              online_root->key_id));
        } else {
            result.destroy_failure = destroyed.error();
        }
    }
    return result;
}

}  // namespace selo::cli

#pragma once
// What the CA needs from storage: a subset that only reads and writes CA and certificate
// records. Issued certificates are append-only; only their status changes.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"

namespace selo::pki {

struct CaRecord {
    std::string name;                   // URL-safe, e.g. "root", "natural-persons"
    std::string role;                   // "root" or "issuing"
    std::optional<std::string> parent;  // issuing CAs: the CA that certified them
    std::string key_id;                 // id in the key store
    Bytes certificate_der;
    TimePoint created_at;
};

class CaRepository {
public:
    virtual ~CaRepository() = default;
    virtual Result<void> insert(const CaRecord& ca) = 0;
    virtual Result<std::optional<CaRecord>> find(std::string_view name) = 0;
    virtual Result<std::vector<CaRecord>> list() = 0;
};

struct CertificateRecord {
    std::string issuer;      // CA name
    std::string serial_hex;  // magnitude, lower-case hex
    std::string subject;     // RFC 4514 string, for listings
    std::string profile;
    TimePoint not_before;
    TimePoint not_after;
    Bytes der;
    TimePoint issued_at;
    std::string status = "valid";                // "valid", "revoked" or "suspended"
    std::optional<TimePoint> revoked_at;         // revoked or suspended: since when
    std::optional<int> revocation_reason;        // RFC 5280 §5.3.1 CRLReason value
};

// What OCSP and CRLs need to know about one certificate, without its DER.
struct CertificateStatus {
    std::string status = "valid";
    std::optional<TimePoint> revoked_at;
    std::optional<int> revocation_reason;
    TimePoint not_after;
    friend bool operator==(const CertificateStatus&, const CertificateStatus&) = default;
};

// One entry of a CRL: a revoked or suspended certificate.
struct RevokedEntry {
    std::string serial_hex;
    TimePoint revoked_at;
    int reason = 0;
};

// Which certificates a listing returns.
struct CertificateFilter {
    std::string issuer;   // empty: every CA
    std::string status;   // empty: any
    std::string serial_hex;  // empty: any
    std::size_t limit = 1000;
};

class CertificateRepository {
public:
    virtual ~CertificateRepository() = default;
    // Durably records an issued certificate; ErrorCode::conflict when (issuer, serial) exists.
    virtual Result<void> insert(const CertificateRecord& record) = 0;
    virtual Result<std::optional<CertificateRecord>> find(std::string_view issuer,
                                                          std::string_view serial_hex) = 0;
    // The status alone (OCSP asks it once per request); nullopt for a serial never issued.
    virtual Result<std::optional<CertificateStatus>> status(std::string_view issuer,
                                                            std::string_view serial_hex) = 0;
    // Changes a certificate's status, and bumps its issuer's status version, atomically.
    // ErrorCode::conflict when the status is no longer `expected_status` (another officer or
    // process changed it meanwhile).
    virtual Result<void> update_status(std::string_view issuer, std::string_view serial_hex,
                                       std::string_view expected_status,
                                       const CertificateStatus& status) = 0;
    // Every revoked or suspended certificate of `issuer` (the CRL's entries).
    virtual Result<std::vector<RevokedEntry>> revoked(std::string_view issuer) = 0;
    // A counter that grows with every status change of `issuer`'s certificates, in any process.
    virtual Result<std::int64_t> status_version(std::string_view issuer) = 0;
    // Certificates matching `filter`, newest first (DER included).
    virtual Result<std::vector<CertificateRecord>> list(const CertificateFilter& filter) = 0;
};

// Each CA's status version (CertificateRepository::status_version), cheap enough to ask on every
// OCSP request: an implementation re-reads the versions only when it learns that something was
// committed since it last did, by any process.
class StatusVersions {
public:
    virtual ~StatusVersions() = default;
    virtual Result<std::int64_t> version(std::string_view issuer) = 0;
};

// A CRL as published.
struct CrlRecord {
    std::string issuer;
    std::int64_t number = 0;          // cRLNumber, monotonic per issuer
    TimePoint this_update;
    TimePoint next_update;
    std::int64_t status_version = 0;  // the issuer's status version it reflects
    Bytes der;
};

class CrlRepository {
public:
    virtual ~CrlRepository() = default;
    virtual Result<std::optional<CrlRecord>> latest(std::string_view issuer) = 0;
    // ErrorCode::conflict when (issuer, number) exists: another process published first.
    virtual Result<void> insert(const CrlRecord& crl) = 0;
};

// A delegated OCSP responder certificate (RFC 6960 §4.2.2.2) and its key in the key store.
struct ResponderRecord {
    std::string issuer;      // the CA it answers for, which issued it
    std::string serial_hex;  // its certificate, in the certificates table
    std::string key_id;
    TimePoint created_at;
};

class ResponderRepository {
public:
    virtual ~ResponderRepository() = default;
    virtual Result<void> insert(const ResponderRecord& responder) = 0;
    // The newest responder of `issuer`.
    virtual Result<std::optional<ResponderRecord>> latest(std::string_view issuer) = 0;
};

}  // namespace selo::pki

#pragma once
// What the CA needs from storage: a subset that only reads and writes CA and certificate
// records. Issued certificates are append-only; only their status changes.

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
    std::string status = "valid";
};

class CertificateRepository {
public:
    virtual ~CertificateRepository() = default;
    // Durably records an issued certificate; ErrorCode::conflict when (issuer, serial) exists.
    virtual Result<void> insert(const CertificateRecord& record) = 0;
    virtual Result<std::optional<CertificateRecord>> find(std::string_view issuer,
                                                          std::string_view serial_hex) = 0;
};

}  // namespace selo::pki

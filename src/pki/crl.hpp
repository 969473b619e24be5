#pragma once
// Certificate revocation lists (RFC 5280 §5): one full CRL per CA, with a monotonic cRLNumber,
// linted before the CA key signs it, published through the CrlRepository so that every process
// serving the data directory hands out the same CRL.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "crypto/key_store.hpp"
#include "pki/certificate.hpp"
#include "pki/repository.hpp"

namespace selo::pki {

class CertificateAuthority;

struct CrlContent {
    std::int64_t number = 1;
    TimePoint this_update;
    TimePoint next_update;
    std::vector<RevokedEntry> entries;
};

// Builds the CRL of `ca`, lints it (refusing with the findings named) and signs it with
// `ca_key`; returns its DER encoding.
[[nodiscard]] Result<Bytes> build_crl(const Certificate& ca, EVP_PKEY* ca_key,
                                      const CrlContent& content);

// Serves each CA's current CRL: a new one when a certificate's status changed (in any process)
// and on a schedule, at half its validity, well before nextUpdate.
class CrlPublisher {
public:
    CrlPublisher(CertificateRepository& certificates, CrlRepository& crls, crypto::KeyStore& keys,
                 const Clock& clock, std::chrono::seconds validity);

    // Publishes CRLs for `ca` (its certificate and key id are taken from it).
    void add(const CertificateAuthority& ca);

    // The CA's current CRL, made when the published one is stale. not_found for a CA not added.
    [[nodiscard]] Result<CrlRecord> current(std::string_view ca);
    // Brings every CA's CRL up to date (the server's schedule calls it).
    Result<void> refresh_all();

    [[nodiscard]] std::chrono::seconds validity() const noexcept { return validity_; }

private:
    struct Entry {
        Certificate certificate;
        std::string key_id;
        std::optional<CrlRecord> cached;
    };
    [[nodiscard]] bool fresh(const CrlRecord& crl, std::int64_t version) const;

    CertificateRepository& certificates_;
    CrlRepository& crls_;
    crypto::KeyStore& keys_;
    const Clock& clock_;
    std::chrono::seconds validity_;
    std::mutex mutex_;
    std::map<std::string, Entry, std::less<>> cas_;
};

// A CRL read back as a relying party outside Selo reads it (RFC 5280 §6.3): parsed, issued by
// and signed with the key of `issuer`; what it says of each serial.
class ReceivedCrl {
public:
    // invalid_argument when the DER is not a CRL, or not one `issuer` signed.
    static Result<ReceivedCrl> read(ByteView der, Certificate issuer);

    [[nodiscard]] const Certificate& issuer() const noexcept { return issuer_; }
    [[nodiscard]] TimePoint next_update() const;
    // "valid" when the serial (lower-case hex) is not listed; "revoked" with its time and reason
    // (none when the entry has no reason code), or "suspended" for certificateHold.
    [[nodiscard]] Result<CertificateStatus> status(std::string_view serial_hex) const;

private:
    ReceivedCrl(crypto::X509CrlPtr crl, Certificate issuer) : crl_(std::move(crl)), issuer_(std::move(issuer)) {}
    std::shared_ptr<X509_CRL> crl_;
    Certificate issuer_;
};

}  // namespace selo::pki

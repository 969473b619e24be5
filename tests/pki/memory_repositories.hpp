#pragma once
// In-memory repositories for domain tests that do not need a database.

#include <map>

#include "crypto/key_store.hpp"
#include "pki/repository.hpp"

namespace selo::test {

class MemoryKeys final : public crypto::SealedKeyRepository {
public:
    Result<void> insert(const Record& r) override {
        if (records.contains(r.id)) {
            return fail(ErrorCode::conflict, "duplicate key");
        }
        records[r.id] = r;
        return {};
    }
    Result<std::optional<Record>> find(std::string_view id) override {
        auto it = records.find(std::string(id));
        return it == records.end() ? std::optional<Record>{} : std::optional<Record>(it->second);
    }
    Result<void> take_offline(std::string_view id) override {
        if (records.erase(std::string(id)) == 0) {
            return fail(ErrorCode::not_found, "no such key");
        }
        return {};
    }
    std::map<std::string, Record> records;
};

class MemoryCas final : public pki::CaRepository {
public:
    Result<void> insert(const pki::CaRecord& ca) override {
        cas[ca.name] = ca;
        return {};
    }
    Result<std::optional<pki::CaRecord>> find(std::string_view name) override {
        auto it = cas.find(std::string(name));
        return it == cas.end() ? std::optional<pki::CaRecord>{} : std::optional<pki::CaRecord>(it->second);
    }
    Result<std::vector<pki::CaRecord>> list() override {
        std::vector<pki::CaRecord> out;
        for (const auto& [k, v] : cas) {
            out.push_back(v);
        }
        return out;
    }
    std::map<std::string, pki::CaRecord> cas;
};

class MemoryCertificates final : public pki::CertificateRepository {
public:
    Result<void> insert(const pki::CertificateRecord& r) override {
        auto key = r.issuer + "/" + r.serial_hex;
        if (certs.contains(key)) {
            return fail(ErrorCode::conflict, "duplicate serial");
        }
        certs[key] = r;
        return {};
    }
    Result<std::optional<pki::CertificateRecord>> find(std::string_view issuer,
                                                       std::string_view serial) override {
        auto it = certs.find(std::string(issuer) + "/" + std::string(serial));
        return it == certs.end() ? std::optional<pki::CertificateRecord>{}
                                 : std::optional<pki::CertificateRecord>(it->second);
    }
    Result<std::optional<pki::CertificateStatus>> status(std::string_view issuer,
                                                         std::string_view serial) override {
        auto it = certs.find(std::string(issuer) + "/" + std::string(serial));
        if (it == certs.end()) {
            return std::optional<pki::CertificateStatus>{};
        }
        const auto& r = it->second;
        return std::optional<pki::CertificateStatus>(
            pki::CertificateStatus{r.status, r.revoked_at, r.revocation_reason, r.not_after});
    }
    Result<void> update_status(std::string_view issuer, std::string_view serial,
                               std::string_view expected, const pki::CertificateStatus& st) override {
        auto it = certs.find(std::string(issuer) + "/" + std::string(serial));
        if (it == certs.end() || it->second.status != expected) {
            return fail(ErrorCode::conflict, "status changed");
        }
        it->second.status = st.status;
        it->second.revoked_at = st.revoked_at;
        it->second.revocation_reason = st.revocation_reason;
        ++versions[std::string(issuer)];
        return {};
    }
    Result<std::vector<pki::RevokedEntry>> revoked(std::string_view issuer) override {
        std::vector<pki::RevokedEntry> out;
        for (const auto& [k, r] : certs) {
            if (r.issuer == issuer && r.status != "valid") {
                out.push_back({r.serial_hex, r.revoked_at.value_or(TimePoint{}),
                               r.revocation_reason.value_or(0)});
            }
        }
        return out;
    }
    Result<std::int64_t> status_version(std::string_view issuer) override {
        auto it = versions.find(std::string(issuer));
        return it == versions.end() ? 0 : it->second;
    }
    Result<std::vector<pki::CertificateRecord>> list(const pki::CertificateFilter& f) override {
        std::vector<pki::CertificateRecord> out;
        for (const auto& [k, r] : certs) {
            if ((f.issuer.empty() || r.issuer == f.issuer) && (f.status.empty() || r.status == f.status) &&
                (f.serial_hex.empty() || r.serial_hex == f.serial_hex)) {
                out.push_back(r);
            }
        }
        return out;
    }
    std::map<std::string, pki::CertificateRecord> certs;
    std::map<std::string, std::int64_t> versions;
};

class MemoryCrls final : public pki::CrlRepository {
public:
    Result<std::optional<pki::CrlRecord>> latest(std::string_view issuer) override {
        std::optional<pki::CrlRecord> out;
        for (const auto& c : crls) {
            if (c.issuer == issuer && (!out || c.number > out->number)) {
                out = c;
            }
        }
        return out;
    }
    Result<void> insert(const pki::CrlRecord& crl) override {
        for (const auto& c : crls) {
            if (c.issuer == crl.issuer && c.number == crl.number) {
                return fail(ErrorCode::conflict, "CRL number exists");
            }
        }
        crls.push_back(crl);
        return {};
    }
    std::vector<pki::CrlRecord> crls;
};

class MemoryResponders final : public pki::ResponderRepository {
public:
    Result<void> insert(const pki::ResponderRecord& r) override {
        responders.push_back(r);
        return {};
    }
    Result<std::optional<pki::ResponderRecord>> latest(std::string_view issuer) override {
        std::optional<pki::ResponderRecord> out;
        for (const auto& r : responders) {
            if (r.issuer == issuer) {
                out = r;
            }
        }
        return out;
    }
    std::vector<pki::ResponderRecord> responders;
};

}  // namespace selo::test

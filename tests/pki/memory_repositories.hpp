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
    std::map<std::string, pki::CertificateRecord> certs;
};

}  // namespace selo::test

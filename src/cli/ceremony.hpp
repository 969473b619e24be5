#pragma once
// The root key ceremony: the root CA lives in a separate, offline data directory (its own master
// key or token); the online directory's issuing CAs keep their keys and are re-certified by it.
//
//   selo ca ceremony init-root --data OFFLINE -o root.crt   (offline machine)
//   selo ca ceremony csr --data ONLINE --ca natural-persons -o np.csr
//   selo ca ceremony sign --data OFFLINE --csr np.csr -o np.crt
//   selo ca ceremony import --data ONLINE --root root.crt --certificate np.crt ...
//
// After the import the online directory knows the root by its certificate and public key only
// (key storage 'offline'); it publishes it and chains to it but can sign nothing with it. The
// online root key it had before (made by `selo init`) is destroyed: left in the key store, it
// could still sign as a root every relying party that trusted the old one accepts.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cli/data_dir.hpp"
#include "store/database.hpp"

namespace selo::cli {

// True when the key `id` is recorded as held offline (public key only).
[[nodiscard]] Result<bool> key_is_offline(store::Database& db, std::string_view id);

// Creates an offline root's data directory and returns the root certificate.
Result<pki::Certificate> ceremony_init_root(const std::filesystem::path& dir, InitOptions options,
                                            const Clock& clock, Rng& rng);

// A PKCS#10 request (PEM) for issuing CA `ca` of the online directory, over its existing key
// and current subject, signed through the key store (proof of possession).
Result<std::string> ceremony_csr(Runtime& online, std::string_view ca);

// The offline root checks `csr` (its signature, the subject: the root's country and
// organisation and a common name of its own) and issues an issuing-CA certificate for it,
// linted and recorded like any other. Returns the certificate.
Result<pki::Certificate> ceremony_sign(const std::filesystem::path& offline_dir, ByteView csr,
                                       const Clock& clock, Rng& rng);

// Checks `root` (self-signed, a root-CA certificate) and each certificate (for the key and
// subject of one of the online root's issuing CAs, issued and signed by `root`, linted), then
// in one transaction replaces those CAs' certificates and records `root` as the offline root.
// A new root must come with certificates for every CA the old root certified, so no chain is
// left dangling. After that transaction, a new root's predecessor's private key, when this
// directory held it, is destroyed in the key store.
struct CeremonyImport {
    std::vector<std::string> cas;         // the CAs re-certified
    std::string destroyed_key;            // the old root's key id, when it was destroyed
    std::optional<Error> destroy_failure; // the import stands; the old key could not be destroyed
};
Result<CeremonyImport> ceremony_import(Runtime& online, ByteView root,
                                       const std::vector<Bytes>& certificates);

}  // namespace selo::cli

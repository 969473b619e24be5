// PKCS#11 through p11-kit's header (the module itself is whatever the configuration names), and
// the bridge that makes a token key an EVP_PKEY. The bridge uses OpenSSL's EC_KEY_METHOD and
// RSA_METHOD, deprecated in OpenSSL 3 but supported throughout 3.x; see pkcs11.hpp for why.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "crypto/pkcs11.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include <p11-kit/pkcs11.h>

#include "core/log.hpp"
#include "crypto/keys.hpp"

namespace selo::crypto {

namespace {

std::string_view rv_name(CK_RV rv) {
    switch (rv) {
        case CKR_OK: return "CKR_OK";
        case CKR_HOST_MEMORY: return "CKR_HOST_MEMORY";
        case CKR_SLOT_ID_INVALID: return "CKR_SLOT_ID_INVALID";
        case CKR_GENERAL_ERROR: return "CKR_GENERAL_ERROR";
        case CKR_FUNCTION_FAILED: return "CKR_FUNCTION_FAILED";
        case CKR_ARGUMENTS_BAD: return "CKR_ARGUMENTS_BAD";
        case CKR_ATTRIBUTE_SENSITIVE: return "CKR_ATTRIBUTE_SENSITIVE";
        case CKR_ATTRIBUTE_TYPE_INVALID: return "CKR_ATTRIBUTE_TYPE_INVALID";
        case CKR_ATTRIBUTE_VALUE_INVALID: return "CKR_ATTRIBUTE_VALUE_INVALID";
        case CKR_DATA_LEN_RANGE: return "CKR_DATA_LEN_RANGE";
        case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR";
        case CKR_DEVICE_MEMORY: return "CKR_DEVICE_MEMORY";
        case CKR_DEVICE_REMOVED: return "CKR_DEVICE_REMOVED";
        case CKR_KEY_HANDLE_INVALID: return "CKR_KEY_HANDLE_INVALID";
        case CKR_KEY_TYPE_INCONSISTENT: return "CKR_KEY_TYPE_INCONSISTENT";
        case CKR_KEY_FUNCTION_NOT_PERMITTED: return "CKR_KEY_FUNCTION_NOT_PERMITTED";
        case CKR_MECHANISM_INVALID: return "CKR_MECHANISM_INVALID";
        case CKR_MECHANISM_PARAM_INVALID: return "CKR_MECHANISM_PARAM_INVALID";
        case CKR_OBJECT_HANDLE_INVALID: return "CKR_OBJECT_HANDLE_INVALID";
        case CKR_OPERATION_ACTIVE: return "CKR_OPERATION_ACTIVE";
        case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT";
        case CKR_PIN_LEN_RANGE: return "CKR_PIN_LEN_RANGE";
        case CKR_PIN_EXPIRED: return "CKR_PIN_EXPIRED";
        case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
        case CKR_SESSION_CLOSED: return "CKR_SESSION_CLOSED";
        case CKR_SESSION_COUNT: return "CKR_SESSION_COUNT";
        case CKR_SESSION_HANDLE_INVALID: return "CKR_SESSION_HANDLE_INVALID";
        case CKR_SESSION_READ_ONLY: return "CKR_SESSION_READ_ONLY";
        case CKR_TEMPLATE_INCOMPLETE: return "CKR_TEMPLATE_INCOMPLETE";
        case CKR_TEMPLATE_INCONSISTENT: return "CKR_TEMPLATE_INCONSISTENT";
        case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
        case CKR_TOKEN_NOT_RECOGNIZED: return "CKR_TOKEN_NOT_RECOGNIZED";
        case CKR_TOKEN_WRITE_PROTECTED: return "CKR_TOKEN_WRITE_PROTECTED";
        case CKR_USER_ALREADY_LOGGED_IN: return "CKR_USER_ALREADY_LOGGED_IN";
        case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN";
        case CKR_USER_PIN_NOT_INITIALIZED: return "CKR_USER_PIN_NOT_INITIALIZED";
        case CKR_USER_TYPE_INVALID: return "CKR_USER_TYPE_INVALID";
        case CKR_BUFFER_TOO_SMALL: return "CKR_BUFFER_TOO_SMALL";
        case CKR_CRYPTOKI_NOT_INITIALIZED: return "CKR_CRYPTOKI_NOT_INITIALIZED";
        case CKR_CRYPTOKI_ALREADY_INITIALIZED: return "CKR_CRYPTOKI_ALREADY_INITIALIZED";
        default: return "CKR_(vendor or other)";
    }
}

std::string rv_text(CK_RV rv) { return fmt::format("{} (0x{:x})", rv_name(rv), rv); }

// Session-level failures after which the session is discarded and the operation tried once more.
bool session_lost(CK_RV rv) {
    return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED ||
           rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT;
}

// CK_TOKEN_INFO labels are 32 bytes padded with blanks (PKCS#11 v2.40 §3.2).
std::string padded_text(const unsigned char* p, std::size_t n) {
    std::string s(reinterpret_cast<const char*>(p), n);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) {
        s.pop_back();
    }
    return s;
}

// One loaded module, initialised once per process and finalised when the last user goes.
class Module {
public:
    static Result<std::shared_ptr<Module>> load(const std::filesystem::path& path) {
        static std::mutex mutex;
        static std::map<std::string, std::weak_ptr<Module>> loaded;
        std::lock_guard lock(mutex);
        const std::string key = path.string();
        if (auto existing = loaded[key].lock()) {
            return existing;
        }
        if (path.empty()) {
            return fail(ErrorCode::invalid_argument, "no PKCS#11 module configured ([keys] pkcs11_module)");
        }
        ::dlerror();
        void* handle = ::dlopen(key.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (handle == nullptr) {
            const char* why = ::dlerror();
            return fail(ErrorCode::unavailable, "cannot load the PKCS#11 module {}: {}", key,
                        why != nullptr ? why : "unknown error");
        }
        auto get_list = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
        CK_FUNCTION_LIST_PTR functions = nullptr;
        if (get_list == nullptr || get_list(&functions) != CKR_OK || functions == nullptr) {
            ::dlclose(handle);
            return fail(ErrorCode::unavailable, "{} is not a PKCS#11 module (no C_GetFunctionList)", key);
        }
        CK_C_INITIALIZE_ARGS args{};
        args.flags = CKF_OS_LOCKING_OK;  // the module may use OS threads and locks
        CK_RV rv = functions->C_Initialize(&args);
        bool owner = true;
        if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
            owner = false;  // someone else in this process initialised it, and finalises it
        } else if (rv != CKR_OK) {
            ::dlclose(handle);
            return fail(ErrorCode::unavailable, "PKCS#11 module {}: C_Initialize failed: {}", key,
                        rv_text(rv));
        }
        auto module = std::shared_ptr<Module>(new Module(key, handle, functions, owner));
        loaded[key] = module;
        return module;
    }

    ~Module() {
        if (owner_) {
            fns_->C_Finalize(nullptr);
        }
        // Not dlclose(): some modules register atexit handlers or keep threads, and unloading
        // their code under them crashes at exit. The mapping goes with the process.
    }

    CK_FUNCTION_LIST_PTR fns() const noexcept { return fns_; }
    const std::string& path() const noexcept { return path_; }

private:
    Module(std::string path, void* handle, CK_FUNCTION_LIST_PTR fns, bool owner)
        : path_(std::move(path)), handle_(handle), fns_(fns), owner_(owner) {}
    std::string path_;
    void* handle_;
    CK_FUNCTION_LIST_PTR fns_;
    bool owner_;
};

CK_BBOOL kTrue = CK_TRUE;
CK_BBOOL kFalse = CK_FALSE;

CK_ATTRIBUTE attr(CK_ATTRIBUTE_TYPE type, void* value, std::size_t len) {
    return CK_ATTRIBUTE{type, value, static_cast<CK_ULONG>(len)};
}
CK_ATTRIBUTE attr_bool(CK_ATTRIBUTE_TYPE type, bool v) {
    return attr(type, v ? &kTrue : &kFalse, sizeof(CK_BBOOL));
}

// DER of the named curves' OIDs (CKA_EC_PARAMS holds an ECParameters, RFC 5480 §2.1.1).
const Bytes kP256Params = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
const Bytes kP384Params = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};

}  // namespace

// A logged-in token with a pool of sessions. Shared (shared_ptr) by the key store and by every
// EVP_PKEY it handed out, so a key stays usable for as long as anyone holds it.
class Pkcs11Token {
public:
    static Result<std::shared_ptr<Pkcs11Token>> open(const Pkcs11Options& options) {
        auto module = SELO_TRY(Module::load(options.module));
        CK_FUNCTION_LIST_PTR f = module->fns();
        CK_ULONG count = 0;
        CK_RV rv = f->C_GetSlotList(CK_TRUE, nullptr, &count);
        std::vector<CK_SLOT_ID> slots(count);
        if (rv == CKR_OK && count > 0) {
            rv = f->C_GetSlotList(CK_TRUE, slots.data(), &count);
            slots.resize(count);
        }
        if (rv != CKR_OK) {
            return fail(ErrorCode::unavailable, "PKCS#11 {}: C_GetSlotList failed: {}",
                        module->path(), rv_text(rv));
        }
        std::vector<std::string> labels;
        std::optional<CK_SLOT_ID> found;
        CK_TOKEN_INFO found_info{};
        for (CK_SLOT_ID slot : slots) {
            CK_TOKEN_INFO info{};
            if (f->C_GetTokenInfo(slot, &info) != CKR_OK) {
                continue;
            }
            std::string label = padded_text(info.label, sizeof info.label);
            labels.push_back("'" + label + "'");
            if (label == options.token_label) {
                if (found) {
                    return fail(ErrorCode::conflict,
                                "PKCS#11 {}: more than one token is labelled '{}'; labels must be unique",
                                module->path(), label);
                }
                found = slot;
                found_info = info;
            }
        }
        if (!found) {
            std::string present;
            for (const auto& l : labels) {
                present += (present.empty() ? "" : ", ") + l;
            }
            return fail(ErrorCode::not_found, "PKCS#11 {}: no token labelled '{}' (tokens present: {})",
                        module->path(), options.token_label, present.empty() ? "none" : present);
        }
        if ((found_info.flags & CKF_TOKEN_INITIALIZED) == 0 ||
            (found_info.flags & CKF_USER_PIN_INITIALIZED) == 0) {
            return fail(ErrorCode::conflict, "PKCS#11 token '{}' is not initialised (no user PIN set)",
                        options.token_label);
        }
        // Login is per application, not per session (PKCS#11 v2.40 §5.6): a second store over
        // the same token in this process shares the first one's sessions and login, and must
        // present the same PIN, since the token would not check it again.
        static std::mutex registry_mutex;
        static std::map<std::string, std::weak_ptr<Pkcs11Token>> registry;
        std::lock_guard registry_lock(registry_mutex);
        const std::string registry_key = fmt::format("{}#{}", module->path(), *found);
        if (auto existing = registry[registry_key].lock()) {
            if (existing->pin_.size() != options.pin.size() ||
                CRYPTO_memcmp(existing->pin_.data(), options.pin.data(), options.pin.size()) != 0) {
                return fail(ErrorCode::unauthorized, "PKCS#11 {}: the PIN is wrong",
                            existing->description_);
            }
            return existing;
        }
        std::string description =
            fmt::format("token '{}' ({} {}) via {}", options.token_label,
                        padded_text(found_info.manufacturerID, sizeof found_info.manufacturerID),
                        padded_text(found_info.model, sizeof found_info.model), module->path());
        auto token = std::shared_ptr<Pkcs11Token>(
            new Pkcs11Token(std::move(module), *found, options.pin.clone(), std::move(description)));
        // The anchor session holds the login for the application (PKCS#11 v2.40 §5.6: login is
        // per application and lasts while any session is open).
        auto anchor = SELO_TRY(token->open_session());
        token->anchor_ = anchor;
        SELO_TRY_VOID(token->login(anchor));
        registry[registry_key] = token;
        return token;
    }

    ~Pkcs11Token() {
        CK_FUNCTION_LIST_PTR f = module_->fns();
        for (CK_SESSION_HANDLE s : idle_) {
            f->C_CloseSession(s);
        }
        if (anchor_ != CK_INVALID_HANDLE) {
            f->C_Logout(anchor_);
            f->C_CloseSession(anchor_);
        }
    }

    const std::string& description() const noexcept { return description_; }

    struct Generated {
        Bytes public_key_der;
        KeyProtection protection;
    };

    Result<Generated> generate(KeyType type, std::string_view label, ByteView object_id) {
        CK_FUNCTION_LIST_PTR f = module_->fns();
        const bool ec = type == KeyType::ec_p256 || type == KeyType::ec_p384;
        CK_OBJECT_CLASS pub_class = CKO_PUBLIC_KEY;
        CK_OBJECT_CLASS priv_class = CKO_PRIVATE_KEY;
        CK_KEY_TYPE key_type = ec ? CKK_EC : CKK_RSA;
        std::string label_text(label);
        Bytes id(object_id.begin(), object_id.end());
        Bytes params = type == KeyType::ec_p384 ? kP384Params : kP256Params;
        CK_ULONG bits = type == KeyType::rsa_4096 ? 4096 : type == KeyType::rsa_3072 ? 3072 : 2048;
        CK_BYTE exponent[] = {0x01, 0x00, 0x01};
        std::vector<CK_ATTRIBUTE> pub = {
            attr(CKA_CLASS, &pub_class, sizeof pub_class),
            attr(CKA_KEY_TYPE, &key_type, sizeof key_type),
            attr_bool(CKA_TOKEN, true),
            attr_bool(CKA_PRIVATE, false),
            attr_bool(CKA_VERIFY, true),
            attr(CKA_LABEL, label_text.data(), label_text.size()),
            attr(CKA_ID, id.data(), id.size()),
        };
        if (ec) {
            pub.push_back(attr(CKA_EC_PARAMS, params.data(), params.size()));
        } else {
            pub.push_back(attr(CKA_MODULUS_BITS, &bits, sizeof bits));
            pub.push_back(attr(CKA_PUBLIC_EXPONENT, exponent, sizeof exponent));
            pub.push_back(attr_bool(CKA_ENCRYPT, false));
            pub.push_back(attr_bool(CKA_WRAP, false));
        }
        std::vector<CK_ATTRIBUTE> priv = {
            attr(CKA_CLASS, &priv_class, sizeof priv_class),
            attr(CKA_KEY_TYPE, &key_type, sizeof key_type),
            attr_bool(CKA_TOKEN, true),
            attr_bool(CKA_PRIVATE, true),
            attr_bool(CKA_SENSITIVE, true),
            attr_bool(CKA_EXTRACTABLE, false),
            attr_bool(CKA_SIGN, true),
            attr_bool(CKA_DECRYPT, false),
            attr_bool(CKA_UNWRAP, false),
            attr_bool(CKA_DERIVE, false),
            attr(CKA_LABEL, label_text.data(), label_text.size()),
            attr(CKA_ID, id.data(), id.size()),
        };
        CK_MECHANISM mech{ec ? CKM_EC_KEY_PAIR_GEN : CKM_RSA_PKCS_KEY_PAIR_GEN, nullptr, 0};
        auto session = SELO_TRY(acquire());
        CK_OBJECT_HANDLE pub_handle = CK_INVALID_HANDLE;
        CK_OBJECT_HANDLE priv_handle = CK_INVALID_HANDLE;
        CK_RV rv = f->C_GenerateKeyPair(session.handle, &mech, pub.data(), pub.size(), priv.data(),
                                        priv.size(), &pub_handle, &priv_handle);
        if (rv != CKR_OK) {
            session.lost = session_lost(rv);
            return fail(ErrorCode::unavailable, "PKCS#11 {}: generating a {} key pair failed: {}",
                        description_, key_type_name(type), rv_text(rv));
        }
        auto destroy = [&]() {
            f->C_DestroyObject(session.handle, priv_handle);
            f->C_DestroyObject(session.handle, pub_handle);
        };
        auto protection = protection_of(session.handle, priv_handle);
        if (!protection) {
            destroy();
            return std::unexpected(protection.error());
        }
        if (!protection->sensitive || protection->extractable || !protection->never_extractable ||
            !protection->private_object || !protection->token) {
            destroy();
            return fail(ErrorCode::unsupported,
                        "PKCS#11 {}: the token did not make the new private key sensitive, "
                        "non-extractable and private; refusing to use it",
                        description_);
        }
        auto der = public_key_of(session.handle, pub_handle, type);
        if (!der) {
            destroy();
            return std::unexpected(der.error());
        }
        return Generated{std::move(*der), *protection};
    }

    // The private key object with CKA_ID `object_id`.
    Result<CK_OBJECT_HANDLE> find_private_key(ByteView object_id) {
        auto session = SELO_TRY(acquire());
        auto h = find(session, CKO_PRIVATE_KEY, object_id);
        if (!h) {
            return std::unexpected(h.error());
        }
        return *h;
    }

    Result<Bytes> public_key_der(ByteView object_id, KeyType type) {
        auto session = SELO_TRY(acquire());
        auto h = SELO_TRY(find(session, CKO_PUBLIC_KEY, object_id));
        return public_key_of(session.handle, h, type);
    }

    // Destroys the private key object with CKA_ID `object_id` (C_DestroyObject, PKCS#11 v2.40
    // §5.7); the public key object stays, as the database's record of it does.
    Result<void> destroy_private_key(ByteView object_id) {
        auto session = SELO_TRY(acquire());
        auto h = SELO_TRY(find(session, CKO_PRIVATE_KEY, object_id));
        CK_RV rv = module_->fns()->C_DestroyObject(session.handle, h);
        if (rv != CKR_OK) {
            session.lost = session_lost(rv);
            return fail(ErrorCode::unavailable, "PKCS#11 {}: destroying key {} failed: {}",
                        description_, hex_encode(object_id), rv_text(rv));
        }
        return {};
    }

    Result<KeyProtection> protection(ByteView object_id) {
        auto session = SELO_TRY(acquire());
        auto h = SELO_TRY(find(session, CKO_PRIVATE_KEY, object_id));
        return protection_of(session.handle, h);
    }

    // One private-key operation: `mechanism` over `data`, with the key object `handle` (found
    // again by `object_id` if the token no longer knows the handle). Retries once on a lost
    // session or login.
    Result<Bytes> sign(std::atomic<CK_OBJECT_HANDLE>& handle, ByteView object_id,
                       CK_MECHANISM_TYPE mechanism, ByteView data) {
        CK_FUNCTION_LIST_PTR f = module_->fns();
        CK_RV rv = CKR_OK;
        for (int attempt = 0; attempt < 2; ++attempt) {
            auto session = SELO_TRY(acquire());
            CK_OBJECT_HANDLE key = handle.load();
            if (key == CK_INVALID_HANDLE) {
                key = SELO_TRY(find(session, CKO_PRIVATE_KEY, object_id));
                handle.store(key);
            }
            CK_MECHANISM mech{mechanism, nullptr, 0};
            rv = f->C_SignInit(session.handle, &mech, key);
            // 512 bytes: the largest signature Selo makes (RSA-4096); one call, no length query.
            Bytes out(512);
            CK_ULONG len = out.size();
            if (rv == CKR_OK) {
                rv = f->C_Sign(session.handle, const_cast<CK_BYTE_PTR>(data.data()), data.size(),
                               out.data(), &len);
            }
            if (rv == CKR_OK) {
                out.resize(len);
                return out;
            }
            if (session_lost(rv)) {
                session.lost = true;
                continue;
            }
            if (rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_KEY_HANDLE_INVALID) {
                handle.store(CK_INVALID_HANDLE);
                continue;
            }
            if (rv == CKR_USER_NOT_LOGGED_IN) {
                SELO_TRY_VOID(login(session.handle));
                continue;
            }
            break;
        }
        return fail(ErrorCode::unavailable, "PKCS#11 {}: signing failed: {}", description_, rv_text(rv));
    }

private:
    Pkcs11Token(std::shared_ptr<Module> module, CK_SLOT_ID slot, SecretBytes pin, std::string description)
        : module_(std::move(module)), slot_(slot), pin_(std::move(pin)),
          description_(std::move(description)) {}

    // A pooled session, returned to the pool (or closed, when lost) at scope exit.
    struct Lease {
        Pkcs11Token* token = nullptr;
        CK_SESSION_HANDLE handle = CK_INVALID_HANDLE;
        bool lost = false;
        Lease(Pkcs11Token* t, CK_SESSION_HANDLE h) : token(t), handle(h) {}
        Lease(Lease&& o) noexcept : token(o.token), handle(o.handle), lost(o.lost) { o.token = nullptr; }
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        Lease& operator=(Lease&&) = delete;
        ~Lease() {
            if (token != nullptr) {
                token->release(handle, lost);
            }
        }
    };

    Result<CK_SESSION_HANDLE> open_session() {
        CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
        CK_RV rv = module_->fns()->C_OpenSession(slot_, CKF_SERIAL_SESSION | CKF_RW_SESSION,
                                                 nullptr, nullptr, &s);
        if (rv != CKR_OK) {
            return fail(ErrorCode::unavailable, "PKCS#11 {}: C_OpenSession failed: {}", description_,
                        rv_text(rv));
        }
        return s;
    }

    Result<void> login(CK_SESSION_HANDLE s) {
        CK_RV rv = module_->fns()->C_Login(s, CKU_USER, const_cast<CK_UTF8CHAR_PTR>(pin_.data()),
                                           pin_.size());
        if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
            return {};
        }
        if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE) {
            return fail(ErrorCode::unauthorized, "PKCS#11 {}: the PIN is wrong ({})", description_,
                        rv_text(rv));
        }
        if (rv == CKR_PIN_LOCKED || rv == CKR_PIN_EXPIRED) {
            return fail(ErrorCode::forbidden, "PKCS#11 {}: the user PIN is locked or expired ({})",
                        description_, rv_text(rv));
        }
        return fail(ErrorCode::unavailable, "PKCS#11 {}: login failed: {}", description_, rv_text(rv));
    }

    Result<Lease> acquire() {
        {
            std::lock_guard lock(mutex_);
            if (!idle_.empty()) {
                CK_SESSION_HANDLE s = idle_.back();
                idle_.pop_back();
                return Lease(this, s);
            }
        }
        auto s = SELO_TRY(open_session());
        return Lease(this, s);
    }

    void release(CK_SESSION_HANDLE s, bool lost) {
        if (lost) {
            module_->fns()->C_CloseSession(s);
            return;
        }
        std::lock_guard lock(mutex_);
        idle_.push_back(s);
    }

    Result<CK_OBJECT_HANDLE> find(Lease& session, CK_OBJECT_CLASS cls, ByteView object_id) {
        CK_FUNCTION_LIST_PTR f = module_->fns();
        Bytes id(object_id.begin(), object_id.end());
        CK_ATTRIBUTE tmpl[] = {attr(CKA_CLASS, &cls, sizeof cls), attr(CKA_ID, id.data(), id.size())};
        CK_RV rv = f->C_FindObjectsInit(session.handle, tmpl, 2);
        CK_OBJECT_HANDLE found[2];
        CK_ULONG n = 0;
        if (rv == CKR_OK) {
            rv = f->C_FindObjects(session.handle, found, 2, &n);
            f->C_FindObjectsFinal(session.handle);
        }
        if (rv != CKR_OK) {
            session.lost = session_lost(rv);
            return fail(ErrorCode::unavailable, "PKCS#11 {}: finding key {} failed: {}", description_,
                        hex_encode(object_id), rv_text(rv));
        }
        if (n == 0) {
            return fail(ErrorCode::not_found,
                        "PKCS#11 {}: no {} key with CKA_ID {} (is this the token the keys were made in?)",
                        description_, cls == CKO_PRIVATE_KEY ? "private" : "public",
                        hex_encode(object_id));
        }
        if (n > 1) {
            return fail(ErrorCode::conflict, "PKCS#11 {}: several objects carry CKA_ID {}",
                        description_, hex_encode(object_id));
        }
        return found[0];
    }

    Result<KeyProtection> protection_of(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h) {
        CK_BBOOL v[7] = {};
        CK_ATTRIBUTE tmpl[] = {
            attr(CKA_TOKEN, &v[0], 1),      attr(CKA_PRIVATE, &v[1], 1),
            attr(CKA_LOCAL, &v[2], 1),      attr(CKA_SENSITIVE, &v[3], 1),
            attr(CKA_EXTRACTABLE, &v[4], 1), attr(CKA_ALWAYS_SENSITIVE, &v[5], 1),
            attr(CKA_NEVER_EXTRACTABLE, &v[6], 1),
        };
        CK_RV rv = module_->fns()->C_GetAttributeValue(s, h, tmpl, 7);
        if (rv != CKR_OK) {
            return fail(ErrorCode::unavailable, "PKCS#11 {}: reading key attributes failed: {}",
                        description_, rv_text(rv));
        }
        return KeyProtection{v[0] == CK_TRUE, v[1] == CK_TRUE, v[2] == CK_TRUE, v[3] == CK_TRUE,
                             v[4] == CK_TRUE, v[5] == CK_TRUE, v[6] == CK_TRUE};
    }

    Result<Bytes> attribute(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type) {
        CK_FUNCTION_LIST_PTR f = module_->fns();
        CK_ATTRIBUTE a = attr(type, nullptr, 0);
        CK_RV rv = f->C_GetAttributeValue(s, h, &a, 1);
        if (rv != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > 65536) {
            return fail(ErrorCode::unavailable, "PKCS#11 {}: reading attribute 0x{:x} failed: {}",
                        description_, type, rv_text(rv));
        }
        Bytes out(a.ulValueLen);
        a.pValue = out.data();
        rv = f->C_GetAttributeValue(s, h, &a, 1);
        if (rv != CKR_OK) {
            return fail(ErrorCode::unavailable, "PKCS#11 {}: reading attribute 0x{:x} failed: {}",
                        description_, type, rv_text(rv));
        }
        out.resize(a.ulValueLen);
        return out;
    }

    // SubjectPublicKeyInfo DER of a public key object.
    Result<Bytes> public_key_of(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, KeyType type) {
        EvpPkeyPtr pkey(::EVP_PKEY_new());
        if (type == KeyType::ec_p256 || type == KeyType::ec_p384) {
            Bytes point = SELO_TRY(attribute(s, h, CKA_EC_POINT));
            // PKCS#11 v2.40 §2.3.3: CKA_EC_POINT is the DER of an OCTET STRING holding the point;
            // some older tokens give the bare point. A P-256/P-384 point is 65/97 octets.
            const int nid = type == KeyType::ec_p384 ? NID_secp384r1 : NID_X9_62_prime256v1;
            const std::size_t raw = type == KeyType::ec_p384 ? 97 : 65;
            Bytes bare;
            if (point.size() == raw && point[0] == 0x04) {
                bare = point;
            } else {
                const unsigned char* p = point.data();
                Asn1OctetStringPtr os(::d2i_ASN1_OCTET_STRING(nullptr, &p, static_cast<long>(point.size())));
                if (!os) {
                    return openssl_fail("CKA_EC_POINT is neither a point nor an OCTET STRING",
                                        ErrorCode::malformed);
                }
                bare.assign(::ASN1_STRING_get0_data(os.get()),
                            ::ASN1_STRING_get0_data(os.get()) + ::ASN1_STRING_length(os.get()));
            }
            EC_KEY* ec = ::EC_KEY_new_by_curve_name(nid);
            const unsigned char* q = bare.data();
            if (ec == nullptr || ::o2i_ECPublicKey(&ec, &q, static_cast<long>(bare.size())) == nullptr ||
                ::EVP_PKEY_assign_EC_KEY(pkey.get(), ec) != 1) {
                ::EC_KEY_free(ec);
                return openssl_fail("building the token's EC public key", ErrorCode::malformed);
            }
        } else {
            Bytes n = SELO_TRY(attribute(s, h, CKA_MODULUS));
            Bytes e = SELO_TRY(attribute(s, h, CKA_PUBLIC_EXPONENT));
            RSA* rsa = ::RSA_new();
            BIGNUM* bn_n = ::BN_bin2bn(n.data(), static_cast<int>(n.size()), nullptr);
            BIGNUM* bn_e = ::BN_bin2bn(e.data(), static_cast<int>(e.size()), nullptr);
            if (rsa == nullptr || bn_n == nullptr || bn_e == nullptr ||
                ::RSA_set0_key(rsa, bn_n, bn_e, nullptr) != 1) {
                ::BN_free(bn_n);
                ::BN_free(bn_e);
                ::RSA_free(rsa);
                return openssl_fail("building the token's RSA public key", ErrorCode::malformed);
            }
            if (::EVP_PKEY_assign_RSA(pkey.get(), rsa) != 1) {
                ::RSA_free(rsa);
                return openssl_fail("building the token's RSA public key", ErrorCode::malformed);
            }
        }
        return public_key_to_der(pkey.get());
    }

    std::shared_ptr<Module> module_;
    CK_SLOT_ID slot_;
    SecretBytes pin_;
    std::string description_;
    CK_SESSION_HANDLE anchor_ = CK_INVALID_HANDLE;
    std::mutex mutex_;
    std::vector<CK_SESSION_HANDLE> idle_;
};

namespace {

// What an EVP_PKEY from the token carries (as EC_KEY / RSA ex_data): the token and the object.
struct TokenKeyRef {
    std::shared_ptr<Pkcs11Token> token;
    Bytes object_id;
    std::atomic<CK_OBJECT_HANDLE> handle{CK_INVALID_HANDLE};
};

// ex_data holds a heap-allocated shared_ptr<TokenKeyRef>; these keep it through dup and free.
void ref_free(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
    delete static_cast<std::shared_ptr<TokenKeyRef>*>(ptr);
}
int ref_dup(CRYPTO_EX_DATA*, const CRYPTO_EX_DATA*, void** from_d, int, long, void*) {
    auto* from = static_cast<std::shared_ptr<TokenKeyRef>*>(*from_d);
    *from_d = from != nullptr ? new std::shared_ptr<TokenKeyRef>(*from) : nullptr;
    return 1;
}

int ec_ex_index() {
    static const int index = ::EC_KEY_get_ex_new_index(0, nullptr, nullptr, &ref_dup, &ref_free);
    return index;
}
int rsa_ex_index() {
    static const int index = ::RSA_get_ex_new_index(0, nullptr, nullptr, &ref_dup, &ref_free);
    return index;
}

void raise(const Error& e) {
    ERR_raise_data(ERR_LIB_EVP, ERR_R_OPERATION_FAIL, "%s", e.message.c_str());
}

// ECDSA through the token (CKM_ECDSA over the digest): the token returns r || s (PKCS#11 v2.40
// §2.3.1), OpenSSL wants an ECDSA_SIG.
ECDSA_SIG* ec_sign_sig(const unsigned char* dgst, int dlen, const BIGNUM*, const BIGNUM*, EC_KEY* ec) {
    auto* ref = static_cast<std::shared_ptr<TokenKeyRef>*>(::EC_KEY_get_ex_data(ec, ec_ex_index()));
    if (ref == nullptr || !*ref) {
        raise(Error(ErrorCode::internal, "EC key has no token reference"));
        return nullptr;
    }
    auto sig = (*ref)->token->sign((*ref)->handle, (*ref)->object_id, CKM_ECDSA,
                                   ByteView(dgst, static_cast<std::size_t>(dlen)));
    if (!sig) {
        raise(sig.error());
        return nullptr;
    }
    if (sig->empty() || sig->size() % 2 != 0) {
        raise(Error(ErrorCode::malformed, "the token's ECDSA signature has an odd length"));
        return nullptr;
    }
    const int half = static_cast<int>(sig->size() / 2);
    BIGNUM* r = ::BN_bin2bn(sig->data(), half, nullptr);
    BIGNUM* s = ::BN_bin2bn(sig->data() + half, half, nullptr);
    ECDSA_SIG* out = ::ECDSA_SIG_new();
    if (r == nullptr || s == nullptr || out == nullptr || ::ECDSA_SIG_set0(out, r, s) != 1) {
        ::BN_free(r);
        ::BN_free(s);
        ::ECDSA_SIG_free(out);
        return nullptr;
    }
    return out;
}

int ec_sign_setup(EC_KEY*, BN_CTX*, BIGNUM**, BIGNUM**) {
    // The token picks its own nonce; there is nothing to precompute here.
    return 1;
}

const EC_KEY_METHOD* token_ec_method() {
    static EC_KEY_METHOD* method = [] {
        EC_KEY_METHOD* m = ::EC_KEY_METHOD_new(::EC_KEY_OpenSSL());
        int (*sign)(int, const unsigned char*, int, unsigned char*, unsigned int*, const BIGNUM*,
                    const BIGNUM*, EC_KEY*) = nullptr;
        ::EC_KEY_METHOD_get_sign(m, &sign, nullptr, nullptr);
        // OpenSSL's own `sign` DER-encodes what sign_sig returns.
        ::EC_KEY_METHOD_set_sign(m, sign, &ec_sign_setup, &ec_sign_sig);
        return m;
    }();
    return method;
}

// RSA private "encryption" through the token. RSA_sign builds the DigestInfo and asks for PKCS#1
// v1.5 padding (CKM_RSA_PKCS); PSS is padded by OpenSSL and needs the raw operation
// (CKM_RSA_X_509).
int rsa_priv_enc(int flen, const unsigned char* from, unsigned char* to, RSA* rsa, int padding) {
    auto* ref = static_cast<std::shared_ptr<TokenKeyRef>*>(::RSA_get_ex_data(rsa, rsa_ex_index()));
    if (ref == nullptr || !*ref) {
        raise(Error(ErrorCode::internal, "RSA key has no token reference"));
        return -1;
    }
    CK_MECHANISM_TYPE mech = 0;
    if (padding == RSA_PKCS1_PADDING) {
        mech = CKM_RSA_PKCS;
    } else if (padding == RSA_NO_PADDING) {
        mech = CKM_RSA_X_509;
    } else {
        raise(Error(ErrorCode::unsupported, "RSA padding not supported by the token bridge"));
        return -1;
    }
    auto sig = (*ref)->token->sign((*ref)->handle, (*ref)->object_id, mech,
                                   ByteView(from, static_cast<std::size_t>(flen)));
    if (!sig) {
        raise(sig.error());
        return -1;
    }
    const std::size_t size = static_cast<std::size_t>(::RSA_size(rsa));
    if (sig->size() > size) {
        raise(Error(ErrorCode::malformed, "the token's RSA signature is longer than the modulus"));
        return -1;
    }
    // Left-pad to the modulus length (RFC 8017 §5.2.1: I2OSP to k octets).
    std::fill(to, to + (size - sig->size()), 0);
    std::copy(sig->begin(), sig->end(), to + (size - sig->size()));
    return static_cast<int>(size);
}

int rsa_priv_dec(int, const unsigned char*, unsigned char*, RSA*, int) {
    raise(Error(ErrorCode::forbidden, "token keys are for signing only"));
    return -1;
}

const RSA_METHOD* token_rsa_method() {
    static RSA_METHOD* method = [] {
        RSA_METHOD* m = ::RSA_meth_dup(::RSA_PKCS1_OpenSSL());
        ::RSA_meth_set1_name(m, "selo PKCS#11 token");
        ::RSA_meth_set_priv_enc(m, &rsa_priv_enc);
        ::RSA_meth_set_priv_dec(m, &rsa_priv_dec);
        ::RSA_meth_set_flags(m, ::RSA_meth_get_flags(m) | RSA_FLAG_EXT_PKEY);
        return m;
    }();
    return method;
}

// An EVP_PKEY with the public key `spki` whose private operations go to the token. The method
// is set before the key is assigned, so OpenSSL sees a "foreign" key and routes every operation
// through it rather than exporting the key to its default provider.
Result<EvpPkeyPtr> token_backed_key(ByteView spki, std::shared_ptr<TokenKeyRef> ref) {
    auto pub = SELO_TRY(public_key_from_der(spki));
    EvpPkeyPtr out(::EVP_PKEY_new());
    if (!out) {
        return openssl_fail("EVP_PKEY_new");
    }
    if (::EVP_PKEY_get_base_id(pub.get()) == EVP_PKEY_EC) {
        EC_KEY* ec = ::EVP_PKEY_get1_EC_KEY(pub.get());
        if (ec == nullptr || ::EC_KEY_set_method(ec, token_ec_method()) != 1 ||
            ::EC_KEY_set_ex_data(ec, ec_ex_index(), new std::shared_ptr<TokenKeyRef>(ref)) != 1 ||
            ::EVP_PKEY_assign_EC_KEY(out.get(), ec) != 1) {
            ::EC_KEY_free(ec);
            return openssl_fail("binding an EC key to the token");
        }
        return out;
    }
    if (::EVP_PKEY_get_base_id(pub.get()) == EVP_PKEY_RSA) {
        RSA* rsa = ::EVP_PKEY_get1_RSA(pub.get());
        if (rsa == nullptr || ::RSA_set_method(rsa, token_rsa_method()) != 1 ||
            ::RSA_set_ex_data(rsa, rsa_ex_index(), new std::shared_ptr<TokenKeyRef>(ref)) != 1 ||
            ::EVP_PKEY_assign_RSA(out.get(), rsa) != 1) {
            ::RSA_free(rsa);
            return openssl_fail("binding an RSA key to the token");
        }
        return out;
    }
    return fail(ErrorCode::unsupported, "token keys are EC or RSA");
}

}  // namespace

Pkcs11KeyStore::Pkcs11KeyStore(std::shared_ptr<Pkcs11Token> token, TokenKeyRepository& repo, Rng& rng)
    : token_(std::move(token)), repo_(repo), rng_(rng) {}

Pkcs11KeyStore::~Pkcs11KeyStore() = default;

Result<std::unique_ptr<Pkcs11KeyStore>> Pkcs11KeyStore::open(const Pkcs11Options& options,
                                                              TokenKeyRepository& repo, Rng& rng) {
    auto token = SELO_TRY(Pkcs11Token::open(options));
    return std::unique_ptr<Pkcs11KeyStore>(new Pkcs11KeyStore(std::move(token), repo, rng));
}

const std::string& Pkcs11KeyStore::description() const noexcept { return token_->description(); }

Result<TokenKeyRepository::Record> Pkcs11KeyStore::record(std::string_view id) {
    auto rec = SELO_TRY(repo_.find(id));
    if (!rec) {
        return fail(ErrorCode::not_found, "no key '{}' in the PKCS#11 key store", id);
    }
    return *rec;
}

Result<StoredKeyInfo> Pkcs11KeyStore::generate(std::string_view id, KeyType type) {
    if (SELO_TRY(repo_.find(id))) {
        return fail(ErrorCode::conflict, "key '{}' already exists", id);
    }
    Bytes object_id = rng_.bytes(16);
    auto generated = SELO_TRY(token_->generate(type, id, object_id));
    SELO_TRY_VOID(repo_.insert({std::string(id), std::string(key_type_name(type)),
                                generated.public_key_der, object_id}));
    log::info("keys: generated {} key '{}' in {} (CKA_ID {})", key_type_name(type), id,
              token_->description(), hex_encode(object_id));
    return StoredKeyInfo{std::string(id), type, std::move(generated.public_key_der)};
}

Result<EvpPkeyPtr> Pkcs11KeyStore::signing_key(std::string_view id) {
    {
        std::lock_guard lock(mutex_);
        if (auto it = loaded_.find(id); it != loaded_.end()) {
            ::EVP_PKEY_up_ref(it->second.get());
            return EvpPkeyPtr(it->second.get());
        }
    }
    auto rec = SELO_TRY(record(id));
    auto type = SELO_TRY(key_type_from_name(rec.type));
    auto ref = std::make_shared<TokenKeyRef>();
    ref->token = token_;
    ref->object_id = rec.object_id;
    ref->handle.store(SELO_TRY(token_->find_private_key(rec.object_id)));
    // The database and the token must agree on the key: a token swapped for another one (or a
    // restored backup of a different token) would otherwise sign with a key nobody certified.
    auto token_public = SELO_TRY(token_->public_key_der(rec.object_id, type));
    if (token_public != rec.public_key_der) {
        return fail(ErrorCode::conflict,
                    "key '{}': the public key in {} differs from the one recorded for it", id,
                    token_->description());
    }
    auto key = SELO_TRY(token_backed_key(rec.public_key_der, std::move(ref)));
    std::lock_guard lock(mutex_);
    ::EVP_PKEY_up_ref(key.get());
    loaded_.emplace(std::string(id), EvpPkeyPtr(key.get()));
    return key;
}

Result<StoredKeyInfo> Pkcs11KeyStore::info(std::string_view id) {
    auto rec = SELO_TRY(record(id));
    auto type = SELO_TRY(key_type_from_name(rec.type));
    return StoredKeyInfo{rec.id, type, rec.public_key_der};
}

Result<KeyProtection> Pkcs11KeyStore::protection(std::string_view id) {
    auto rec = SELO_TRY(record(id));
    return token_->protection(rec.object_id);
}

Result<void> Pkcs11KeyStore::destroy_private_key(std::string_view id) {
    auto rec = SELO_TRY(record(id));
    {
        std::lock_guard lock(mutex_);
        loaded_.erase(std::string(id));
    }
    // The token first: should the record's update fail, the key is gone all the same and the
    // record names an object the token no longer has (signing then fails with not_found); the
    // other order could leave a key in the token that no record names.
    SELO_TRY_VOID(token_->destroy_private_key(rec.object_id));
    SELO_TRY_VOID(repo_.take_offline(id));
    log::info("keys: destroyed the private key '{}' in {} (CKA_ID {})", id, token_->description(),
              hex_encode(rec.object_id));
    return {};
}

}  // namespace selo::crypto

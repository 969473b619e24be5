#include "tsa/chain_status.hpp"

#include <openssl/pkcs7.h>
#include <openssl/x509_vfy.h>

#include <fmt/format.h>

#include "crypto/openssl.hpp"

#include "pki/certificate.hpp"
#include "pki/revocation.hpp"

namespace selo::tsa {

std::optional<ChainProblem> chain_problem(std::span<const pki::Certificate* const> chain,
                                          const CertificateStatusLookup& status, TimePoint at, ChainUse use) {
    if (chain.size() < 2) {
        return ChainProblem{.why = "the certificate chain is incomplete"};
    }
    for (std::size_t i = 0; i + 1 < chain.size(); ++i) {
        const pki::Certificate& cert = *chain[i];
        const std::string serial = cert.serial_hex();
        // For people, only once something is wrong.
        auto whose = [&] {
            return fmt::format("{}'s certificate (serial {})", pki::name_to_string(::X509_get_subject_name(cert.x509())),
                               serial);
        };
        auto st = status ? status(*chain[i + 1], serial)
                         : Result<std::optional<pki::CertificateStatus>>(
                               fail(ErrorCode::internal, "no certificate status source"));
        if (!st) {
            return ChainProblem{.why = fmt::format("the revocation status of {} could not be checked", whose()),
                                .indeterminate = true,
                                .position = i,
                                .store_error = st.error().message};
        }
        if (!*st) {
            // It chains to Selo's root, yet no Selo CA recorded issuing it: never "good" (as OCSP
            // answers "unknown" for a serial it has not issued).
            return ChainProblem{.why = whose() + " is not in Selo's certificate records: status unknown", .position = i};
        }
        const pki::CertificateStatus& s = **st;
        if (s.status == pki::kStatusValid) {
            continue;
        }
        if (s.status != pki::kStatusRevoked && s.status != pki::kStatusSuspended) {
            return ChainProblem{.why = fmt::format("{} has status '{}': status unknown", whose(), s.status),
                                .position = i};
        }
        const bool suspended = s.status == pki::kStatusSuspended;
        // Revoked or suspended only after `at`: the certificate was in force then (for a token,
        // unless the reason voids everything the key ever signed).
        const bool later = s.revoked_at && (use == ChainUse::token_checked
                                                ? *s.revoked_at >= std::chrono::floor<std::chrono::seconds>(at)
                                                : *s.revoked_at > at);
        const bool voids_all = use != ChainUse::signature && !suspended && !pki::keeps_earlier_tokens(s.revocation_reason);
        if (later && !voids_all) {
            continue;
        }
        return ChainProblem{
            .why = fmt::format("{} is {}", whose(), pki::not_in_force_text(s.status, s.revoked_at, s.revocation_reason)),
            .position = i,
            .suspended = suspended};
    }
    return std::nullopt;
}

namespace {

// The certificates of a path OpenSSL validated (leaf first, root last), for chain_problem.
std::optional<std::vector<pki::Certificate>> certificates_of(STACK_OF(X509) * chain) {
    std::vector<pki::Certificate> out;
    for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
        auto c = pki::Certificate::from_x509(sk_X509_value(chain, i));
        if (!c) {
            crypto::clear_errors();
            return std::nullopt;
        }
        out.push_back(std::move(*c));
    }
    return out;
}

}  // namespace

std::optional<ChainProblem> path_problem(STACK_OF(X509) * chain, const CertificateStatusLookup& status, TimePoint at,
                                         ChainUse use) {
    auto certs = certificates_of(chain);
    if (!certs) {
        return ChainProblem{.why = "the revocation status of the certificate chain could not be checked",
                            .indeterminate = true};
    }
    std::vector<const pki::Certificate*> path;
    for (const auto& c : *certs) {
        path.push_back(&c);
    }
    return chain_problem(path, status, at, use);
}


Result<ValidatedChain> validated_chain(X509* leaf, STACK_OF(X509) * carried, const TrustAnchors& anchors,
                                       TimePoint at) {
    ValidatedChain v{crypto::X509StorePtr(::X509_STORE_new()), crypto::X509StackPtr(sk_X509_new_null()),
                     crypto::X509StoreCtxPtr(::X509_STORE_CTX_new())};
    if (!v.store || !v.untrusted || !v.ctx) {
        return crypto::openssl_fail("verification context");
    }
    for (const auto& r : anchors.roots) {
        ::X509_STORE_add_cert(v.store.get(), r.x509());
    }
    for (const auto& c : anchors.intermediates) {
        sk_X509_push(v.untrusted.get(), ::X509_dup(c.x509()));
    }
    for (int i = 0; carried != nullptr && i < sk_X509_num(carried); ++i) {
        sk_X509_push(v.untrusted.get(), ::X509_dup(sk_X509_value(carried, i)));
    }
    if (::X509_STORE_CTX_init(v.ctx.get(), v.store.get(), leaf, v.untrusted.get()) != 1) {
        return crypto::openssl_fail("verification context");
    }
    ::X509_STORE_CTX_set_time(v.ctx.get(), 0, std::chrono::system_clock::to_time_t(at));
    if (::X509_verify_cert(v.ctx.get()) != 1) {
        std::string why = ::X509_verify_cert_error_string(::X509_STORE_CTX_get_error(v.ctx.get()));
        crypto::clear_errors();
        return fail(ErrorCode::invalid_argument, "{}", why);
    }
    return v;
}

namespace {
using Pkcs7Ptr = std::unique_ptr<PKCS7, crypto::Free<&::PKCS7_free>>;

// A token parsed, with its signer among the certificates it carries (owned by the token).
struct SignedToken {
    Pkcs7Ptr token;
    X509* signer = nullptr;
};
enum class TokenFault { unreadable, no_signer };

std::expected<SignedToken, TokenFault> signed_token(ByteView token_der) {
    const unsigned char* p = token_der.data();
    Pkcs7Ptr token(::d2i_PKCS7(nullptr, &p, static_cast<long>(token_der.size())));
    if (!token || !PKCS7_type_is_signed(token.get())) {
        crypto::clear_errors();
        return std::unexpected(TokenFault::unreadable);
    }
    STACK_OF(X509)* signers = ::PKCS7_get0_signers(token.get(), nullptr, 0);
    X509* signer = signers != nullptr && sk_X509_num(signers) == 1 ? sk_X509_value(signers, 0) : nullptr;
    sk_X509_free(signers);  // the certificates themselves belong to the token
    if (signer == nullptr) {
        crypto::clear_errors();
        return std::unexpected(TokenFault::no_signer);
    }
    return SignedToken{std::move(token), signer};
}

}  // namespace

Result<pki::Certificate> token_signer(ByteView token_der) {
    auto t = signed_token(token_der);
    if (!t) {
        return fail(ErrorCode::invalid_argument, "{}",
                    t.error() == TokenFault::unreadable ? "the time-stamp token cannot be read"
                                                        : "the time-stamp token does not carry its signing certificate");
    }
    return pki::Certificate::from_x509(t->signer);
}

std::optional<ChainProblem> token_problem(ByteView token_der, const TrustAnchors& anchors,
                                          const CertificateStatusLookup& status, TimePoint gen_time, ChainUse use) {
    auto t = signed_token(token_der);
    if (!t) {
        return t.error() == TokenFault::unreadable
                   ? ChainProblem{"the time-stamp token cannot be read"}
                   : ChainProblem{"the time-stamp token's signing certificate cannot be found", true};
    }
    auto path = validated_chain(t->signer, t->token->d.sign->cert, anchors, gen_time);
    if (!path) {
        if (path.error().code != ErrorCode::invalid_argument) {
            return ChainProblem{"the time-stamp token's certificate path cannot be built", true};
        }
        return ChainProblem{"the time-stamp token's certificate does not chain to Selo's root: " +
                            path.error().message};
    }
    return path_problem(path->chain(), status, gen_time, use);
}

}  // namespace selo::tsa

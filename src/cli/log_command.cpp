// `selo log verify`: an independent check of a Selo server's transparency log, as any third
// party can run it. It downloads every entry, recomputes every leaf hash and the tree from the
// entries' contents (RFC 9162), checks each signed tree head's token and that the recomputed
// tree has the signed root at the signed size, and that the tree heads this client saw on
// earlier runs (kept in a state file) still are part of the log.

#include <boost/json.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "crypto/digest.hpp"
#include "http/client.hpp"
#include "http/response.hpp"
#include "pki/authority.hpp"
#include "pki/certificate.hpp"
#include "pki/crl.hpp"
#include "translog/log.hpp"
#include "translog/merkle.hpp"
#include "tsa/authority.hpp"
#include "tsa/chain_status.hpp"
#include "tsa/verify.hpp"

namespace selo::cli {
namespace {
namespace json = boost::json;
namespace fs = std::filesystem;
using translog::Hash;

// The timestamp a tree this client recomputed itself is remembered with (it has no signed one).
constexpr std::string_view kOwnTree = "verified by this client";

struct SeenHead {
    std::uint64_t tree_size = 0;
    Hash root{};
    std::string timestamp;
    std::string source;  // "server" or "state file"
};

Result<json::object> get_json(http::Client& client, const std::string& path) {
    auto res = SELO_TRY(client.get(path));
    if (res.result() != http::Status::ok) {
        return fail(ErrorCode::unavailable, "GET {}: HTTP {}: {}", path, res.result_int(), res.body());
    }
    auto parsed = json::parse(res.body());
    if (!parsed.is_object()) {
        return fail(ErrorCode::malformed, "GET {}: not a JSON object", path);
    }
    return parsed.as_object();
}

Result<Hash> hash_field(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_string()) {
        return fail(ErrorCode::malformed, "'{}' is missing", key);
    }
    auto bytes = hex_decode(std::string_view(v->as_string()));
    auto h = bytes ? translog::hash_from_bytes(*bytes) : std::nullopt;
    if (!h) {
        return fail(ErrorCode::malformed, "'{}' is not a hex SHA-256 hash", key);
    }
    return *h;
}

Result<std::uint64_t> uint_field(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !(v->is_uint64() || (v->is_int64() && v->as_int64() >= 0))) {
        return fail(ErrorCode::malformed, "'{}' is missing or not a non-negative integer", key);
    }
    return v->is_uint64() ? v->as_uint64() : static_cast<std::uint64_t>(v->as_int64());
}

Result<std::string> string_field(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_string()) {
        return fail(ErrorCode::malformed, "'{}' is missing or not a string", key);
    }
    return std::string(v->as_string());
}

Result<pki::Certificate> fetch_certificate(http::Client& client, const std::string& path) {
    auto res = SELO_TRY(client.get(path));
    if (res.result() != http::Status::ok) {
        return fail(ErrorCode::unavailable, "GET {}: HTTP {}", path, res.result_int());
    }
    const std::string& b = res.body();
    return pki::Certificate::from_der(ByteView(reinterpret_cast<const std::uint8_t*>(b.data()), b.size()));
}

fs::path default_state_file(const std::string& server) {
    std::string name;
    for (char c : server) {
        name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    }
    const char* home = std::getenv("HOME");
    return fs::path(home != nullptr ? home : ".") / ".selo" / ("tree-heads-" + name + ".json");
}

// The tree heads kept from earlier runs; none when the file does not exist yet. A file that
// exists but cannot be read or parsed is an error, not an empty history: ignoring it (and then
// overwriting it) would erase exactly what lets this client notice a rewritten log.
Result<std::vector<SeenHead>> load_state(const fs::path& file) {
    std::vector<SeenHead> out;
    std::error_code ec;
    if (!fs::exists(file, ec) && !ec) {
        return out;
    }
    auto damaged = [&](std::string_view why) {
        return fail(ErrorCode::malformed,
                    "the state file {} {}; it holds the tree heads this client saw on earlier runs, so it is "
                    "not replaced: repair it, or move it away to start afresh",
                    file.string(), why);
    };
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        return damaged(fmt::format("cannot be read ({})", std::strerror(errno)));
    }
    std::stringstream ss;
    ss << in.rdbuf();
    boost::system::error_code jec;
    auto v = json::parse(ss.str(), jec);
    const json::value* list = v.is_object() ? v.as_object().if_contains("tree_heads") : nullptr;
    if (jec || list == nullptr || !list->is_array()) {
        return damaged("is not a JSON object with a \"tree_heads\" list");
    }
    for (std::size_t i = 0; i < list->as_array().size(); ++i) {
        const json::value& h = list->as_array()[i];
        if (!h.is_object()) {
            return damaged(fmt::format("has a tree head (#{}) that is not an object", i + 1));
        }
        auto size = uint_field(h.as_object(), "tree_size");
        auto root = hash_field(h.as_object(), "root_hash");
        if (!size || !root) {
            return damaged(fmt::format("has a tree head (#{}) whose {}", i + 1,
                                       !size ? size.error().message : root.error().message));
        }
        out.push_back({*size, *root, string_field(h.as_object(), "timestamp").value_or(""), "state file"});
    }
    return out;
}

// The directory the state file goes in exists (or, for the default location, is made). Checked
// before the log is downloaded, so that a mistyped --state fails at once.
Result<void> check_state_dir(const fs::path& file, bool create_parent) {
    std::error_code ec;
    const fs::path dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
    if (create_parent) {
        fs::create_directories(dir, ec);
    }
    if (!fs::is_directory(dir, ec)) {
        return fail(ErrorCode::invalid_argument, "cannot write the state file {}: {} {}", file.string(),
                    dir.string(), fs::exists(dir, ec) ? "is not a directory" : "does not exist");
    }
    return {};
}

// Written to a temporary file and renamed over the old one, so that an interrupted run leaves
// the previous state whole. Its directory was checked (check_state_dir) before the run.
Result<void> save_state(const fs::path& file, const std::vector<SeenHead>& heads) {
    json::array arr;
    for (const auto& h : heads) {
        arr.push_back(json::object{{"tree_size", h.tree_size},
                                   {"root_hash", hex_encode(translog::view(h.root))},
                                   {"timestamp", h.timestamp}});
    }
    std::error_code ec;
    fs::path tmp = file;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
        out << json::serialize(json::object{{"tree_heads", arr}}) << "\n";
        out.flush();
        if (!out) {
            const int err = errno;
            fs::remove(tmp, ec);
            return fail(ErrorCode::unavailable, "cannot write the state file {}: {}", file.string(),
                        std::strerror(err));
        }
    }
    fs::rename(tmp, file, ec);
    if (ec) {
        fs::remove(tmp, ec);
        return fail(ErrorCode::unavailable, "cannot write the state file {}: {}", file.string(), ec.message());
    }
    return {};
}

// 0: the log is intact; 1: it is not (or could not be checked). Messages on stdout/stderr.
Result<int> verify(const LogVerifyArgs& args) {
    auto client = SELO_TRY(http::Client::create(args.server));
    const fs::path state = args.state.empty() ? default_state_file(args.server) : args.state;
    auto seen = SELO_TRY(load_state(state));
    SELO_TRY_VOID(check_state_dir(state, args.state.empty()));
    // Entries.
    std::vector<Hash> leaves;
    std::uint64_t size = 0;
    for (bool first = true; first || leaves.size() < size; first = false) {
        const std::string path = fmt::format("/api/v1/log/entries?start={}", leaves.size());
        auto res = SELO_TRY(client.get(path));
        if (res.result() == http::Status::internal_server_error) {
            // The server names an entry it cannot read (a damaged stored record).
            boost::system::error_code ec;
            auto problem = json::parse(res.body(), ec);
            const json::value* bad = problem.is_object() ? problem.as_object().if_contains("unreadable_entry") : nullptr;
            if (bad != nullptr && bad->is_number()) {
                std::cout << "FAILED: entry " << bad->to_number<std::uint64_t>()
                          << " is damaged: the server cannot read its stored record\n";
                return 1;
            }
        }
        auto page = SELO_TRY(get_json(client, path));
        if (first) {
            size = SELO_TRY(uint_field(page, "tree_size"));
        }
        const json::value* entries = page.if_contains("entries");
        if (entries == nullptr || !entries->is_array()) {
            return fail(ErrorCode::malformed, "the entries answer has no 'entries' list");
        }
        if (entries->as_array().empty() && leaves.size() < size) {
            std::cout << "FAILED: the log says it has " << size << " entries but serves only "
                      << leaves.size() << "\n";
            return 1;
        }
        for (const auto& v : entries->as_array()) {
            if (leaves.size() == size) {
                break;
            }
            const json::object& e = v.as_object();
            auto index = SELO_TRY(uint_field(e, "index"));
            auto type = SELO_TRY(string_field(e, "type"));
            auto at_ms = SELO_TRY(uint_field(e, "logged_at_ms"));
            auto data = SELO_TRY(base64_decode(SELO_TRY(string_field(e, "data"))));
            auto served = SELO_TRY(hash_field(e, "leaf_hash"));
            if (index != leaves.size()) {
                std::cout << "FAILED: entry " << leaves.size() << " is missing (the log served index "
                          << index << " in its place)\n";
                return 1;
            }
            TimePoint at{std::chrono::milliseconds(at_ms)};
            Hash computed = translog::leaf_hash(translog::leaf_input(type, at, data));
            if (computed != served) {
                std::cout << "FAILED: entry " << index << " (" << type << ", logged at "
                          << string_field(e, "logged_at").value_or("?")
                          << ") has been altered: its contents do not match its leaf hash\n";
                return 1;
            }
            leaves.push_back(computed);
        }
    }
    // Trust anchors for tree head tokens.
    tsa::TrustAnchors anchors;
    if (!args.root.empty()) {
        std::ifstream in(args.root, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        std::string pem = ss.str();
        anchors.roots.push_back(SELO_TRY(pki::Certificate::from_pem_or_der(as_bytes(pem))));
    } else {
        anchors.roots.push_back(SELO_TRY(fetch_certificate(client, "/ca/root.crt")));
    }
    anchors.intermediates.push_back(SELO_TRY(fetch_certificate(client, "/ca/infrastructure.crt")));

    // The revocation status of the certificates tree heads are signed under, as the server's
    // CRLs give it: a tree head signed with a key revoked for a compromise (or after a revocation
    // for another reason) proves nothing (RFC 3161 §4), and is not counted.
    std::vector<pki::ReceivedCrl> crls;
    std::string crl_problem;
    for (const auto& [name, issuer] : {std::pair{std::string(pki::kInfrastructureCaName), anchors.intermediates.front()},
                                       std::pair{std::string(pki::kRootCaName), anchors.roots.front()}}) {
        auto crl = [&]() -> Result<pki::ReceivedCrl> {
            auto res = SELO_TRY(client.get(fmt::format("/crl/{}.crl", name)));
            if (res.result() != http::Status::ok) {
                return fail(ErrorCode::unavailable, "GET /crl/{}.crl: HTTP {}", name, res.result_int());
            }
            return pki::ReceivedCrl::read(as_bytes(res.body()), issuer);
        }();
        if (crl) {
            crls.push_back(std::move(*crl));
        } else if (crl_problem.empty()) {
            crl_problem = crl.error().message;
        }
    }
    const tsa::CertificateStatusLookup crl_status =
        [&crls](const pki::Certificate& issuer, std::string_view serial) -> Result<std::optional<pki::CertificateStatus>> {
        for (const auto& crl : crls) {
            if (crl.issuer().der() == issuer.der()) {
                return std::optional<pki::CertificateStatus>(SELO_TRY(crl.status(serial)));
            }
        }
        return fail(ErrorCode::unavailable, "no CRL of {} could be read", issuer.subject());
    };

    // Tree heads: the server's, each checked, and the ones seen before.
    std::vector<SeenHead> heads;
    std::vector<SeenHead> listed_heads;  // every head the server lists, trusted or not
    std::vector<std::string> untrusted;  // why heads were not counted
    bool status_unchecked = false;
    auto listed = SELO_TRY(get_json(client, "/api/v1/log/tree-heads"));
    for (const auto& v : listed.at("tree_heads").as_array()) {
        const json::object& h = v.as_object();
        SeenHead head{SELO_TRY(uint_field(h, "tree_size")), SELO_TRY(hash_field(h, "root_hash")),
                      SELO_TRY(string_field(h, "timestamp")), "server"};
        auto token = SELO_TRY(base64_decode(SELO_TRY(string_field(h, "token"))));
        Bytes digest = crypto::sha256(translog::tree_head_message(head.tree_size, head.root));
        auto info = tsa::verify_token(token, crypto::DigestAlgorithm::sha256, digest, anchors);
        if (!info) {
            std::cout << "FAILED: the tree head of size " << head.tree_size << " (" << head.timestamp
                      << ") is not validly signed: " << info.error().message << "\n";
            return 1;
        }
        if (info->policy != tsa::kPolicyLogTreeHead) {
            std::cout << "FAILED: the tree head of size " << head.tree_size
                      << " is stamped under policy " << info->policy << ", not the log's\n";
            return 1;
        }
        // The time is the token's; the record served beside it must say the same.
        if (const std::string signed_time = format_utc_millis(info->gen_time); head.timestamp != signed_time) {
            std::cout << "FAILED: the tree head of size " << head.tree_size << " is listed with the time "
                      << head.timestamp << " but its token states " << signed_time
                      << ": the server's record of it was altered\n";
            return 1;
        }
        listed_heads.push_back(head);
        if (auto problem = tsa::token_problem(token, anchors, crl_status, info->gen_time, tsa::ChainUse::token_checked)) {
            if (!problem->indeterminate) {
                untrusted.push_back(fmt::format("the tree head of size {} ({}): {}", head.tree_size, head.timestamp,
                                                problem->why));
                // Nor counted when an earlier run remembered it, before its key was found wanting.
                std::erase_if(seen, [&](const SeenHead& h) {
                    return h.timestamp != kOwnTree && h.tree_size == head.tree_size && h.root == head.root;
                });
                continue;
            }
            status_unchecked = true;
        }
        heads.push_back(std::move(head));
    }
    // The server's heads first among those of one size (a stable sort), so that one the server
    // signs of a tree this client verified before is remembered, and counted, as signed.
    heads.insert(heads.end(), seen.begin(), seen.end());
    std::stable_sort(heads.begin(), heads.end(), [](const auto& a, const auto& b) { return a.tree_size < b.tree_size; });

    const Hash current = translog::root_hash(leaves);
    std::uint64_t last_good = 0;
    for (const auto& h : heads) {
        if (h.tree_size > size) {
            std::cout << "FAILED: a tree head (" << h.source << ", " << h.timestamp << ") covers "
                      << h.tree_size << " entries but the log now has " << size << ": entries were removed\n";
            return 1;
        }
        if (translog::root_hash(std::span(leaves).first(h.tree_size)) != h.root) {
            std::cout << "FAILED: the log is not consistent with the tree head of size " << h.tree_size
                      << " (" << h.source << ", " << h.timestamp << "): ";
            const Hash at_size = translog::root_hash(std::span(leaves).first(h.tree_size));
            if (std::any_of(heads.begin(), heads.end(),
                            [&](const SeenHead& o) { return o.tree_size == h.tree_size && o.root == at_size; })) {
                // Another head of this size matches the log: two different trees of one size.
                std::cout << "another tree head of that size matches the log, so the log has been forked "
                             "(two different histories of "
                          << h.tree_size << " entries)\n";
            } else {
                // Entries whose leaf hashes were rewritten too read correctly one by one; only
                // the roots tell, and they narrow it down to the entries between them. To a client
                // an edited history and a forked one (another tree shown to others) look alike.
                std::cout << "the entries up to it were altered, or the log was forked (another history shown "
                             "to this client before); the first difference is among entries "
                          << last_good << " to " << h.tree_size - 1 << "\n";
            }
            return 1;
        }
        last_good = h.tree_size;
    }
    // The server's own consistency proofs must agree with the recomputed tree as well.
    for (const auto& h : heads) {
        if (h.tree_size > 0 && h.tree_size < size) {
            auto proof = SELO_TRY(get_json(client, fmt::format("/api/v1/log/proof/consistency?first={}&second={}",
                                                               h.tree_size, size)));
            std::vector<Hash> path;
            for (const auto& p : proof.at("consistency_path").as_array()) {
                auto bytes = hex_decode(std::string_view(p.as_string()));
                auto hh = bytes ? translog::hash_from_bytes(*bytes) : std::nullopt;
                if (!hh) {
                    return fail(ErrorCode::malformed, "a consistency proof hash is malformed");
                }
                path.push_back(*hh);
            }
            if (!translog::verify_consistency(h.tree_size, size, h.root, current, path)) {
                std::cout << "FAILED: the server's consistency proof from the tree head of size "
                          << h.tree_size << " to " << size << " does not verify against the tree "
                          << "recomputed from the entries: an entry among " << h.tree_size << " to "
                          << size - 1 << " was altered\n";
                return 1;
            }
        }
    }
    // Every signed tree head this client saw before (and found consistent, above) is still
    // listed: the server keeps them all.
    for (const auto& h : seen) {
        if (h.timestamp != kOwnTree &&
            std::none_of(listed_heads.begin(), listed_heads.end(), [&](const SeenHead& l) {
                return l.tree_size == h.tree_size && l.root == h.root;
            })) {
            std::cout << "FAILED: the signed tree head of size " << h.tree_size << " (" << h.timestamp
                      << ") that this client saw before is no longer listed by the server: its tree heads were "
                         "altered\n";
            return 1;
        }
    }
    // Remember what was seen (deduplicated by size and root), and the tree verified now: a later
    // run then catches a change to entries no signed tree head covers yet.
    heads.push_back({size, current, std::string(kOwnTree), "state file"});
    std::vector<SeenHead> keep;
    for (const auto& h : heads) {
        if (std::none_of(keep.begin(), keep.end(),
                         [&](const SeenHead& k) { return k.tree_size == h.tree_size && k.root == h.root; })) {
            keep.push_back(h);
        }
    }
    // Tree heads the server signed, apart from the trees earlier runs of this client recomputed
    // (the one recomputed now is the log itself).
    const auto own = [](const SeenHead& h) { return h.timestamp == kOwnTree; };
    const auto signed_heads = static_cast<std::size_t>(std::count_if(keep.begin(), keep.end(),
                                                                      [&](const SeenHead& h) { return !own(h); }));
    const auto earlier = static_cast<std::size_t>(std::count_if(keep.begin(), keep.end(), [&](const SeenHead& h) {
        return own(h) && !(h.tree_size == size && h.root == current);
    }));
    std::string summary = fmt::format("{} entries, root {}; consistent with {} signed tree head(s)", size,
                                      hex_encode(translog::view(current)), signed_heads);
    if (earlier > 0) {
        summary += fmt::format(" and {} earlier tree(s) this client verified", earlier);
    }
    for (const auto& why : untrusted) {
        std::cout << "note: not counted, " << why << " (RFC 3161 §4)\n";
    }
    if (status_unchecked) {
        std::cout << "note: the revocation status of the certificates the tree heads are signed under could not "
                     "be checked: "
                  << (crl_problem.empty() ? "a CRL does not cover them" : crl_problem) << "\n";
    }
    // A monitor that cannot remember what it saw cannot catch a later rollback: say so, and
    // fail, rather than report success and silently lose its history.
    if (auto saved = save_state(state, keep); !saved) {
        print_error(fmt::format("{}; the log itself checked out ({}), but the next run cannot compare it with "
                                "this one",
                                saved.error().message, summary));
        return 1;
    }
    std::cout << "OK: " << summary << "\n";
    return 0;
}

}  // namespace

int run_log_verify(const LogVerifyArgs& args) {
    try {
        auto r = verify(args);
        if (!r) {
            print_error(r.error().message);
            return 1;
        }
        return *r;
    } catch (const std::exception& e) {
        // Boost.JSON's at()/as_*() throw on answers of the wrong shape.
        print_error(fmt::format("the log's answers are malformed: {}", e.what()));
        return 1;
    }
}

}  // namespace selo::cli

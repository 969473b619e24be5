#pragma once
// Interfaces through which services make their records evidence: an RFC 3161 time-stamp over a
// digest, and an entry in the transparency log. Services take them as optional collaborators
// (a null pointer: not configured), so a module can be built and tested before the TSA or the
// log exists, and wired to them by the composition root.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/bytes.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"

namespace selo {

// The hash algorithm of a digest to be time-stamped, by OID (e.g. SHA-256
// "2.16.840.1.101.3.4.2.1"), so this header needs no crypto types.
struct TimeStampRequest {
    std::string hash_algorithm_oid;
    Bytes digest;
    bool include_certificate = true;  // RFC 3161 certReq
    // The TSA policy (dotted OID) the token is issued under; empty: the TSA's default. A policy
    // may be one the TSA grants only to in-process callers, so that its tokens tell what they
    // stamp (an EPCM receipt, say) from whatever anyone sends to the public TSA.
    std::string policy;
};

class TimeStamper {
public:
    virtual ~TimeStamper() = default;
    // A DER TimeStampToken (RFC 3161 §2.4.2: a CMS SignedData over TSTInfo) for the digest.
    virtual Result<Bytes> time_stamp(const TimeStampRequest& request) = 0;
};

// What the transparency log answers for an appended entry.
struct LogReceipt {
    std::uint64_t index = 0;  // position of the leaf
    Bytes leaf_hash;          // RFC 9162 §2.1.1: SHA-256(0x00 || entry)
    TimePoint logged_at;
};

class TrustLog {
public:
    virtual ~TrustLog() = default;
    // Appends an entry durably before returning. `type` names what it is ("certificate",
    // "timestamp", "postmark", "delivery-evidence", ...); `entry` is its canonical bytes.
    virtual Result<LogReceipt> append(std::string_view type, ByteView entry) = 0;
    // The same without waiting: `done` gets the receipt once the entry is durable (or the error),
    // possibly on another thread and possibly before this returns. `entry` is copied. By
    // default it appends synchronously and calls `done` on the calling thread.
    virtual void append_async(std::string_view type, ByteView entry,
                              std::function<void(Result<LogReceipt>)> done) {
        done(append(type, entry));
    }
    // The same, except that where append_async would wait for room in a full queue this returns
    // false at once, without calling `done` and without appending: for callers that must not
    // block (an I/O thread). By default: append_async, true.
    virtual bool try_append_async(std::string_view type, ByteView entry,
                                  std::function<void(Result<LogReceipt>)> done) {
        append_async(type, entry, std::move(done));
        return true;
    }
};

}  // namespace selo

#pragma once
// The HTTP/1.1 message types every Selo service handles, and the handler signatures the server
// calls. Handlers are plain functions from request to response, so they are tested without sockets.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>

namespace selo::http {

using Verb = boost::beast::http::verb;
using Status = boost::beast::http::status;
using Field = boost::beast::http::field;

// A request's start line and header fields, before its body has been read.
using RequestHeader = boost::beast::http::request_header<>;
// A complete request, body included (the server reads the whole body before calling a handler).
using Request = boost::beast::http::request<boost::beast::http::string_body>;
// A complete response; the server sets Content-Length, Date, Server and Connection itself.
using Response = boost::beast::http::response<boost::beast::http::string_body>;

// Facts about a request that are not in the message itself.
struct RequestContext {
    std::string remote_address;  // peer IP address, textual
    std::uint16_t remote_port = 0;
    std::uint64_t request_id = 0;  // monotonic per server, for correlating log lines
    // The listener's name (ListenOptions::name; empty for the default listener).
    std::string listener;
    // DER of the certificate the TLS client presented (with proof of possession of its key),
    // not validated: whoever relies on it checks its chain and status. Empty: none.
    std::string client_certificate;
};

// Runs a request to completion. Called on a worker thread; may block (key derivation, signing).
// An exception escaping it becomes a generic 500 and is logged with the request id.
using Handler = std::function<Response(const Request&, const RequestContext&)>;

// Delivers the response of an AsyncHandler. Thread-safe; the first call wins and later calls are
// ignored. When every copy is destroyed without a call, the request is answered with 500 (and
// logged), so a lost completion never leaves a connection hanging.
using Respond = std::function<void(Response&&)>;

// Starts answering a request on a worker thread and hands the response to `respond`, during the
// call or later from any thread (e.g. once a group commit has made the answer durable), so that
// no worker waits. The request and context are valid until the handler has returned *and*
// `respond` has been called: work that outlives the call must copy what it needs. An exception
// escaping the handler before `respond` is called becomes a generic 500. The connection reads
// nothing else meanwhile, so responses on a keep-alive connection stay in request order.
using AsyncHandler = std::function<void(const Request&, const RequestContext&, Respond)>;

// Called on the I/O thread before the worker hop. Returns a response for requests cheap enough to
// answer right there (precomputed OCSP responses, 404s), or nullopt to send the request to the
// worker pool's Handler. Must never block.
using InlineHandler = std::function<std::optional<Response>(const Request&, const RequestContext&)>;

// Called on the I/O thread for a request the InlineHandler left, before the worker hop. To take
// the request it calls `take` once, for the Respond to answer through (now or later, from any
// thread, as an AsyncHandler does), and returns true; returning false without calling `take`
// sends the request to the worker pool. For work that costs CPU but never waits (signing with a
// key in memory, then handing the result to a group commit): it saves the hop to a worker and
// back. It must never block.
using InlineAsyncHandler =
    std::function<bool(const Request&, const RequestContext&, const std::function<Respond()>& take)>;

// Renders an error the router or the server decided on (400, 404, 405, 413, 415, 431, 503...) in
// the shape the client expects: text, problem+json, a protocol's own JSON. The status and message
// are given; the caller keeps the status and adds the headers the status requires (Allow,
// Retry-After, Accept-Encoding). For the server's own errors the request may hold only its header
// (the body unread or partial) or, when not even the request line could be parsed, be empty.
// Called on I/O and worker threads: it must be thread-safe and must not block.
using ErrorRenderer = std::function<Response(const Request&, Status, std::string_view message)>;

}  // namespace selo::http

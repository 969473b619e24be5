#pragma once
// /api/v1/sepbox: agencies send into SEPBox and fetch delivery evidence; people and institutions
// read their own mailbox.

#include "api/api.hpp"

namespace selo::api {

// Registers every /api/v1/sepbox route (answering 503 when the context has no SEPBox service).
void add_sepbox_routes(http::Router& router, ApiContext& ctx);

// The largest request body a signed-in sender may send to POST /api/v1/sepbox/messages:
// a message of `max_message_bytes` in base64 inside JSON, with room for the JSON itself.
[[nodiscard]] std::uint64_t sepbox_body_limit(std::uint64_t max_message_bytes) noexcept;

}  // namespace selo::api

#pragma once
// The enrolment slip: an A4 PDF in Chinese and Portuguese with the username and the one-time
// initial password, for the clerk to print and hand over. Rendered with Pango (CJK shaping)
// on a cairo PDF surface (embedded, subsetted Noto CJK fonts with ToUnicode maps, so the text
// stays searchable and copyable).

#include "account/enrolment.hpp"
#include "core/bytes.hpp"

namespace selo::account {

[[nodiscard]] Result<Bytes> render_enrolment_slip(const SlipContent& content);

}  // namespace selo::account

#pragma once
// An allow-list HTML sanitiser for message bodies shown in a browser: only simple formatting
// elements survive, with no attributes but a link's href (http, https, mailto); scripts, styles,
// event handlers, forms, frames, images and every other way to run code or load an external
// resource are removed. The output is well-formed: every text character escaped, every element
// closed.

#include <string>
#include <string_view>

namespace selo::sepbox {

// Sanitised HTML for display.
[[nodiscard]] std::string sanitise_html(std::string_view html);

// The text of an HTML body (tags dropped, common entities decoded, block ends as new lines),
// for messages sent as HTML only.
[[nodiscard]] std::string html_to_text(std::string_view html);

}  // namespace selo::sepbox

// base64url (RFC 4648 §5, no padding) as ACME's JWS needs, and standard base64.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace certroute::util {

std::string base64url_encode(std::string_view data);
// Accepts unpadded (and tolerates padded) base64url; nullopt on any other character.
std::optional<std::string> base64url_decode(std::string_view text);

std::string base64_encode(std::string_view data);

}  // namespace certroute::util

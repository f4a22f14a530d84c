// A minimal DER writer for the few structures certroute encodes itself
// (SubjectPublicKeyInfo, PKCS#8 PrivateKeyInfo, later the tls-alpn-01
// acmeIdentifier). Encoding these directly avoids OpenSSL 3's encoder
// framework, whose first use costs more than a whole key generation.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace certroute::crypto::der {

std::string tlv(uint8_t tag, std::string_view content);
std::string sequence(std::initializer_list<std::string_view> parts);
// An unsigned big-endian integer (leading zeros stripped, a 0x00 added when the top bit is set).
std::string integer(std::string_view big_endian_unsigned);
std::string small_integer(unsigned value);
std::string octet_string(std::string_view bytes);
std::string bit_string(std::string_view bytes);  // no unused bits
std::string null();
// An OBJECT IDENTIFIER from its dotted form, "1.2.840.10045.2.1".
std::string oid(std::string_view dotted);
// [n] EXPLICIT, constructed context-specific tag around already-encoded content.
std::string explicit_tag(unsigned n, std::string_view encoded);

}  // namespace certroute::crypto::der

// Validation and normalisation of the names that go into certificates and
// route rules: DNS names (IDNA2008 via libidn2), wildcards, IP addresses,
// e-mail addresses and URIs. Pure functions; input is UTF-8 whatever the locale.
#pragma once

#include <string>
#include <string_view>

#include "core/util/error.hpp"

namespace certroute::util {

struct DnsNameOptions {
  bool allow_wildcard = true;  // "*." as the whole left-most label
};

// Returns the name in A-label form, lower-case, without a trailing dot.
// Rejects: empty names, empty labels ("a..b"), labels over 63 octets, names
// over 253 octets, characters outside letters/digits/hyphen, labels starting
// or ending with '-', a '*' anywhere but as the whole left-most label, an
// all-numeric last label (so "999.1.1.1" is not taken for a name), IP
// addresses (with a hint to use --ip), and names IDNA2008 refuses.
Result<std::string> normalize_dns_name(std::string_view name, const DnsNameOptions& options = {});

// Parses an IPv4 or IPv6 address and returns its canonical text form.
Result<std::string> normalize_ip(std::string_view addr);

// Validates local@domain; the domain part is normalised like a DNS name.
Result<std::string> normalize_email(std::string_view email);

// Validates an absolute URI (scheme ":" rest, no spaces or control characters).
Result<std::string> normalize_uri(std::string_view uri);

bool is_ip_address(std::string_view s);

// Whether `host` (a normalised name) is covered by `pattern` (a SAN entry) the
// way browsers match: exact, or "*." matching exactly one whole left-most label.
bool dns_name_matches(std::string_view pattern, std::string_view host);

}  // namespace certroute::util

// Decodes a document tree against the schema the way Traefik's decoder
// (traefik/paerser) does: keys case-insensitive, unknown keys rejected below
// the top level, comma-separated strings for lists, Go's bool/int/duration
// syntax. The tree is canonicalised in place for the model builder.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/routes/diagnostic.hpp"
#include "core/routes/document.hpp"

namespace certroute::routes {

// Checks root against the dynamic-configuration schema. Afterwards every valid
// mapping key has the schema's spelling, every list-typed value is a sequence,
// and entries Traefik would reject are marked invalid (and reported).
void decode_document(DocNode& root, Diagnostics& diags);

// Go's strconv.ParseBool: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False.
std::optional<bool> parse_go_bool(std::string_view s);
// Go's strconv.ParseInt(s, 0, 64): optional sign, 0x/0o/0b/0 prefixes, '_' separators.
std::optional<std::int64_t> parse_go_int(std::string_view s);
// paerser's Duration: a whole number of seconds, or Go's time.ParseDuration syntax.
// Returns nanoseconds.
std::optional<std::int64_t> parse_go_duration(std::string_view s);

}  // namespace certroute::routes

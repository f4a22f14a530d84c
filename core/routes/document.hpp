// The format-neutral tree every reader (YAML, JSON, TOML) produces: mappings,
// sequences and scalars, each with its position. The schema decoder works on
// this tree only, so the three formats are decoded by one piece of code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/routes/diagnostic.hpp"
#include "core/routes/source.hpp"

namespace certroute::routes {

struct DocEntry;

struct DocNode {
  enum class Kind : std::uint8_t { null, scalar, sequence, mapping };
  static constexpr std::size_t no_offset = static_cast<std::size_t>(-1);

  Kind kind = Kind::null;
  bool quoted = false;     // scalar: written as a string (quoted YAML, JSON/TOML string)
  bool templated = false;  // scalar: its source text held a Go template action
  Pos pos;                 // where the node starts
  std::string text;        // scalar: the value as text (numbers and booleans too)
  // scalar: byte offset in the source of text[0] when the source holds the
  // text verbatim (no escapes, one line), so a column inside the value (a rule's
  // column) maps to a column in the file; no_offset otherwise.
  std::size_t text_offset = no_offset;
  std::vector<DocNode> items;     // sequence
  std::vector<DocEntry> entries;  // mapping, in source order

  bool is_null() const { return kind == Kind::null; }
  bool is_scalar() const { return kind == Kind::scalar; }
  bool is_sequence() const { return kind == Kind::sequence; }
  bool is_mapping() const { return kind == Kind::mapping; }
  // The entry with exactly this key (keys are canonical after decoding), or nullptr.
  const DocNode* find(std::string_view key) const;
  const DocEntry* find_entry(std::string_view key) const;
};

struct DocEntry {
  std::string key;      // after decoding: the schema's spelling of the field
  std::string written;  // the key as written in the file
  Pos key_pos;
  DocNode value;
  bool valid = true;  // false when the decoder rejected the entry (unknown key, wrong type)
};

enum class Format { yaml, json, toml };

// Limits that keep hostile input cheap.
struct ReadLimits {
  int max_depth = 128;                 // nesting of mappings and sequences
  std::size_t max_alias_nodes = 100000;  // nodes created by expanding YAML aliases
};

// What a reader needs: the file (text and index) and where its Go template
// actions were (byte ranges), so scalars built from them can be flagged.
struct ReadInput {
  const SourceSet& sources;
  std::uint32_t file;
  std::string_view text;  // the text to parse (templates already replaced)
  const std::vector<std::pair<std::size_t, std::size_t>>& templates;
  ReadLimits limits;
};

// Each reader returns the document's root (a null node for an empty document)
// and reports syntax errors as CR001 diagnostics (false when the file does not
// parse). Duplicate keys in one mapping are reported as CR005 and the later
// entry is dropped.
bool read_yaml(const ReadInput& in, DocNode& root, Diagnostics& diags);
bool read_json(const ReadInput& in, DocNode& root, Diagnostics& diags);
bool read_toml(const ReadInput& in, DocNode& root, Diagnostics& diags);

// Go template actions ("{{ ... }}") in a file: their byte ranges, and the text
// with each action replaced by placeholder characters of the same length (a
// line holding only actions becomes blank), so positions stay right.
struct TemplateScan {
  std::vector<std::pair<std::size_t, std::size_t>> ranges;
  std::string text;
};
TemplateScan replace_go_templates(std::string_view text);

// Marks a scalar as templated when a template range starts inside [begin, end).
bool overlaps_template(const std::vector<std::pair<std::size_t, std::size_t>>& ranges, std::size_t begin,
                       std::size_t end);

}  // namespace certroute::routes

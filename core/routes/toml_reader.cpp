// TOML files through toml++ (header-only here, so no extra shared library at
// start-up), converted to the document tree with positions.
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

#include <charconv>
#include <cstdio>
#include <sstream>

#include "core/routes/document.hpp"

namespace certroute::routes {
namespace {

class Converter {
 public:
  Converter(const ReadInput& in, Diagnostics& diags) : in_(in), diags_(diags) {}

  bool convert(const toml::node& n, DocNode& out, int depth) {
    out.pos = pos(n.source().begin);
    if (depth > in_.limits.max_depth) {
      diags_.add(Code::syntax, out.pos, "nesting deeper than " + std::to_string(in_.limits.max_depth) + " levels");
      return false;
    }
    if (const auto* t = n.as_table()) {
      out.kind = DocNode::Kind::mapping;
      for (auto&& [k, v] : *t) {
        DocEntry e;
        e.key = std::string(k.str());
        e.written = e.key;
        e.key_pos = k.source().begin ? pos(k.source().begin) : pos(v.source().begin);
        if (!convert(v, e.value, depth + 1)) return false;
        out.entries.push_back(std::move(e));
      }
      return true;
    }
    if (const auto* a = n.as_array()) {
      out.kind = DocNode::Kind::sequence;
      for (const auto& v : *a) {
        DocNode item;
        if (!convert(v, item, depth + 1)) return false;
        out.items.push_back(std::move(item));
      }
      return true;
    }
    out.kind = DocNode::Kind::scalar;
    if (const auto* s = n.as_string()) {
      out.quoted = true;
      out.text = s->get();
      locate_text(n, out);
    } else if (const auto* i = n.as_integer()) {
      out.text = std::to_string(i->get());
    } else if (const auto* f = n.as_floating_point()) {
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof buf, f->get());
      out.text.assign(buf, r.ptr);
    } else if (const auto* b = n.as_boolean()) {
      out.text = b->get() ? "true" : "false";
    } else {
      // Dates and times: their text form; no Traefik field takes one.
      std::ostringstream os;
      if (const auto* d = n.as_date()) os << d->get();
      else if (const auto* t = n.as_time()) os << t->get();
      else if (const auto* dt = n.as_date_time()) os << dt->get();
      out.text = os.str();
    }
    return true;
  }

 private:
  Pos pos(const toml::source_position& p) const {
    if (!p) return Pos{in_.file, 0, 0};
    return Pos{in_.file, static_cast<int>(p.line), static_cast<int>(p.column)};
  }

  // Where the string's text starts in the file, when it is there verbatim.
  void locate_text(const toml::node& n, DocNode& out) {
    const auto& b = n.source().begin;
    if (!b) return;
    const SourceFile& f = in_.sources.at(in_.file);
    std::size_t off = f.offset_of(static_cast<int>(b.line), static_cast<int>(b.column));
    std::string_view src = in_.text;
    if (off >= src.size()) return;
    std::size_t start = off;
    if (src[off] == '"' || src[off] == '\'') ++start;
    if (src.substr(start, out.text.size()) == out.text && out.text.find('\n') == std::string::npos)
      out.text_offset = start;
    out.templated = overlaps_template(in_.templates, off, start + out.text.size() + 1);
  }

  const ReadInput& in_;
  Diagnostics& diags_;
};

// toml++ builds a table per dotted-key part without a depth limit, and frees
// the tree recursively: refuse absurdly long dotted keys before parsing.
bool dotted_keys_too_deep(std::string_view text, int max_depth, std::size_t& where) {
  std::size_t line_start = 0;
  while (line_start < text.size()) {
    std::size_t end = text.find('\n', line_start);
    if (end == std::string_view::npos) end = text.size();
    int dots = 0;
    char quote = 0;
    for (std::size_t i = line_start; i < end; ++i) {
      char c = text[i];
      if (quote) {
        if (c == quote) quote = 0;
        continue;
      }
      if (c == '"' || c == '\'') quote = c;
      else if (c == '#') break;
      else if (c == '.') ++dots;
      if (dots > max_depth) {
        where = line_start;
        return true;
      }
      if (c == '=' || c == '{' || c == ',') dots = 0;  // a value or the next key starts
    }
    line_start = end + 1;
  }
  return false;
}

// toml++ 3.3 reaches __builtin_unreachable() (undefined behaviour) when it
// tests some non-ASCII characters for whitespace: wherever the grammar
// expects whitespace outside a string, and after a line-ending backslash in a
// multi-line string. Outside strings and comments TOML allows ASCII only, so
// such input is refused here, before toml++ sees it.
bool unsafe_non_ascii(std::string_view t, std::size_t& where, std::string& why) {
  enum class S { normal, comment, basic, literal, ml_basic, ml_literal };
  const std::string_view ml_basic_quote = "\"\"\"", ml_literal_quote = "'''";
  S st = S::normal;
  int depth = 0;             // open arrays and inline tables of values
  bool line_start = true;    // only blanks so far on this line
  for (std::size_t i = 0; i < t.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(t[i]);
    switch (st) {
      case S::normal:
        if (c >= 0x80) {
          where = i;
          why = "non-ASCII character outside a string or comment";
          return true;
        }
        if (c == '\n') {
          line_start = true;
          break;
        }
        if (c == ' ' || c == '\t' || c == '\r') break;
        if (c == '[' && line_start && depth == 0) {
          // A table header: toml++ asserts (undefined behaviour when built
          // without assertions) unless a key starts after "[" or "[[".
          std::size_t j = i + 1;
          if (j < t.size() && t[j] == '[') ++j;
          while (j < t.size() && (t[j] == ' ' || t[j] == '\t')) ++j;
          char k = j < t.size() ? t[j] : '\n';
          bool key_start = (k >= 'a' && k <= 'z') || (k >= 'A' && k <= 'Z') || (k >= '0' && k <= '9') || k == '_' ||
                           k == '-' || k == '"' || k == '\'' || k == ']';
          if (!key_start) {
            where = j;
            why = "a table header must start with a key";
            return true;
          }
          line_start = false;
          i = j - 1;
          break;
        }
        line_start = false;
        if (c == '[' || c == '{') ++depth;
        else if ((c == ']' || c == '}') && depth > 0) --depth;
        if (c == '#') {
          st = S::comment;
        } else if (t.substr(i, 3) == ml_basic_quote) {
          st = S::ml_basic;
          i += 2;
        } else if (t.substr(i, 3) == ml_literal_quote) {
          st = S::ml_literal;
          i += 2;
        } else if (c == '"') {
          st = S::basic;
        } else if (c == '\'') {
          st = S::literal;
        }
        break;
      case S::comment:
        if (c == '\n') {
          st = S::normal;
          line_start = true;
        }
        break;
      case S::basic:
        if (c == '\\') ++i;
        else if (c == '"' || c == '\n') st = S::normal;
        break;
      case S::literal:
        if (c == '\'' || c == '\n') st = S::normal;
        break;
      case S::ml_basic:
        if (c == '\\') {
          std::size_t j = i + 1;
          while (j < t.size() && (t[j] == ' ' || t[j] == '\t')) ++j;
          if (j < t.size() && (t[j] == '\n' || t[j] == '\r')) {
            while (j < t.size() && (t[j] == ' ' || t[j] == '\t' || t[j] == '\n' || t[j] == '\r')) ++j;
            if (j < t.size() && static_cast<unsigned char>(t[j]) >= 0x80) {
              where = j;
              why = "non-ASCII character right after a line-ending backslash (not supported by certroute's TOML reader)";
              return true;
            }
            i = j - 1;
          } else {
            ++i;
          }
        } else if (t.substr(i, 3) == ml_basic_quote) {
          while (i + 3 < t.size() && t[i + 3] == '"') ++i;  // up to two more quotes belong to the content
          i += 2;
          st = S::normal;
        }
        break;
      case S::ml_literal:
        if (t.substr(i, 3) == ml_literal_quote) {
          while (i + 3 < t.size() && t[i + 3] == '\'') ++i;
          i += 2;
          st = S::normal;
        }
        break;
    }
  }
  return false;
}

}  // namespace

bool read_toml(const ReadInput& in, DocNode& root, Diagnostics& diags) {
  std::size_t where = 0;
  if (dotted_keys_too_deep(in.text, in.limits.max_depth, where)) {
    diags.add(Code::syntax, in.sources.pos_at(in.file, where),
              "invalid TOML: dotted key nests deeper than " + std::to_string(in.limits.max_depth) + " levels");
    return false;
  }
  std::string why;
  if (unsafe_non_ascii(in.text, where, why)) {
    diags.add(Code::syntax, in.sources.pos_at(in.file, where), "invalid TOML: " + why);
    return false;
  }
  toml::parse_result result = toml::parse(in.text);
  if (!result) {
    const toml::parse_error& e = result.error();
    const auto& b = e.source().begin;
    Pos p{in.file, b ? static_cast<int>(b.line) : 0, b ? static_cast<int>(b.column) : 0};
    diags.add(Code::syntax, p, "invalid TOML: " + std::string(e.description()));
    return false;
  }
  Converter c(in, diags);
  return c.convert(result.table(), root, 0);
}

}  // namespace certroute::routes

// JSON (RFC 8259, strict) into the document tree. A small recursive-descent
// parser of our own: exact positions, a depth limit, and no exceptions.
#include <cstdint>
#include <unordered_set>

#include "core/routes/document.hpp"

namespace certroute::routes {
namespace {

class JsonParser {
 public:
  JsonParser(const ReadInput& in, Diagnostics& diags) : in_(in), s_(in.text), diags_(diags) {}

  bool parse(DocNode& root) {
    skip_ws();
    if (i_ == s_.size()) return true;  // empty file: null root
    if (!value(root, 0)) return false;
    skip_ws();
    if (i_ != s_.size()) return error("unexpected text after the JSON value");
    return true;
  }

 private:
  bool error(const std::string& msg) {
    diags_.add(Code::syntax, in_.sources.pos_at(in_.file, i_), "invalid JSON: " + msg);
    return false;
  }

  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }

  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return error("unexpected character '" + std::string(1, s_[i_]) + "'");
    i_ += word.size();
    return true;
  }

  bool value(DocNode& out, int depth) {
    skip_ws();
    if (i_ >= s_.size()) return error("unexpected end of file");
    out.pos = in_.sources.pos_at(in_.file, i_);
    char c = s_[i_];
    if (c == '{' || c == '[') {
      if (depth >= in_.limits.max_depth)
        return error("nesting deeper than " + std::to_string(in_.limits.max_depth) + " levels");
      return c == '{' ? object(out, depth) : array(out, depth);
    }
    if (c == '"') {
      out.kind = DocNode::Kind::scalar;
      out.quoted = true;
      std::size_t start = i_ + 1;
      if (!string(out.text)) return false;
      if (s_.substr(start, out.text.size()) == out.text && i_ == start + out.text.size() + 1) out.text_offset = start;
      return true;
    }
    if (c == 't' || c == 'f') {
      std::string_view w = c == 't' ? "true" : "false";
      if (!literal(w)) return false;
      out.kind = DocNode::Kind::scalar;
      out.text = std::string(w);
      return true;
    }
    if (c == 'n') return literal("null");
    if (c == '-' || (c >= '0' && c <= '9')) return number(out);
    return error("unexpected character '" + std::string(1, c) + "'");
  }

  bool number(DocNode& out) {
    std::size_t start = i_;
    auto digits = [&] {
      std::size_t b = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      return i_ > b;
    };
    if (s_[i_] == '-') ++i_;
    if (i_ < s_.size() && s_[i_] == '0') {
      ++i_;
    } else if (!digits()) {
      return error("invalid number");
    }
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (!digits()) return error("invalid number");
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (!digits()) return error("invalid number");
    }
    out.kind = DocNode::Kind::scalar;
    out.text = std::string(s_.substr(start, i_ - start));
    out.text_offset = start;
    return true;
  }

  bool hex4(std::uint32_t& v) {
    if (i_ + 4 > s_.size()) return error("invalid \\u escape");
    v = 0;
    for (int k = 0; k < 4; ++k) {
      char h = s_[i_++];
      v <<= 4;
      if (h >= '0' && h <= '9') v |= static_cast<std::uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f') v |= static_cast<std::uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') v |= static_cast<std::uint32_t>(h - 'A' + 10);
      else return error("invalid \\u escape");
    }
    return true;
  }

  bool string(std::string& out) {
    ++i_;  // opening quote
    while (true) {
      if (i_ >= s_.size()) return error("unterminated string");
      unsigned char c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c < 0x20) return error("control character in a string");
      if (c != '\\') {
        out += static_cast<char>(c);
        ++i_;
        continue;
      }
      ++i_;
      if (i_ >= s_.size()) return error("unterminated string");
      char e = s_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF && s_.substr(i_, 2) == "\\u") {
            std::size_t save = i_;
            i_ += 2;
            std::uint32_t lo = 0;
            if (!hex4(lo)) return false;
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else {
              i_ = save;
              cp = 0xFFFD;
            }
          } else if (cp >= 0xD800 && cp <= 0xDFFF) {
            cp = 0xFFFD;  // a lone surrogate, as Go decodes it
          }
          append_utf8(out, cp);
          break;
        }
        default: --i_; return error(std::string("invalid escape '\\") + e + "'");
      }
    }
  }

  bool object(DocNode& out, int depth) {
    out.kind = DocNode::Kind::mapping;
    ++i_;
    skip_ws();
    if (i_ < s_.size() && s_[i_] == '}') {
      ++i_;
      return true;
    }
    std::unordered_set<std::string> seen;
    while (true) {
      skip_ws();
      if (i_ >= s_.size() || s_[i_] != '"') return error("expected a string key");
      Pos key_pos = in_.sources.pos_at(in_.file, i_);
      std::string key;
      if (!string(key)) return false;
      skip_ws();
      if (i_ >= s_.size() || s_[i_] != ':') return error("expected ':' after the key");
      ++i_;
      DocNode v;
      if (!value(v, depth + 1)) return false;
      if (!seen.insert(key).second) {
        diags_.add(Code::duplicate_key, key_pos, "duplicate key '" + key + "' in this object");
      } else {
        DocEntry e;
        e.key = key;
        e.written = std::move(key);
        e.key_pos = key_pos;
        e.value = std::move(v);
        out.entries.push_back(std::move(e));
      }
      skip_ws();
      if (i_ >= s_.size()) return error("unexpected end of file in an object");
      if (s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (s_[i_] == '}') {
        ++i_;
        return true;
      }
      return error("expected ',' or '}'");
    }
  }

  bool array(DocNode& out, int depth) {
    out.kind = DocNode::Kind::sequence;
    ++i_;
    skip_ws();
    if (i_ < s_.size() && s_[i_] == ']') {
      ++i_;
      return true;
    }
    while (true) {
      DocNode v;
      if (!value(v, depth + 1)) return false;
      out.items.push_back(std::move(v));
      skip_ws();
      if (i_ >= s_.size()) return error("unexpected end of file in an array");
      if (s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (s_[i_] == ']') {
        ++i_;
        return true;
      }
      return error("expected ',' or ']'");
    }
  }

  const ReadInput& in_;
  std::string_view s_;
  Diagnostics& diags_;
  std::size_t i_ = 0;
};

}  // namespace

bool read_json(const ReadInput& in, DocNode& root, Diagnostics& diags) {
  JsonParser p(in, diags);
  return p.parse(root);
}

}  // namespace certroute::routes

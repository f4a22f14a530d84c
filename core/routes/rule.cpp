#include "core/routes/rule.hpp"

#include <algorithm>
#include <array>

#include <re2/re2.h>

namespace certroute::routes {
namespace {

// ---- matcher table ------------------------------------------------------------

struct MatcherInfo {
  Matcher m;
  std::string_view name;
  RuleKind kind;
  bool v3;        // exists in v3 syntax
  bool v2;        // exists in v2 syntax
  int v3_min, v3_max;  // argument counts in v3
};

constexpr int many = 1 << 20;

// HTTP and TCP matchers of Traefik v3 (pkg/muxer/http, pkg/muxer/tcp) and v2.
constexpr std::array kMatchers = {
    MatcherInfo{Matcher::host, "Host", RuleKind::http, true, true, 1, 1},
    MatcherInfo{Matcher::host_regexp, "HostRegexp", RuleKind::http, true, true, 1, 1},
    MatcherInfo{Matcher::path, "Path", RuleKind::http, true, true, 1, 1},
    MatcherInfo{Matcher::path_prefix, "PathPrefix", RuleKind::http, true, true, 1, 1},
    MatcherInfo{Matcher::path_regexp, "PathRegexp", RuleKind::http, true, false, 1, 1},
    MatcherInfo{Matcher::method, "Method", RuleKind::http, true, true, 1, 1},
    MatcherInfo{Matcher::header, "Header", RuleKind::http, true, false, 2, 2},
    MatcherInfo{Matcher::header_regexp, "HeaderRegexp", RuleKind::http, true, false, 2, 2},
    MatcherInfo{Matcher::query, "Query", RuleKind::http, true, true, 1, 2},
    MatcherInfo{Matcher::query_regexp, "QueryRegexp", RuleKind::http, true, false, 2, 2},
    MatcherInfo{Matcher::client_ip, "ClientIP", RuleKind::http, true, true, 1, 1},
    MatcherInfo{Matcher::host_header, "HostHeader", RuleKind::http, false, true, 0, 0},
    MatcherInfo{Matcher::headers, "Headers", RuleKind::http, false, true, 0, 0},
    MatcherInfo{Matcher::headers_regexp, "HeadersRegexp", RuleKind::http, false, true, 0, 0},
    MatcherInfo{Matcher::host_sni, "HostSNI", RuleKind::tcp, true, true, 1, 1},
    MatcherInfo{Matcher::host_sni_regexp, "HostSNIRegexp", RuleKind::tcp, true, true, 1, 1},
    MatcherInfo{Matcher::client_ip, "ClientIP", RuleKind::tcp, true, true, 1, 1},
    MatcherInfo{Matcher::alpn, "ALPN", RuleKind::tcp, true, true, 1, 1},
};

char lower_c(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char upper_c(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
std::string lower(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = lower_c(c);
  return o;
}
std::string upper(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = upper_c(c);
  return o;
}

// Traefik registers each matcher as written, lower-case, upper-case, and
// with only the first letter upper-case (strings.Title(strings.ToLower(name))).
bool spelling_accepted(std::string_view written, std::string_view canonical) {
  if (written == canonical) return true;
  std::string l = lower(canonical);
  if (written == l || written == upper(canonical)) return true;
  std::string title = l;
  if (!title.empty()) title[0] = upper_c(title[0]);
  return written == title;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (lower_c(a[i - 1]) == lower_c(b[j - 1]) ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string bt(std::string_view s) { return "`" + std::string(s) + "`"; }

// ---- lexer --------------------------------------------------------------------

enum class Tok { ident, string, number, lparen, rparen, comma, and_, or_, not_, end, bad };

struct Token {
  Tok type = Tok::end;
  std::size_t begin = 0, end = 0;
  std::string value;  // ident name or decoded string
  std::string error;  // for bad
};

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  Token next() {
    skip_space();
    Token t;
    t.begin = i_;
    if (i_ >= s_.size()) {
      t.type = Tok::end;
      t.end = i_;
      return t;
    }
    char c = s_[i_];
    auto single = [&](Tok type) {
      ++i_;
      t.type = type;
      t.end = i_;
      return t;
    };
    if (c == '(') return single(Tok::lparen);
    if (c == ')') return single(Tok::rparen);
    if (c == ',') return single(Tok::comma);
    if (c == '!') {
      if (i_ + 1 < s_.size() && s_[i_ + 1] == '=') return bad(t, 2, "unexpected '!=': rules have no comparisons");
      return single(Tok::not_);
    }
    if (c == '&') {
      if (i_ + 1 < s_.size() && s_[i_ + 1] == '&') {
        i_ += 2;
        t.type = Tok::and_;
        t.end = i_;
        return t;
      }
      return bad(t, 1, "unexpected '&': the and-operator is '&&'");
    }
    if (c == '|') {
      if (i_ + 1 < s_.size() && s_[i_ + 1] == '|') {
        i_ += 2;
        t.type = Tok::or_;
        t.end = i_;
        return t;
      }
      return bad(t, 1, "unexpected '|': the or-operator is '||'");
    }
    if (c == '`') return raw_string(t);
    if (c == '"') return interpreted_string(t);
    if (c == '\'') return bad(t, 1, "a string in single quotes: use backticks (`...`) or double quotes");
    if (is_ident_start(c)) {
      while (i_ < s_.size() && is_ident_char(s_[i_])) ++i_;
      t.type = Tok::ident;
      t.end = i_;
      t.value = std::string(s_.substr(t.begin, i_ - t.begin));
      return t;
    }
    if (c >= '0' && c <= '9') {
      while (i_ < s_.size() && (is_ident_char(s_[i_]) || s_[i_] == '.')) ++i_;
      t.type = Tok::number;
      t.end = i_;
      return t;
    }
    std::size_t len = 1;
    unsigned char uc = static_cast<unsigned char>(c);
    if (uc >= 0x80) {
      while (t.begin + len < s_.size() && (static_cast<unsigned char>(s_[t.begin + len]) & 0xC0) == 0x80) ++len;
    }
    std::string shown = uc < 0x20 ? "a control character" : "'" + std::string(s_.substr(t.begin, len)) + "'";
    return bad(t, len, "unexpected character " + shown);
  }

 private:
  static bool is_ident_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  }
  static bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

  void skip_space() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++i_;
      } else if (c == '/' && i_ + 1 < s_.size() && s_[i_ + 1] == '*') {  // Go comments
        auto e = s_.find("*/", i_ + 2);
        i_ = e == std::string_view::npos ? s_.size() : e + 2;
      } else if (c == '/' && i_ + 1 < s_.size() && s_[i_ + 1] == '/') {
        auto e = s_.find('\n', i_);
        i_ = e == std::string_view::npos ? s_.size() : e;
      } else {
        break;
      }
    }
  }

  Token bad(Token& t, std::size_t len, std::string msg) {
    i_ = t.begin + len;
    t.type = Tok::bad;
    t.end = i_;
    t.error = std::move(msg);
    return t;
  }

  Token raw_string(Token& t) {
    auto close = s_.find('`', i_ + 1);
    if (close == std::string_view::npos) return bad(t, s_.size() - i_, "unterminated string: missing closing '`'");
    for (std::size_t k = i_ + 1; k < close; ++k)
      if (s_[k] != '\r') t.value += s_[k];  // Go drops carriage returns from raw strings
    i_ = close + 1;
    t.type = Tok::string;
    t.end = i_;
    return t;
  }

  static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // Go's interpreted string literal.
  Token interpreted_string(Token& t) {
    std::size_t k = i_ + 1;
    std::string v;
    while (true) {
      if (k >= s_.size() || s_[k] == '\n') {
        return bad(t, k - t.begin, "unterminated string: missing closing '\"'");
      }
      char c = s_[k];
      if (c == '"') break;
      if (c != '\\') {
        v += c;
        ++k;
        continue;
      }
      std::size_t esc = k;
      if (k + 1 >= s_.size()) return bad(t, k - t.begin, "unterminated string: missing closing '\"'");
      char e = s_[k + 1];
      k += 2;
      switch (e) {
        case 'a': v += '\a'; break;
        case 'b': v += '\b'; break;
        case 'f': v += '\f'; break;
        case 'n': v += '\n'; break;
        case 'r': v += '\r'; break;
        case 't': v += '\t'; break;
        case 'v': v += '\v'; break;
        case '\\': v += '\\'; break;
        case '"': v += '"'; break;
        case 'x':
        case 'u':
        case 'U': {
          int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          std::uint32_t cp = 0;
          for (int j = 0; j < n; ++j) {
            int h = k < s_.size() ? hexval(s_[k]) : -1;
            if (h < 0) {
              i_ = esc;
              return bad_at(t, esc, 2, "invalid escape in a double-quoted string");
            }
            cp = cp * 16 + static_cast<std::uint32_t>(h);
            ++k;
          }
          if (e == 'x') v += static_cast<char>(cp);
          else if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return bad_at(t, esc, 2, "invalid Unicode escape");
          else append_utf8(v, cp);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            std::uint32_t val = static_cast<std::uint32_t>(e - '0');
            for (int j = 0; j < 2; ++j) {
              if (k >= s_.size() || s_[k] < '0' || s_[k] > '7') return bad_at(t, esc, 2, "invalid octal escape");
              val = val * 8 + static_cast<std::uint32_t>(s_[k++] - '0');
            }
            if (val > 255) return bad_at(t, esc, 2, "invalid octal escape");
            v += static_cast<char>(val);
            break;
          }
          return bad_at(t, esc, 2,
                        std::string("unknown escape '\\") + e +
                            "' in a double-quoted string (backslashes in regular expressions need backticks)");
      }
    }
    i_ = k + 1;
    t.type = Tok::string;
    t.end = i_;
    t.value = std::move(v);
    return t;
  }

  Token bad_at(Token& t, std::size_t at, std::size_t len, std::string msg) {
    t.begin = at;
    i_ = std::min(at + len, s_.size());
    t.type = Tok::bad;
    t.end = i_;
    t.error = std::move(msg);
    return t;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

// ---- parser -------------------------------------------------------------------

struct ParseError {
  std::size_t begin, end;
  std::string message;
};

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s), lex_(s) { advance(); }

  std::unique_ptr<RuleExpr> parse(std::optional<ParseError>& err) {
    auto e = std::make_unique<RuleExpr>();
    if (cur_.type == Tok::end) {
      err = ParseError{0, 0, "the rule is empty"};
      return nullptr;
    }
    if (!or_expr(*e, 0, err)) return nullptr;
    if (cur_.type != Tok::end) {
      err = ParseError{cur_.begin, cur_.end, unexpected("after the end of the expression")};
      if (cur_.type == Tok::ident || cur_.type == Tok::lparen)
        err->message += " (a missing '&&' or '||'?)";
      return nullptr;
    }
    return e;
  }

 private:
  static constexpr int max_depth = 100;

  void advance() { cur_ = lex_.next(); }

  std::string unexpected(const std::string& where) const {
    switch (cur_.type) {
      case Tok::end: return "unexpected end of the rule " + where;
      case Tok::bad: return cur_.error;
      case Tok::string: return "unexpected string " + where;
      case Tok::number: return "unexpected number " + where;
      default:
        return "unexpected '" + std::string(s_.substr(cur_.begin, cur_.end - cur_.begin)) + "' " + where;
    }
  }

  bool fail(std::optional<ParseError>& err, const std::string& where) {
    if (!err) err = ParseError{cur_.begin, std::max(cur_.end, cur_.begin + 1), unexpected(where)};
    return false;
  }

  bool or_expr(RuleExpr& out, int depth, std::optional<ParseError>& err) {
    if (depth > max_depth) {
      err = ParseError{cur_.begin, cur_.end, "the rule nests deeper than " + std::to_string(max_depth) + " levels"};
      return false;
    }
    if (!and_expr(out, depth, err)) return false;
    while (cur_.type == Tok::or_) {
      advance();
      RuleExpr rhs;
      if (!and_expr(rhs, depth, err)) return false;
      combine(out, std::move(rhs), RuleExpr::Op::or_);
    }
    return true;
  }

  bool and_expr(RuleExpr& out, int depth, std::optional<ParseError>& err) {
    if (!unary(out, depth, err)) return false;
    while (cur_.type == Tok::and_) {
      advance();
      RuleExpr rhs;
      if (!unary(rhs, depth, err)) return false;
      combine(out, std::move(rhs), RuleExpr::Op::and_);
    }
    return true;
  }

  static void combine(RuleExpr& lhs, RuleExpr&& rhs, RuleExpr::Op op) {
    RuleExpr n;
    n.op = op;
    n.begin = lhs.begin;
    n.end = rhs.end;
    n.children.push_back(std::move(lhs));
    n.children.push_back(std::move(rhs));
    lhs = std::move(n);
  }

  bool unary(RuleExpr& out, int depth, std::optional<ParseError>& err) {
    if (depth > max_depth) {
      err = ParseError{cur_.begin, cur_.end, "the rule nests deeper than " + std::to_string(max_depth) + " levels"};
      return false;
    }
    if (cur_.type == Tok::not_) {
      std::size_t begin = cur_.begin;
      advance();
      RuleExpr inner;
      if (!unary(inner, depth + 1, err)) return false;
      out.op = RuleExpr::Op::not_;
      out.begin = begin;
      out.end = inner.end;
      out.children.push_back(std::move(inner));
      return true;
    }
    if (cur_.type == Tok::lparen) {
      std::size_t begin = cur_.begin;
      advance();
      if (!or_expr(out, depth + 1, err)) return false;
      if (cur_.type != Tok::rparen) return fail(err, "where ')' was expected");
      out.begin = begin;
      out.end = cur_.end;
      advance();
      return true;
    }
    if (cur_.type == Tok::ident) return call(out, err);
    if (cur_.type == Tok::string) {
      err = ParseError{cur_.begin, cur_.end, "unexpected string: a string must be a matcher's argument, as in Host(`example.com`)"};
      return false;
    }
    return fail(err, "where a matcher was expected");
  }

  bool call(RuleExpr& out, std::optional<ParseError>& err) {
    out.op = RuleExpr::Op::matcher;
    out.name = cur_.value;
    out.begin = cur_.begin;
    out.name_end = cur_.end;
    advance();
    if (cur_.type != Tok::lparen) return fail(err, "after '" + out.name + "': a matcher needs '(' and its arguments");
    advance();
    while (cur_.type != Tok::rparen) {
      if (cur_.type != Tok::string) {
        if (cur_.type == Tok::ident || cur_.type == Tok::number) {
          err = ParseError{cur_.begin, cur_.end,
                           "matcher arguments must be strings in backticks or double quotes, as in Host(`example.com`)"};
          return false;
        }
        return fail(err, "in the arguments of " + out.name);
      }
      RuleArg a;
      a.value = std::move(cur_.value);
      a.begin = cur_.begin;
      a.end = cur_.end;
      out.args.push_back(std::move(a));
      advance();
      if (cur_.type == Tok::comma) {
        advance();
        continue;
      }
      if (cur_.type != Tok::rparen) return fail(err, "where ',' or ')' was expected");
    }
    out.end = cur_.end;
    advance();
    return true;
  }

  std::string_view s_;
  Lexer lex_;
  Token cur_;
};

// ---- checks -------------------------------------------------------------------

bool is_template_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) return false;
    if (std::string_view("()<>@,;:\\\"/[]?={}").find(c) != std::string_view::npos) return false;
  }
  return true;
}

// HostSNI's accepted characters (Traefik's hostOrIP: ^[[:word:]\.\-\:]+$).
bool is_host_or_ip(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
          c == '-' || c == ':'))
      return false;
  return true;
}

class Checker {
 public:
  explicit Checker(Rule& rule) : rule_(rule) {}

  void check(RuleExpr& e) {
    if (e.op != RuleExpr::Op::matcher) {
      for (auto& c : e.children) check(c);
      return;
    }
    matcher(e);
  }

 private:
  void issue(Code code, std::size_t b, std::size_t e, std::string msg, std::string hint = {}) {
    rule_.issues.push_back(RuleIssue{code, b, e, std::move(msg), std::move(hint)});
  }

  const MatcherInfo* lookup(std::string_view name, RuleKind kind, RuleSyntax syntax, bool any_syntax) {
    for (const auto& m : kMatchers) {
      if (m.kind != kind) continue;
      if (!any_syntax && !(syntax == RuleSyntax::v3 ? m.v3 : m.v2)) continue;
      if (spelling_accepted(name, m.name)) return &m;
    }
    return nullptr;
  }

  std::string args_text(const RuleExpr& e) const {
    std::string s;
    for (std::size_t i = 0; i < e.args.size(); ++i)
      s += (i ? ", " : "") + rule_.text.substr(e.args[i].begin, e.args[i].end - e.args[i].begin);
    return s;
  }

  std::string join_calls(std::string_view name, const RuleExpr& e, std::string_view op) const {
    std::string s;
    for (std::size_t i = 0; i < e.args.size(); ++i) s += (i ? std::string(" ") + std::string(op) + " " : "") + std::string(name) + "(" + bt(e.args[i].value) + ")";
    return s;
  }

  void matcher(RuleExpr& e) {
    const RuleKind kind = rule_.kind;
    const RuleSyntax syntax = rule_.syntax;
    const std::size_t nb = e.begin, ne = e.name_end;
    const MatcherInfo* info = lookup(e.name, kind, syntax, false);
    if (!info) {
      unknown_matcher(e);
      return;
    }
    e.matcher = info->m;
    const std::size_t n = e.args.size();
    if (syntax == RuleSyntax::v3) {
      if (n < static_cast<std::size_t>(info->v3_min)) {
        std::string want = info->v3_min == info->v3_max ? std::to_string(info->v3_min)
                                                        : std::to_string(info->v3_min) + " or " + std::to_string(info->v3_max);
        issue(Code::matcher_arguments, nb, e.end,
              std::string(info->name) + " takes " + want + " argument" + (info->v3_max == 1 ? "" : "s") + ", not " +
                  std::to_string(n));
        return;
      }
      if (n > static_cast<std::size_t>(info->v3_max)) {
        many_args_v3(e, *info);
        return;
      }
    } else {
      std::size_t need = (info->m == Matcher::headers || info->m == Matcher::headers_regexp) ? 2 : 1;
      bool exact = need == 2;
      if (n < need || (exact && n != need)) {
        issue(Code::matcher_arguments, nb, e.end,
              std::string(info->name) + " takes " + (exact ? "2 arguments" : "at least 1 argument") + ", not " +
                  std::to_string(n));
        return;
      }
    }
    (void)ne;
    for (auto& a : e.args) a.normalized = a.value;
    switch (info->m) {
      case Matcher::host:
      case Matcher::host_header:
        for (auto& a : e.args) check_host(a);
        break;
      case Matcher::host_regexp:
        for (auto& a : e.args) {
          if (syntax == RuleSyntax::v2) {
            compile_v2_template(a, "[^.]+", true, true);
          } else {
            if (auto re = template_to_regex(a.value, "[^.]+"); re && compiles(*re) && !looks_like_regex_only(a.value)) {
              issue(Code::v2_meaning_changed, a.begin, a.end,
                    "v2 template in HostRegexp: Traefik v3 reads " + bt(a.value) + " as a regular expression",
                    "HostRegexp(" + bt("^" + *re + "$") + ")");
            }
            compile(a, a.value);
          }
        }
        break;
      case Matcher::path:
      case Matcher::path_prefix: {
        const bool prefix = info->m == Matcher::path_prefix;
        for (auto& a : e.args) {
          if (a.value.empty() || a.value[0] != '/') {
            issue(Code::invalid_matcher_value, a.begin, a.end,
                  std::string(info->name) + " needs a path starting with '/', not " + bt(a.value),
                  std::string(info->name) + "(" + bt("/" + a.value) + ")");
            continue;
          }
          auto re = template_to_regex(a.value, "[^/]+");
          if (!re) continue;
          if (syntax == RuleSyntax::v2) {
            compile_v2_template(a, "[^/]+", !prefix, false);
          } else {
            issue(Code::v2_meaning_changed, a.begin, a.end,
                  "v2 path template: Traefik v3 matches " + bt(a.value) + " literally, braces included",
                  "PathRegexp(" + bt("^" + *re + (prefix ? "" : "$")) + ")");
          }
        }
        break;
      }
      case Matcher::path_regexp:
        compile(e.args[0], e.args[0].value);
        break;
      case Matcher::method:
        for (auto& a : e.args) {
          a.normalized = upper(a.value);
          if (!is_token(a.value))
            issue(Code::never_matches, a.begin, a.end, bt(a.value) + " is not an HTTP method name: it can never match");
        }
        break;
      case Matcher::header:
      case Matcher::headers:
        if (e.args[0].value.empty()) issue(Code::invalid_matcher_value, e.args[0].begin, e.args[0].end, "the header name is empty");
        break;
      case Matcher::header_regexp:
      case Matcher::headers_regexp:
        if (e.args[0].value.empty()) issue(Code::invalid_matcher_value, e.args[0].begin, e.args[0].end, "the header name is empty");
        compile(e.args[1], e.args[1].value);
        break;
      case Matcher::query:
        if (syntax == RuleSyntax::v3 && n == 1 && e.args[0].value.find('=') != std::string::npos) {
          const std::string& v = e.args[0].value;
          auto eq = v.find('=');
          issue(Code::v2_meaning_changed, e.args[0].begin, e.args[0].end,
                "v2 Query form: Traefik v3 looks for a parameter named " + bt(v),
                "Query(" + bt(v.substr(0, eq)) + ", " + bt(v.substr(eq + 1)) + ")");
        }
        break;
      case Matcher::query_regexp:
        compile(e.args[1], e.args[1].value);
        break;
      case Matcher::client_ip:
        for (auto& a : e.args) {
          a.network = parse_ip_network(a.value);
          if (!a.network)
            issue(Code::invalid_matcher_value, a.begin, a.end,
                  bt(a.value) + " is neither an IP address nor a CIDR range (such as 10.0.0.0/8 or 2001:db8::/32)");
        }
        break;
      case Matcher::host_sni:
        for (auto& a : e.args) check_host_sni(a);
        break;
      case Matcher::host_sni_regexp:
        for (auto& a : e.args) {
          if (syntax == RuleSyntax::v2) compile_v2_template(a, "[^.]+", true, true);
          else compile(a, a.value);
        }
        break;
      case Matcher::alpn:
        for (auto& a : e.args)
          if (a.value == "acme-tls/1")
            issue(Code::invalid_matcher_value, a.begin, a.end, "the ALPN protocol acme-tls/1 is reserved for ACME TLS challenges");
        break;
      default: break;
    }
  }

  // A HostRegexp argument like `^[a-z]+\.example\.com$` has braces only in
  // quantifiers; treat only "{name...}" groups as templates.
  static bool looks_like_regex_only(std::string_view v) {
    for (std::size_t i = 0; i + 1 < v.size(); ++i)
      if (v[i] == '{' && is_template_name_start(v[i + 1]) && (i == 0 || v[i - 1] != '\\')) return false;
    return true;
  }

  void unknown_matcher(RuleExpr& e) {
    const std::size_t nb = e.begin, ne = e.name_end;
    const RuleKind kind = rule_.kind;
    const RuleSyntax syntax = rule_.syntax;
    // A v2 matcher in a v3 rule, or the reverse?
    if (const MatcherInfo* other = lookup(e.name, kind, syntax, true)) {
      if (syntax == RuleSyntax::v3) {
        std::string hint;
        if (other->m == Matcher::headers && e.args.size() == 2)
          hint = "Header(" + args_text(e) + ")";
        else if (other->m == Matcher::headers_regexp && e.args.size() == 2)
          hint = "HeaderRegexp(" + args_text(e) + ")";
        else if (other->m == Matcher::host_header)
          hint = e.args.size() == 1 ? "Host(" + args_text(e) + ")" : join_calls("Host", e, "||");
        else if (other->m == Matcher::headers)
          hint = "Header(`Name`, `value`)";
        else if (other->m == Matcher::headers_regexp)
          hint = "HeaderRegexp(`Name`, `regexp`)";
        issue(Code::v2_syntax, nb, ne,
              e.name + " is Traefik v2 syntax; v3 rejects it", hint.empty() ? "" : hint);
      } else {
        issue(Code::unknown_matcher, nb, ne,
              e.name + " is a Traefik v3 matcher, unknown with ruleSyntax v2", "remove 'ruleSyntax: v2' to use v3 matchers");
      }
      return;
    }
    // A matcher of the other protocol?
    RuleKind other_kind = kind == RuleKind::http ? RuleKind::tcp : RuleKind::http;
    if (lookup(e.name, other_kind, syntax, true)) {
      issue(Code::unknown_matcher, nb, ne,
            e.name + " is " + (other_kind == RuleKind::tcp ? "a TCP" : "an HTTP") + " matcher; it cannot be used in " +
                (kind == RuleKind::http ? "an HTTP" : "a TCP") + " router's rule");
      return;
    }
    std::string_view best;
    std::size_t best_d = 0;
    for (const auto& m : kMatchers) {
      if (m.kind != kind || !(syntax == RuleSyntax::v3 ? m.v3 : m.v2)) continue;
      std::size_t d = edit_distance(e.name, m.name);
      if (best.empty() || d < best_d) best = m.name, best_d = d;
    }
    std::string msg = "unknown matcher '" + e.name + "'";
    if (!best.empty() && best_d <= std::max<std::size_t>(2, best.size() / 3)) msg += " (did you mean " + std::string(best) + "?)";
    issue(Code::unknown_matcher, nb, ne, msg);
  }

  void many_args_v3(RuleExpr& e, const MatcherInfo& info) {
    const std::size_t nb = e.begin;
    if (info.m == Matcher::query) {
      std::string hint;
      for (std::size_t i = 0; i < e.args.size(); ++i) {
        const std::string& v = e.args[i].value;
        auto eq = v.find('=');
        hint += (i ? " && " : "") + (eq == std::string::npos ? "Query(" + bt(v) + ")"
                                                            : "Query(" + bt(v.substr(0, eq)) + ", " + bt(v.substr(eq + 1)) + ")");
      }
      issue(Code::v2_syntax, nb, e.end, "Query takes 1 or 2 arguments in Traefik v3 (several key=value pairs are v2 syntax)", hint);
      return;
    }
    if (info.v3_max == 1) {
      issue(Code::v2_syntax, nb, e.end,
            std::string(info.name) + " takes one argument in Traefik v3 (several are v2 syntax)",
            join_calls(info.name, e, "||"));
      return;
    }
    issue(Code::matcher_arguments, nb, e.end,
          std::string(info.name) + " takes " + std::to_string(info.v3_max) + " arguments, not " + std::to_string(e.args.size()));
  }

  void check_host(RuleArg& a) {
    if (!is_ascii(a.value)) {
      issue(Code::invalid_matcher_value, a.begin, a.end,
            "Host takes ASCII names only; write an internationalised name in its punycode form (xn--...)");
      return;
    }
    std::string h = lower(a.value);
    a.normalized = h;
    if (h.empty()) {
      issue(Code::never_matches, a.begin, a.end, "an empty Host never matches");
    } else if (h.find("://") != std::string::npos || h.find('/') != std::string::npos) {
      issue(Code::never_matches, a.begin, a.end,
            "Host takes a host name only, without a scheme or a path: " + bt(a.value) + " never matches");
    } else if (h.find('*') != std::string::npos) {
      std::string re = "^" + quote_meta(h) + "$";
      if (h.starts_with("*.")) re = "^[^.]+" + quote_meta(h.substr(1)) + "$";
      issue(Code::never_matches, a.begin, a.end, "Host does not take wildcards: " + bt(a.value) + " matches only literally",
            "HostRegexp(" + bt(re) + ")");
    } else if (std::count(h.begin(), h.end(), ':') == 1 && h.front() != '[') {
      issue(Code::never_matches, a.begin, a.end,
            "Host is compared without the port, so " + bt(a.value) + " never matches",
            "Host(" + bt(h.substr(0, h.find(':'))) + ")");
    }
  }

  void check_host_sni(RuleArg& a) {
    a.normalized = lower(a.value);
    if (a.value == "*") return;
    if (rule_.syntax == RuleSyntax::v2 && a.value.starts_with("*.")) return;
    if (!is_host_or_ip(a.value)) {
      std::string hint;
      if (a.value.starts_with("*."))
        hint = "HostSNIRegexp(" + bt("^[^.]+" + quote_meta(lower(a.value.substr(1))) + "$") + ")";
      issue(Code::invalid_matcher_value, a.begin, a.end, bt(a.value) + " is not a valid host name for HostSNI", hint);
    }
  }

  static bool compiles(const std::string& pattern) {
    RE2::Options o;
    o.set_log_errors(false);
    RE2 re(pattern, o);
    return re.ok();
  }

  void compile(RuleArg& a, const std::string& pattern) {
    RE2::Options o;
    o.set_log_errors(false);
    o.set_max_mem(8 << 20);
    auto re = std::make_shared<const RE2>(pattern, o);
    if (!re->ok()) {
      issue(Code::invalid_regex, a.begin, a.end, "invalid regular expression " + bt(a.value) + ": " + re->error());
      return;
    }
    a.regex = std::move(re);
  }

  // v2 templates: the whole value must match (Path, Host) or its start (PathPrefix).
  void compile_v2_template(RuleArg& a, std::string_view segment, bool anchored_end, bool case_insensitive) {
    auto re = template_to_regex(a.value, segment);
    std::string pattern = std::string(case_insensitive ? "(?i)" : "") + "^" + (re ? *re : quote_meta(a.value)) +
                          (anchored_end ? "$" : "");
    compile(a, pattern);
  }

  Rule& rule_;
};

}  // namespace

std::string_view matcher_name(Matcher m) {
  for (const auto& i : kMatchers)
    if (i.m == m) return i.name;
  return "";
}

bool Rule::ok() const {
  if (!root) return false;
  return std::none_of(issues.begin(), issues.end(),
                      [](const RuleIssue& i) { return code_info(i.code).severity == Severity::error; });
}

std::string quote_meta(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\.+*?()|[]{}^$").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

std::optional<std::string> template_to_regex(std::string_view tpl, std::string_view segment) {
  std::string out;
  bool any = false;
  std::size_t i = 0;
  std::string literal;
  auto flush = [&] {
    out += quote_meta(literal);
    literal.clear();
  };
  while (i < tpl.size()) {
    if (tpl[i] == '{' && i + 1 < tpl.size() && is_template_name_start(tpl[i + 1])) {
      // Find the matching brace (regexes inside may hold {n} quantifiers).
      int depth = 0;
      std::size_t j = i;
      for (; j < tpl.size(); ++j) {
        if (tpl[j] == '{') ++depth;
        else if (tpl[j] == '}' && --depth == 0) break;
      }
      if (j >= tpl.size()) break;
      std::string_view inner = tpl.substr(i + 1, j - i - 1);
      auto colon = inner.find(':');
      std::string_view name = inner.substr(0, colon);
      bool name_ok = std::all_of(name.begin(), name.end(), [](char c) {
        return is_template_name_start(c) || (c >= '0' && c <= '9') || c == '-';
      });
      if (!name_ok) {
        literal += tpl[i++];
        continue;
      }
      flush();
      any = true;
      if (colon == std::string_view::npos) {
        out += segment;
      } else {
        std::string_view re = inner.substr(colon + 1);
        if (re.find('|') != std::string_view::npos) out += "(?:" + std::string(re) + ")";
        else out += re;
      }
      i = j + 1;
      continue;
    }
    literal += tpl[i++];
  }
  if (!any) return std::nullopt;
  literal += std::string(tpl.substr(std::min(i, tpl.size())));
  flush();
  return out;
}

Rule parse_rule(std::string_view text, RuleKind kind, RuleSyntax syntax) {
  Rule rule;
  rule.text = std::string(text);
  rule.kind = kind;
  rule.syntax = syntax;
  Parser p(rule.text);
  std::optional<ParseError> err;
  rule.root = p.parse(err);
  if (!rule.root) {
    if (!err) err = ParseError{0, 0, "the rule does not parse"};
    std::size_t end = std::min(err->end, rule.text.size());
    rule.issues.push_back(RuleIssue{Code::rule_syntax, std::min(err->begin, end), end, err->message, {}});
    return rule;
  }
  Checker c(rule);
  c.check(*rule.root);
  for (auto& is : rule.issues) {
    is.end = std::min(is.end, rule.text.size());
    is.begin = std::min(is.begin, is.end);
  }
  std::stable_sort(rule.issues.begin(), rule.issues.end(),
                   [](const RuleIssue& a, const RuleIssue& b) { return a.begin < b.begin; });
  return rule;
}

}  // namespace certroute::routes

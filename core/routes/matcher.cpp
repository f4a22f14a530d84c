#include "core/routes/matcher.hpp"

#include <algorithm>

#include <re2/re2.h>

namespace certroute::routes {
namespace {

char lower_c(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower_c(a[i]) != lower_c(b[i])) return false;
  return true;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> unescape(std::string_view s, bool plus_is_space) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
      if (h < 0 || l < 0) return std::nullopt;
      out += static_cast<char>(h * 16 + l);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

class Evaluator {
 public:
  Evaluator(const Request& req) : req_(req), host_(canonical_host(req.host)) {}

  bool eval(const RuleExpr& e, const RuleExpr*& failed) {
    switch (e.op) {
      case RuleExpr::Op::and_:
        for (const auto& c : e.children)
          if (!eval(c, failed)) return false;
        return true;
      case RuleExpr::Op::or_: {
        const RuleExpr* ignored = nullptr;
        for (const auto& c : e.children)
          if (eval(c, ignored)) return true;
        failed = &e;
        return false;
      }
      case RuleExpr::Op::not_: {
        const RuleExpr* ignored = nullptr;
        if (eval(e.children.front(), ignored)) {
          failed = &e;
          return false;
        }
        return true;
      }
      case RuleExpr::Op::matcher:
        if (match(e)) return true;
        failed = &e;
        return false;
    }
    return false;
  }

 private:
  // Any of the arguments matches (v3 matchers have one; v2 ones may have several).
  template <typename F>
  static bool any_arg(const RuleExpr& e, F f) {
    for (const auto& a : e.args)
      if (f(a)) return true;
    return false;
  }

  bool host_equals(const std::string& want) const {
    if (host_.empty()) return false;
    if (host_ == want) return true;
    if (!want.empty() && want.back() == '.' && host_ == std::string_view(want).substr(0, want.size() - 1)) return true;
    return false;
  }

  bool header_values(std::string_view name, auto f) const {
    for (const auto& [k, v] : req_.headers)
      if (iequals(k, name) && f(v)) return true;
    // The Host header lives in req.Host in Go, not in req.Header.
    return false;
  }

  const std::vector<std::pair<std::string, std::string>>& query() {
    if (!query_parsed_) {
      query_ = parse_query(req_.raw_query);
      query_parsed_ = true;
    }
    return query_;
  }

  bool client_ip_in(const RuleArg& a) const {
    if (!a.network) return false;
    std::string ip = req_.client_ip;
    auto addr = parse_ip(ip);
    return addr && a.network->contains(*addr);
  }

  bool match(const RuleExpr& e) {
    switch (e.matcher) {
      case Matcher::host:
      case Matcher::host_header:
        return any_arg(e, [&](const RuleArg& a) { return host_equals(a.normalized); });
      case Matcher::host_regexp:
        return any_arg(e, [&](const RuleArg& a) { return a.regex && RE2::PartialMatch(host_, *a.regex); });
      case Matcher::path:
        return any_arg(e, [&](const RuleArg& a) { return a.regex ? RE2::PartialMatch(req_.path, *a.regex) : req_.path == a.value; });
      case Matcher::path_prefix:
        return any_arg(e, [&](const RuleArg& a) {
          if (a.regex) return RE2::PartialMatch(req_.path, *a.regex);
          return req_.path.starts_with(a.value);
        });
      case Matcher::path_regexp:
        return RE2::PartialMatch(req_.path, *e.args[0].regex);
      case Matcher::method:
        return any_arg(e, [&](const RuleArg& a) { return req_.method == a.normalized; });
      case Matcher::header:
      case Matcher::headers:
        return header_values(e.args[0].value, [&](const std::string& v) { return v == e.args[1].value; });
      case Matcher::header_regexp:
      case Matcher::headers_regexp:
        return header_values(e.args[0].value, [&](const std::string& v) { return RE2::PartialMatch(v, *e.args[1].regex); });
      case Matcher::query: {
        const auto& q = query();
        auto one = [&](std::string_view key, std::optional<std::string_view> value) {
          for (const auto& [k, v] : q)
            if (k == key && (!value || v == *value)) return true;
          return false;
        };
        if (e.args.size() == 2 && rule_syntax_v3(e)) return one(e.args[0].value, e.args[1].value);
        if (rule_syntax_v3(e)) return one(e.args[0].value, std::nullopt);
        // v2: every "key=value" pair must match.
        for (const auto& a : e.args) {
          auto eq = a.value.find('=');
          if (eq == std::string::npos ? !one(a.value, std::nullopt)
                                      : !one(std::string_view(a.value).substr(0, eq), std::string_view(a.value).substr(eq + 1)))
            return false;
        }
        return true;
      }
      case Matcher::query_regexp: {
        for (const auto& [k, v] : query())
          if (k == e.args[0].value && RE2::PartialMatch(v, *e.args[1].regex)) return true;
        return false;
      }
      case Matcher::client_ip:
        return any_arg(e, [&](const RuleArg& a) { return client_ip_in(a); });
      case Matcher::host_sni:
        return any_arg(e, [&](const RuleArg& a) {
          if (a.value == "*") return true;
          std::string sni = canonical_host(req_.sni);
          if (sni.empty()) return false;
          if (a.normalized.starts_with("*.")) {  // v2 wildcard
            auto dot = sni.find('.');
            return dot != std::string::npos && sni.substr(dot) == a.normalized.substr(1);
          }
          return sni == a.normalized || sni + "." == a.normalized;
        });
      case Matcher::host_sni_regexp:
        return any_arg(e, [&](const RuleArg& a) { return a.regex && RE2::PartialMatch(canonical_host(req_.sni), *a.regex); });
      case Matcher::alpn:
        return any_arg(e, [&](const RuleArg& a) {
          for (const auto& p : req_.alpn)
            if (p == a.value) return true;
          return false;
        });
      default:
        return false;
    }
  }

  // The v3 Query matcher takes (key) or (key, value); v2's takes "k=v" pairs.
  bool rule_syntax_v3(const RuleExpr&) const { return v3_; }

 public:
  bool v3_ = true;

 private:
  const Request& req_;
  std::string host_;
  bool query_parsed_ = false;
  std::vector<std::pair<std::string, std::string>> query_;
};

}  // namespace

std::string canonical_host(std::string_view host) {
  std::string h(host);
  // Strip the port: "[::1]:8080" -> "::1", "example.com:80" -> "example.com".
  if (!h.empty() && h.front() == '[') {
    auto close = h.find(']');
    if (close != std::string::npos) h = h.substr(1, close - 1);
  } else if (std::count(h.begin(), h.end(), ':') == 1) {
    h = h.substr(0, h.find(':'));
  }
  for (char& c : h) c = lower_c(c);
  if (h.size() > 1 && h.back() == '.') h.pop_back();
  return h;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view raw) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!raw.empty()) {
    auto amp = raw.find('&');
    std::string_view pair = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view{} : raw.substr(amp + 1);
    if (pair.empty() || pair.find(';') != std::string_view::npos) continue;
    auto eq = pair.find('=');
    auto k = unescape(pair.substr(0, eq), true);
    auto v = unescape(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
    if (!k || !v) continue;
    out.emplace_back(std::move(*k), std::move(*v));
  }
  return out;
}

std::optional<std::string> unescape_path(std::string_view s) { return unescape(s, false); }

Evaluation evaluate(const Rule& rule, const Request& req) {
  Evaluation ev;
  if (!rule.root || !rule.ok()) return ev;
  Evaluator e(req);
  e.v3_ = rule.syntax == RuleSyntax::v3;
  const RuleExpr* failed = nullptr;
  ev.matched = e.eval(*rule.root, failed);
  if (!ev.matched) ev.failed = failed;
  return ev;
}

}  // namespace certroute::routes

#include "core/routes/match.hpp"

#include <algorithm>

namespace certroute::routes {

std::string qualified(const std::string& name) {
  return name.find('@') == std::string::npos ? name + "@file" : name;
}

std::vector<RouteEntry> compile_routes(const Config& config, Protocol protocol) {
  std::vector<RouteEntry> out;
  const Section& sec = config.section(protocol);
  out.reserve(sec.routers.size());
  for (const auto& [name, r] : sec.routers) {
    if (protocol == Protocol::udp) continue;  // UDP routers have no rules
    RouteEntry e;
    e.router = &r;
    RuleSyntax syntax = (r.rule_syntax && r.rule_syntax->value == "v2") ? RuleSyntax::v2 : RuleSyntax::v3;
    std::string_view text = r.rule ? std::string_view(r.rule->value) : std::string_view{};
    e.templated = r.rule && r.rule->node && r.rule->node->templated;
    e.rule = parse_rule(text, protocol == Protocol::tcp ? RuleKind::tcp : RuleKind::http, syntax);
    e.priority = (r.priority && *r.priority != 0) ? *r.priority : e.rule.default_priority();
    out.push_back(std::move(e));
  }
  std::stable_sort(out.begin(), out.end(), [](const RouteEntry& a, const RouteEntry& b) {
    if (a.priority != b.priority) return a.priority > b.priority;
    return a.router->name < b.router->name;
  });
  return out;
}

MatchResult match_request(const Config& config, const MatchQuery& q) {
  MatchResult res;
  res.routes = compile_routes(config, q.protocol);
  for (std::size_t i = 0; i < res.routes.size(); ++i) {
    const RouteEntry& e = res.routes[i];
    const Router& r = *e.router;
    Candidate c;
    c.route = i;
    if (!q.entry_point.empty() && !r.entry_points.empty() &&
        std::none_of(r.entry_points.begin(), r.entry_points.end(),
                     [&](const Text& t) { return t.value == q.entry_point; })) {
      c.status = Candidate::Status::skipped;
      c.reason = "not on entry point " + q.entry_point;
      res.candidates.push_back(std::move(c));
      continue;
    }
    if (q.protocol == Protocol::http && r.tls != q.tls) {
      c.status = Candidate::Status::skipped;
      c.reason = r.tls ? "has tls, so it serves only HTTPS requests" : "has no tls, so it serves only plain HTTP requests";
      res.candidates.push_back(std::move(c));
      continue;
    }
    if (q.protocol == Protocol::tcp && !q.tls && r.tls) {
      c.status = Candidate::Status::skipped;
      c.reason = "has tls, the connection does not";
      res.candidates.push_back(std::move(c));
      continue;
    }
    if (!r.rule || !e.rule.ok()) {
      c.status = Candidate::Status::invalid;
      if (!r.rule) {
        c.reason = "has no rule";
      } else {
        for (const auto& is : e.rule.issues)
          if (code_info(is.code).severity == Severity::error) {
            c.reason = "rule does not parse: " + is.message;
            break;
          }
      }
      res.candidates.push_back(std::move(c));
      continue;
    }
    Evaluation ev = evaluate(e.rule, q.request);
    if (ev.matched) {
      c.status = Candidate::Status::matched;
      res.candidates.push_back(std::move(c));
      res.winner = i;
      break;
    }
    c.status = Candidate::Status::not_matched;
    c.reason = ev.failed ? std::string(e.rule.text_of(*ev.failed)) : e.rule.text;
    res.candidates.push_back(std::move(c));
  }
  return res;
}

}  // namespace certroute::routes

#include "core/routes/render/analysis.hpp"

#include <algorithm>
#include <functional>
#include <set>

namespace certroute::routes::render {
namespace {

std::string strip_provider(const std::string& ref) {
  auto at = ref.find('@');
  if (at == std::string::npos) return ref;
  // Only @file refers to this configuration; other providers are foreign.
  return ref.substr(at + 1) == "file" ? ref.substr(0, at) : std::string();
}

std::vector<Conjunction> dnf(const RuleExpr& e, bool negate, bool& too_big, std::size_t limit) {
  using Op = RuleExpr::Op;
  if (too_big) return {};
  if (e.op == Op::matcher) return {Conjunction{Atom{&e, negate}}};
  if (e.op == Op::not_) return dnf(e.children.at(0), !negate, too_big, limit);
  // De Morgan: !(a && b) = !a || !b ; !(a || b) = !a && !b
  bool is_or = (e.op == Op::or_) != negate;
  auto left = dnf(e.children.at(0), negate, too_big, limit);
  auto right = dnf(e.children.at(1), negate, too_big, limit);
  if (too_big) return {};
  if (is_or) {
    left.insert(left.end(), right.begin(), right.end());
    if (left.size() > limit) too_big = true;
    return left;
  }
  if (left.size() * right.size() > limit) {
    too_big = true;
    return {};
  }
  std::vector<Conjunction> out;
  for (const auto& a : left)
    for (const auto& b : right) {
      Conjunction c = a;
      c.insert(c.end(), b.begin(), b.end());
      out.push_back(std::move(c));
    }
  return out;
}

}  // namespace

std::vector<Conjunction> to_dnf(const RuleExpr& root, bool& too_big, std::size_t limit) {
  too_big = false;
  auto r = dnf(root, false, too_big, limit);
  if (too_big) return {};
  return r;
}

std::vector<RouteEntry> routes_for_entry_point(const Config& config, Protocol protocol, const std::string& entry_point) {
  std::vector<RouteEntry> out;
  for (auto& e : compile_routes(config, protocol)) {
    if (!e.rule.ok() || !e.rule.root || e.templated) continue;
    const auto& eps = e.router->entry_points;
    bool on = eps.empty() ||
              std::any_of(eps.begin(), eps.end(), [&](const Text& t) { return t.value == entry_point; });
    if (on) out.push_back(std::move(e));
  }
  return out;
}

const Service* find_service(const Config& config, Protocol p, const std::string& ref) {
  std::string name = strip_provider(ref);
  const auto& s = config.section(p).services;
  auto it = s.find(name);
  return it == s.end() ? nullptr : &it->second;
}

const Middleware* find_middleware(const Config& config, Protocol p, const std::string& ref) {
  std::string name = strip_provider(ref);
  const auto& m = config.section(p).middlewares;
  auto it = m.find(name);
  return it == m.end() ? nullptr : &it->second;
}

std::vector<const Middleware*> expand_middlewares(const Config& config, const Router& router) {
  std::vector<const Middleware*> out;
  std::set<const Middleware*> active;
  std::function<void(const std::vector<Text>&)> walk = [&](const std::vector<Text>& refs) {
    for (const auto& r : refs) {
      const Middleware* m = find_middleware(config, router.protocol, r.value);
      if (!m || active.count(m)) continue;
      if (!m->chain.empty()) {
        active.insert(m);
        walk(m->chain);
        active.erase(m);
      } else {
        out.push_back(m);
      }
    }
  };
  walk(router.middlewares);
  return out;
}

std::string field(const DocNode* node, std::initializer_list<std::string_view> path) {
  for (auto key : path) {
    if (!node || !node->is_mapping()) return {};
    node = node->find(key);
  }
  return node && node->is_scalar() ? node->text : std::string();
}

}  // namespace certroute::routes::render

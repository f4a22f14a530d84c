// routes render --to traefik: the same dynamic configuration, normalised for
// migration: one YAML file, keys and names sorted, every rule in v3 syntax
// (v2 rules rewritten, ruleSyntax removed, the old priority kept explicitly
// where the rewrite changed the rule's length), files merged the way the file
// provider merges them (the first definition of a name wins).
#include <nlohmann/json.hpp>

#include "core/routes/render/analysis.hpp"
#include "core/routes/render/renderer.hpp"

namespace certroute::routes::render {
namespace {

using nlohmann::json;

bool is_integer_text(std::string_view s) {
  std::size_t i = (!s.empty() && s[0] == '-') ? 1 : 0;
  if (i >= s.size() || s.size() - i > 18) return false;
  if (s[i] == '0') return s.size() == i + 1;
  return std::all_of(s.begin() + static_cast<std::ptrdiff_t>(i), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

class Writer {
 public:
  Writer(const LoadedConfig& loaded, Diagnostics& diags) : loaded_(loaded), diags_(diags) {}

  // A document subtree as JSON. Scalars written without quotes stay numbers
  // and booleans where they read as such; entries the decoder rejected are
  // left out (and reported: nothing disappears silently).
  json node(const DocNode& n) {
    switch (n.kind) {
      case DocNode::Kind::null: return nullptr;
      case DocNode::Kind::scalar: return scalar(n);
      case DocNode::Kind::sequence: {
        json a = json::array();
        for (const auto& i : n.items) a.push_back(node(i));
        return a;
      }
      case DocNode::Kind::mapping: {
        json o = json::object();
        for (const auto& e : n.entries) {
          if (!e.valid) {
            diags_.add(Code::unsupported_by_target, e.key_pos,
                       "'" + e.written + "' is not a field Traefik reads here: left out of the normalised file");
            continue;
          }
          o[e.key] = node(e.value);
        }
        return o;
      }
    }
    return nullptr;
  }

 private:
  json scalar(const DocNode& n) {
    if (n.templated) return templated(n);
    if (!n.quoted) {
      if (is_integer_text(n.text)) return std::stoll(n.text);
      if (n.text == "true") return true;
      if (n.text == "false") return false;
    }
    return n.text;
  }

  // A value written with a Go template action: the original text is kept
  // (Traefik renders the template before reading the YAML) when the source
  // holds it verbatim.
  json templated(const DocNode& n) {
    if (n.text_offset != DocNode::no_offset && n.pos.valid() && n.pos.file < loaded_.sources.size()) {
      const std::string& src = loaded_.sources.at(n.pos.file).text();
      if (n.text_offset + n.text.size() <= src.size()) return src.substr(n.text_offset, n.text.size());
    }
    diags_.add(Code::unsupported_by_target, n.pos,
               "a value built by a Go template could not be recovered from the source: written with placeholders");
    return n.text;
  }

  const LoadedConfig& loaded_;
  Diagnostics& diags_;
};

json router_json(const Router& r, Writer& w, Diagnostics& diags) {
  json o = r.node ? w.node(*r.node) : json::object();
  if (r.protocol == Protocol::udp) return o;
  const bool v2 = r.rule_syntax && r.rule_syntax->value == "v2";
  o.erase("ruleSyntax");
  if (!r.rule || !v2) return o;
  if (r.rule->node && r.rule->node->templated) {
    o["ruleSyntax"] = "v2";
    diags.add(Code::unsupported_by_target, r.rule->pos,
              "router '" + r.name + "': its rule is built by a Go template, so it cannot be rewritten to v3 syntax; "
              "ruleSyntax v2 kept");
    return o;
  }
  Rule rule = parse_rule(r.rule->value, r.protocol == Protocol::tcp ? RuleKind::tcp : RuleKind::http, RuleSyntax::v2);
  if (!rule.ok()) {
    o["ruleSyntax"] = "v2";
    diags.add(Code::unsupported_by_target, r.rule->pos,
              "router '" + r.name + "': its v2 rule does not parse, so it cannot be rewritten; ruleSyntax v2 kept");
    return o;
  }
  std::string v3 = v3_rule_text(rule);
  o["rule"] = v3;
  // The default priority is the rule's length: keep the old one.
  if (v3.size() != rule.text.size() && (!r.priority || *r.priority == 0)) o["priority"] = rule.default_priority();
  return o;
}

json section_json(const Section& sec, Protocol p, Writer& w, Diagnostics& diags) {
  json s = json::object();
  for (const auto& [name, r] : sec.routers) s["routers"][name] = router_json(r, w, diags);
  for (const auto& [name, svc] : sec.services) s["services"][name] = svc.node ? w.node(*svc.node) : json::object();
  for (const auto& [name, m] : sec.middlewares) s["middlewares"][name] = m.node ? w.node(*m.node) : json::object();
  if (p != Protocol::udp)
    for (const auto& [name, t] : sec.transports) s["serversTransports"][name] = t.node ? w.node(*t.node) : json::object();
  return s;
}

// Template actions alone on a line ({{ range }}, {{ if }}, {{ end }}) shape
// the file Traefik reads; the normalised file is the text without them.
void report_control_actions(const LoadedConfig& loaded, Diagnostics& diags) {
  for (std::uint32_t f = 0; f < loaded.sources.size(); ++f) {
    const std::string& text = loaded.sources.at(f).text();
    if (text.find("{{") == std::string::npos) continue;
    TemplateScan scan = replace_go_templates(text);
    for (const auto& [b, e] : scan.ranges) {
      std::size_t ls = text.rfind('\n', b);
      ls = ls == std::string::npos ? 0 : ls + 1;
      std::size_t le = text.find('\n', e);
      if (le == std::string::npos) le = text.size();
      bool alone = true;
      for (std::size_t k = ls; k < le && alone; ++k)
        if (scan.text[k] != ' ' && scan.text[k] != '\t' && scan.text[k] != '\r') alone = false;
      if (!alone) continue;
      diags.add(Code::unsupported_by_target, loaded.sources.pos_at(f, b),
                "Go template control actions ({{ range }}, {{ if }}) cannot be normalised: the output holds the file "
                "as read with the actions removed");
      break;
    }
  }
}

class Traefik final : public Renderer {
 public:
  RenderResult render(const LoadedConfig& loaded, const RenderOptions& options, Diagnostics& diags) const override {
    const Config& c = loaded.config;
    Writer w(loaded, diags);
    json root = json::object();
    for (Protocol p : {Protocol::http, Protocol::tcp, Protocol::udp}) {
      json s = section_json(c.section(p), p, w, diags);
      if (!s.empty()) root[p == Protocol::http ? "http" : p == Protocol::tcp ? "tcp" : "udp"] = std::move(s);
    }
    json tls = json::object();
    for (const auto& doc : loaded.documents) {
      if (!doc || !doc->is_mapping()) continue;
      const DocNode* t = doc->find("tls");
      const DocNode* certs = t && t->is_mapping() ? t->find("certificates") : nullptr;
      if (!certs || !certs->is_sequence()) continue;
      for (const auto& item : certs->items) tls["certificates"].push_back(w.node(item));
    }
    for (const auto& [name, o] : c.tls_options) tls["options"][name] = o.node ? w.node(*o.node) : json::object();
    for (const auto& [name, s] : c.tls_stores) tls["stores"][name] = s.node ? w.node(*s.node) : json::object();
    if (!tls.empty()) root["tls"] = std::move(tls);
    report_control_actions(loaded, diags);
    for (const auto& doc : loaded.documents)
      if (doc && doc->is_mapping())
        for (const auto& e : doc->entries)
          if (!e.valid)
            diags.add(Code::unsupported_by_target, e.key_pos,
                      "top-level key '" + e.written + "' is not configuration (Traefik ignores it): left out");

    RenderResult res;
    res.main_name = "dynamic.yml";
    res.main = generated_header(options, "# ");
    res.main += root.empty() ? "{}\n" : to_yaml(nlohmann::ordered_json::parse(root.dump(-1, ' ', false, json::error_handler_t::replace)));
    return res;
  }
};

}  // namespace

std::unique_ptr<Renderer> make_traefik() { return std::make_unique<Traefik>(); }

}  // namespace certroute::routes::render

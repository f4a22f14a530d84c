#include "core/routes/config.hpp"

#include "core/routes/decode.hpp"

namespace certroute::routes {

const char* protocol_name(Protocol p) {
  switch (p) {
    case Protocol::http: return "HTTP";
    case Protocol::tcp: return "TCP";
    case Protocol::udp: return "UDP";
  }
  return "HTTP";
}

namespace {

std::optional<Text> text_of(const DocNode* n) {
  if (!n || !n->is_scalar()) return std::nullopt;
  return Text{n->text, n->pos, n};
}

std::vector<Text> list_of(const DocNode* n) {
  std::vector<Text> out;
  if (!n || !n->is_sequence()) return out;
  for (const auto& i : n->items)
    if (i.is_scalar() && !i.text.empty()) out.push_back(Text{i.text, i.pos, &i});
  return out;
}

// An object-typed field that is set and not disabled ("x: false").
bool enabled(const DocNode* n) {
  if (!n) return false;
  if (n->is_scalar()) return parse_go_bool(n->text).value_or(true);
  return true;
}

std::string where(const SourceSet& sources, const Pos& p) {
  return sources.path_of(p) + ":" + std::to_string(p.line) + ":" + std::to_string(p.column);
}

template <typename T>
bool insert_unique(std::map<std::string, T>& map, T&& obj, const char* what, const SourceSet& sources,
                   Diagnostics& diags) {
  auto it = map.find(obj.name);
  if (it != map.end()) {
    diags.add(Code::duplicate_name, obj.pos,
              std::string(what) + " '" + obj.name + "' is already defined at " + where(sources, it->second.pos) +
                  "; Traefik keeps that one and skips this one");
    return false;
  }
  std::string key = obj.name;
  map.emplace(std::move(key), std::move(obj));
  return true;
}

void add_routers(Protocol proto, const DocNode* routers, Section& sec, const SourceSet& sources, Diagnostics& diags) {
  if (!routers || !routers->is_mapping()) return;
  for (const auto& e : routers->entries) {
    if (!e.valid || !e.value.is_mapping()) continue;
    const DocNode& n = e.value;
    Router r;
    r.protocol = proto;
    r.name = e.key;
    r.pos = e.key_pos;
    r.node = &n;
    r.entry_points = list_of(n.find("entryPoints"));
    r.middlewares = list_of(n.find("middlewares"));
    r.service = text_of(n.find("service"));
    r.rule = text_of(n.find("rule"));
    r.rule_syntax = text_of(n.find("ruleSyntax"));
    if (auto p = text_of(n.find("priority"))) r.priority = parse_go_int(p->value);
    const DocNode* tls = n.find("tls");
    if (enabled(tls)) {
      r.tls = true;
      if (tls->is_mapping()) {
        r.tls_options = text_of(tls->find("options"));
        r.cert_resolver = text_of(tls->find("certResolver"));
        if (auto pt = text_of(tls->find("passthrough"))) r.tls_passthrough = parse_go_bool(pt->value).value_or(false);
      }
    }
    insert_unique(sec.routers, std::move(r), proto == Protocol::http ? "router" : proto == Protocol::tcp ? "TCP router" : "UDP router",
                  sources, diags);
  }
}

void add_named_children(const DocNode* list, std::vector<Text>& out) {
  if (!list || !list->is_sequence()) return;
  for (const auto& item : list->items)
    if (item.is_mapping())
      if (auto t = text_of(item.find("name")); t && !t->value.empty()) out.push_back(*t);
}

void add_services(Protocol proto, const DocNode* services, Section& sec, const SourceSet& sources, Diagnostics& diags) {
  if (!services || !services->is_mapping()) return;
  const char* what = proto == Protocol::http ? "service" : proto == Protocol::tcp ? "TCP service" : "UDP service";
  for (const auto& e : services->entries) {
    if (!e.valid || !e.value.is_mapping()) continue;
    const DocNode& n = e.value;
    Service s;
    s.protocol = proto;
    s.name = e.key;
    s.pos = e.key_pos;
    s.node = &n;
    for (const auto& te : n.entries)
      if (te.valid && enabled(&te.value)) s.kinds.push_back(te.key);
    if (s.kinds.size() != 1) {
      std::string msg = std::string(what) + " '" + s.name + "' ";
      if (s.kinds.empty()) {
        msg += proto == Protocol::http ? "has no type: it needs one of loadBalancer, weighted, mirroring, failover"
                                       : "has no type: it needs loadBalancer or weighted";
      } else {
        msg += "has several types (";
        for (std::size_t i = 0; i < s.kinds.size(); ++i) msg += (i ? ", " : "") + s.kinds[i];
        msg += "): Traefik refuses it";
      }
      diags.add(Code::service_type, s.pos, msg);
    }
    if (const DocNode* lb = n.find("loadBalancer"); enabled(lb)) {
      s.load_balancer = true;
      if (lb->is_mapping()) {
        if (const DocNode* servers = lb->find("servers"); servers && servers->is_sequence()) {
          for (const auto& srv : servers->items) {
            if (!srv.is_mapping()) continue;
            const DocNode* v = srv.find(proto == Protocol::http ? "url" : "address");
            if (auto t = text_of(v)) {
              s.servers.push_back(*t);
            } else {
              s.servers.push_back(Text{"", srv.pos, nullptr});  // reported by the checks
            }
          }
        }
        s.servers_transport = text_of(lb->find("serversTransport"));
      }
    }
    if (const DocNode* w = n.find("weighted"); w && w->is_mapping()) add_named_children(w->find("services"), s.children);
    if (const DocNode* h = n.find("highestRandomWeight"); h && h->is_mapping())
      add_named_children(h->find("services"), s.children);
    if (const DocNode* m = n.find("mirroring"); m && m->is_mapping()) {
      if (auto t = text_of(m->find("service")); t && !t->value.empty()) s.children.push_back(*t);
      add_named_children(m->find("mirrors"), s.children);
    }
    if (const DocNode* f = n.find("failover"); f && f->is_mapping()) {
      if (auto t = text_of(f->find("service")); t && !t->value.empty()) s.children.push_back(*t);
      if (auto t = text_of(f->find("fallback")); t && !t->value.empty()) s.children.push_back(*t);
    }
    insert_unique(sec.services, std::move(s), what, sources, diags);
  }
}

void add_middlewares(Protocol proto, const DocNode* mws, Section& sec, const SourceSet& sources, Diagnostics& diags) {
  if (!mws || !mws->is_mapping()) return;
  const char* what = proto == Protocol::http ? "middleware" : "TCP middleware";
  for (const auto& e : mws->entries) {
    if (!e.valid || !e.value.is_mapping()) continue;
    const DocNode& n = e.value;
    Middleware m;
    m.protocol = proto;
    m.name = e.key;
    m.pos = e.key_pos;
    m.node = &n;
    bool any_entry = false;
    for (const auto& te : n.entries) {
      any_entry = any_entry || !te.valid;
      if (te.valid && enabled(&te.value)) m.kinds.push_back(te.key);
    }
    // A middleware whose only key was rejected (unknown type) is reported there.
    if (m.kinds.size() > 1 || (m.kinds.empty() && !any_entry)) {
      std::string msg = std::string(what) + " '" + m.name + "' ";
      if (m.kinds.empty()) {
        msg += "has no type (such as headers, redirectScheme, basicAuth)";
      } else {
        msg += "has several types (";
        for (std::size_t i = 0; i < m.kinds.size(); ++i) msg += (i ? ", " : "") + m.kinds[i];
        msg += "): Traefik refuses it; define one middleware per type and combine them with a chain";
      }
      diags.add(Code::middleware_type, m.pos, msg);
    }
    if (const DocNode* c = n.find("chain"); c && c->is_mapping()) m.chain = list_of(c->find("middlewares"));
    if (const DocNode* er = n.find("errors"); er && er->is_mapping()) m.service = text_of(er->find("service"));
    insert_unique(sec.middlewares, std::move(m), what, sources, diags);
  }
}

void add_named(const DocNode* map, std::map<std::string, NamedObject>& out, const char* what, const SourceSet& sources,
               Diagnostics& diags) {
  if (!map || !map->is_mapping()) return;
  for (const auto& e : map->entries) {
    if (!e.valid) continue;
    insert_unique(out, NamedObject{e.key, e.key_pos, &e.value}, what, sources, diags);
  }
}

void add_section(Protocol proto, const DocNode* sec_node, Section& sec, const SourceSet& sources, Diagnostics& diags) {
  if (!sec_node || !sec_node->is_mapping()) return;
  add_routers(proto, sec_node->find("routers"), sec, sources, diags);
  add_services(proto, sec_node->find("services"), sec, sources, diags);
  add_middlewares(proto, sec_node->find("middlewares"), sec, sources, diags);
  add_named(sec_node->find("serversTransports"), sec.transports,
            proto == Protocol::http ? "serversTransport" : "TCP serversTransport", sources, diags);
}

}  // namespace

void add_document(Config& config, const DocNode& root, const SourceSet& sources, Diagnostics& diags) {
  if (!root.is_mapping()) return;
  add_section(Protocol::http, root.find("http"), config.http, sources, diags);
  add_section(Protocol::tcp, root.find("tcp"), config.tcp, sources, diags);
  add_section(Protocol::udp, root.find("udp"), config.udp, sources, diags);
  const DocNode* tls = root.find("tls");
  if (!tls || !tls->is_mapping()) return;
  add_named(tls->find("options"), config.tls_options, "TLS options", sources, diags);
  add_named(tls->find("stores"), config.tls_stores, "TLS store", sources, diags);
  if (const DocNode* certs = tls->find("certificates"); certs && certs->is_sequence()) {
    for (const auto& c : certs->items) {
      if (!c.is_mapping()) continue;
      TlsCertificate t;
      t.pos = c.pos;
      t.cert_file = text_of(c.find("certFile"));
      t.key_file = text_of(c.find("keyFile"));
      t.stores = list_of(c.find("stores"));
      config.certificates.push_back(std::move(t));
    }
  }
  if (const DocNode* stores = tls->find("stores"); stores && stores->is_mapping()) {
    for (const auto& e : stores->entries) {
      if (!e.valid || !e.value.is_mapping()) continue;
      const DocNode* dc = e.value.find("defaultCertificate");
      if (!dc || !dc->is_mapping()) continue;
      TlsCertificate t;
      t.pos = dc->pos;
      t.cert_file = text_of(dc->find("certFile"));
      t.key_file = text_of(dc->find("keyFile"));
      t.store_default = true;
      config.certificates.push_back(std::move(t));
    }
  }
}

}  // namespace certroute::routes

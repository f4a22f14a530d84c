// The configuration model: what the files define, merged across files the way
// Traefik's file provider merges them, every value with its position. The
// lint checks, `routes match`, and later the renderers and the proxy read this.
// Details the model does not lift out stay reachable through `node` (the
// decoded, canonicalised document subtree).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/routes/diagnostic.hpp"
#include "core/routes/document.hpp"

namespace certroute::routes {

enum class Protocol : std::uint8_t { http, tcp, udp };
const char* protocol_name(Protocol p);  // "HTTP", "TCP", "UDP"

// A string value and where it was written.
struct Text {
  std::string value;
  Pos pos;
  const DocNode* node = nullptr;
};

struct Router {
  Protocol protocol = Protocol::http;
  std::string name;
  Pos pos;  // the name's key
  std::vector<Text> entry_points;
  std::vector<Text> middlewares;
  std::optional<Text> service;
  std::optional<Text> rule;
  std::optional<Text> rule_syntax;
  std::optional<std::int64_t> priority;
  bool tls = false;
  bool tls_passthrough = false;
  std::optional<Text> tls_options;
  std::optional<Text> cert_resolver;
  const DocNode* node = nullptr;
};

struct Service {
  Protocol protocol = Protocol::http;
  std::string name;
  Pos pos;
  std::vector<std::string> kinds;  // loadBalancer, weighted, mirroring, failover, highestRandomWeight
  bool load_balancer = false;
  std::vector<Text> servers;  // URLs (HTTP) or addresses (TCP, UDP)
  std::vector<Text> children;  // services used by weighted, mirroring, failover
  std::optional<Text> servers_transport;
  const DocNode* node = nullptr;
};

struct Middleware {
  Protocol protocol = Protocol::http;
  std::string name;
  Pos pos;
  std::vector<std::string> kinds;  // the middleware type(s) set
  std::vector<Text> chain;         // chain.middlewares
  std::optional<Text> service;     // errors.service
  const DocNode* node = nullptr;
};

// Servers transports, TLS options, TLS stores: named objects without references out.
struct NamedObject {
  std::string name;
  Pos pos;
  const DocNode* node = nullptr;
};

struct TlsCertificate {
  Pos pos;
  std::optional<Text> cert_file;
  std::optional<Text> key_file;
  std::vector<Text> stores;
  bool store_default = false;  // a store's defaultCertificate
};

struct Section {
  std::map<std::string, Router> routers;
  std::map<std::string, Service> services;
  std::map<std::string, Middleware> middlewares;
  std::map<std::string, NamedObject> transports;
};

struct Config {
  Section http, tcp, udp;
  std::map<std::string, NamedObject> tls_options;
  std::map<std::string, NamedObject> tls_stores;
  std::vector<TlsCertificate> certificates;

  Section& section(Protocol p) { return p == Protocol::http ? http : p == Protocol::tcp ? tcp : udp; }
  const Section& section(Protocol p) const { return p == Protocol::http ? http : p == Protocol::tcp ? tcp : udp; }
};

// Adds the objects of one decoded file to config. A name already defined by
// an earlier file is kept, and the new one is reported (CR041) and skipped,
// as Traefik does. Reports services and middlewares with no or several types.
void add_document(Config& config, const DocNode& root, const SourceSet& sources, Diagnostics& diags);

}  // namespace certroute::routes

// Helpers of the Kubernetes targets: object names (DNS-1123, deterministic,
// collision-free), YAML scalars, server ports, rule overlap; and the CR050
// diagnostics of the targets for what they cannot express.
#include <catch2/catch.hpp>

#include <regex>
#include <set>

#include "core/routes/loader.hpp"
#include "core/routes/render/analysis.hpp"
#include "core/routes/render/renderer.hpp"

using namespace certroute::routes;
using namespace certroute::routes::render;

namespace {

bool dns1123_label(const std::string& s) {
  static const std::regex re("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
  return s.size() <= 63 && std::regex_match(s, re);
}

std::string render_to(const char* target, const std::string& yaml, Diagnostics& d) {
  LoadedConfig loaded = load_text("t.yml", yaml);
  return find_target(target)->make()->render(loaded, {}, d).main;
}

bool has_diag(const Diagnostics& d, const std::string& part) {
  for (const auto& x : d.items())
    if (x.code == Code::unsupported_by_target && x.message.find(part) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("k8s_name: valid names stay, others are mapped with a hash", "[render][k8s]") {
  CHECK(k8s_name("web-front") == "web-front");
  CHECK(k8s_name("api") == "api");
  std::string a = k8s_name("Web_Front@file");
  CHECK(a.starts_with("web-front-file-"));
  CHECK(a.size() == std::string("web-front-file-").size() + 6);
  CHECK(k8s_name("Web_Front@file") == a);  // deterministic
  CHECK(k8s_name("web_front") != k8s_name("web.front"));
  CHECK(k8s_name("WEB-FRONT") != "web-front");
  std::string long_name(100, 'a');
  CHECK(k8s_name(long_name).size() == 63);
  CHECK(k8s_name(long_name) != k8s_name(long_name + "b"));
  for (std::string n : std::vector<std::string>{"Web_Front@file", "--x--", "___", "", "a.b.c", "1st", std::string(80, '-') + "z", "ÄÖÜ"}) {
    INFO(n);
    CHECK(dns1123_label(k8s_name(n)));
    std::string s = k8s_name(n, true);
    CHECK(dns1123_label(s));
    CHECK((s[0] >= 'a' && s[0] <= 'z'));
  }
  CHECK(k8s_name("1st", true).starts_with("s-1st-"));
}

TEST_CASE("k8s_names: no collisions, deterministic", "[render][k8s]") {
  std::vector<std::string> names{"web-front", "Web_Front", "web.front", "web_front", "web-front-2"};
  auto m = k8s_names(names);
  std::set<std::string> seen;
  for (const auto& [k, v] : m) {
    CHECK(dns1123_label(v));
    CHECK(seen.insert(v).second);
  }
  CHECK(m.at("web-front") == "web-front");
  std::vector<std::string> reversed(names.rbegin(), names.rend());
  CHECK(k8s_names(reversed) == m);
}

TEST_CASE("yaml_scalar quotes what YAML would read otherwise", "[render][k8s]") {
  CHECK(yaml_scalar("example.com") == "example.com");
  CHECK(yaml_scalar("/api") == "/api");
  CHECK(yaml_scalar("http://a:80") == "http://a:80");
  for (std::string s : std::vector<std::string>{"true", "no", "On", "null", "8080", "1.5", "", "*.example.com", "a b", "x: y", "#c", "-x", "~"}) {
    INFO(s);
    CHECK(yaml_scalar(s) != s);
  }
  CHECK(yaml_scalar("Host(`a`)") == "\"Host(`a`)\"");
  CHECK(yaml_scalar("^a\\.b$") == "'^a\\.b$'");
  CHECK(yaml_scalar("it's \\ \"x\"") == "\"it's \\\\ \\\"x\\\"\"");
  CHECK(yaml_scalar("a\nb") == "\"a\\nb\"");
}

TEST_CASE("server_port", "[render][k8s]") {
  std::string scheme;
  CHECK(server_port("http://10.0.0.1:8080/x", &scheme) == 8080);
  CHECK(scheme == "http");
  CHECK(server_port("https://backend") == 443);
  CHECK(server_port("h2c://grpc") == 80);
  CHECK(server_port("http://[::1]:9000") == 9000);
  CHECK(server_port("http://u:p@h:81") == 81);
  CHECK(server_port("10.0.0.5:5432") == 5432);
  CHECK(server_port("[2001:db8::1]:53") == 53);
  CHECK(server_port("backend") == 0);
  CHECK(server_port("h:99999") == 0);
}

TEST_CASE("may_overlap proves only what is disjoint", "[render][k8s]") {
  auto dnf_of = [](const Rule& r) {
    bool big = false;
    return to_dnf(*r.root, big);
  };
  Rule a = parse_rule("Host(`a.com`) && PathPrefix(`/api`)", RuleKind::http);
  Rule b = parse_rule("Host(`b.com`)", RuleKind::http);
  Rule c = parse_rule("Host(`A.com`) && Path(`/apiv2`)", RuleKind::http);
  Rule d = parse_rule("Path(`/web`)", RuleKind::http);
  Rule e = parse_rule("Host(`a.com`) && !PathPrefix(`/api`)", RuleKind::http);
  Rule f = parse_rule("HostRegexp(`^[a-z]+\\.org$`)", RuleKind::http);
  Rule g = parse_rule("Method(`GET`)", RuleKind::http);
  Rule h = parse_rule("Method(`POST`) && Host(`a.com`)", RuleKind::http);
  CHECK_FALSE(may_overlap(dnf_of(a)[0], dnf_of(b)[0]));
  CHECK(may_overlap(dnf_of(a)[0], dnf_of(c)[0]));  // Traefik's prefix: /api matches /apiv2
  CHECK_FALSE(may_overlap(dnf_of(a)[0], dnf_of(d)[0]));
  CHECK_FALSE(may_overlap(dnf_of(a)[0], dnf_of(e)[0]));
  CHECK_FALSE(may_overlap(dnf_of(b)[0], dnf_of(f)[0]));
  CHECK_FALSE(may_overlap(dnf_of(g)[0], dnf_of(h)[0]));
  CHECK(may_overlap(dnf_of(d)[0], dnf_of(g)[0]));
}

TEST_CASE("gateway-api: PathPrefix becomes an exact regular expression", "[render][k8s]") {
  Diagnostics d;
  std::string out = render_to("gateway-api", R"(http:
  routers:
    r:
      rule: Host(`a.com`) && PathPrefix(`/api.v1`)
      service: s
  services:
    s:
      loadBalancer:
        servers: [{url: "http://s:8080"}]
)", d);
  CHECK(out.find("type: RegularExpression") != std::string::npos);
  CHECK(out.find("value: '^/api\\.v1.*'") != std::string::npos);
  CHECK(out.find("port: 8080") != std::string::npos);
  CHECK(d.items().empty());
}

TEST_CASE("gateway-api and ingress report priority orders they cannot keep", "[render][k8s]") {
  const char* yaml = R"(http:
  routers:
    all:
      rule: PathPrefix(`/`)
      priority: 100
      service: s
    cart:
      rule: Host(`shop.com`) && Path(`/cart`)
      service: s
  services:
    s:
      loadBalancer:
        servers: [{url: "http://s:80"}]
)";
  Diagnostics g, i;
  render_to("gateway-api", yaml, g);
  render_to("ingress", yaml, i);
  CHECK(has_diag(g, "router 'all' comes before router 'cart'"));
  CHECK(has_diag(i, "router 'all' comes before router 'cart'"));
}

TEST_CASE("guards that a target cannot express keep the router out", "[render][k8s]") {
  const char* yaml = R"(http:
  routers:
    admin:
      rule: Host(`admin.com`)
      middlewares: [auth]
      service: s
  middlewares:
    auth:
      ipAllowList:
        sourceRange: [10.0.0.0/8]
  services:
    s:
      loadBalancer:
        servers: [{url: "http://s:80"}]
)";
  for (const char* t : {"gateway-api", "ingress"}) {
    Diagnostics d;
    std::string out = render_to(t, yaml, d);
    INFO(t);
    CHECK(out.find("admin.com") == std::string::npos);
    CHECK(has_diag(d, "guards it"));
  }
  Diagnostics d;
  std::string out = render_to("ingressroute", yaml, d);
  CHECK(out.find("kind: Middleware") != std::string::npos);
  CHECK(out.find("- name: auth") != std::string::npos);
  CHECK(d.items().empty());
}

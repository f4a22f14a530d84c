#include "core/renew/spec.hpp"

namespace certroute::renew {
using util::ErrorKind;
using util::fail;

nlohmann::json CertSpec::to_json() const {
  nlohmann::json j{{"version", 1},
                   {"name", name},
                   {"server", server},
                   {"server_alias", server_alias},
                   {"ca_bundle", ca_bundle},
                   {"account", account_url},
                   {"domains", domains},
                   {"ips", ips},
                   {"key_type", key_type},
                   {"reuse_key", reuse_key},
                   {"csr_file", csr_file},
                   {"challenge", {{"type", challenge},
                                  {"http_port", http_port},
                                  {"webroot", webroot},
                                  {"tls_alpn_port", tls_alpn_port},
                                  {"dns_hook", dns_hook},
                                  {"dns_resolver", dns_resolver},
                                  {"dns_propagation_timeout", dns_propagation_timeout}}},
                   {"preferred_chain", preferred_chain},
                   {"profile", profile},
                   {"deploy_hooks", deploy_hooks},
                   {"out_dir", out_dir}};
  return j;
}

Result<CertSpec> CertSpec::from_json(const nlohmann::json& j, const std::string& source) {
  auto bad = [&](const std::string& why) { return fail(ErrorKind::bad_input, source + ": " + why); };
  if (!j.is_object()) return bad("not a JSON object");
  CertSpec s;
  try {
    s.name = j.at("name").get<std::string>();
    s.server = j.at("server").get<std::string>();
    s.server_alias = j.value("server_alias", s.server);
    s.ca_bundle = j.value("ca_bundle", "");
    s.account_url = j.value("account", "");
    s.domains = j.value("domains", std::vector<std::string>{});
    s.ips = j.value("ips", std::vector<std::string>{});
    s.key_type = j.value("key_type", "ec-p256");
    s.reuse_key = j.value("reuse_key", false);
    s.csr_file = j.value("csr_file", "");
    const auto& c = j.at("challenge");
    s.challenge = c.at("type").get<std::string>();
    s.http_port = c.value("http_port", 80);
    s.webroot = c.value("webroot", "");
    s.tls_alpn_port = c.value("tls_alpn_port", 443);
    s.dns_hook = c.value("dns_hook", "");
    s.dns_resolver = c.value("dns_resolver", "");
    s.dns_propagation_timeout = c.value("dns_propagation_timeout", 120.0);
    s.preferred_chain = j.value("preferred_chain", "");
    s.profile = j.value("profile", "");
    s.deploy_hooks = j.value("deploy_hooks", std::vector<std::string>{});
    s.out_dir = j.value("out_dir", "");
  } catch (const nlohmann::json::exception& e) {
    return bad(std::string("malformed spec: ") + e.what());
  }
  if (s.domains.empty() && s.ips.empty() && s.csr_file.empty()) return bad("no domains or IPs");
  if (s.challenge != "http-01" && s.challenge != "dns-01" && s.challenge != "tls-alpn-01")
    return bad("unknown challenge type '" + s.challenge + "'");
  return s;
}

}  // namespace certroute::renew

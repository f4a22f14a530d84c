#include "core/acme/problem.hpp"

namespace certroute::acme {

std::string short_problem_type(std::string_view type) {
  constexpr std::string_view prefix = "urn:ietf:params:acme:error:";
  if (type.starts_with(prefix)) return std::string(type.substr(prefix.size()));
  return std::string(type);
}

std::optional<Problem> parse_problem(std::string_view body, long status) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("type") || !j["type"].is_string()) return std::nullopt;
  Problem p;
  p.type = short_problem_type(j["type"].get<std::string>());
  p.detail = j.value("detail", "");
  p.status = j.contains("status") && j["status"].is_number_integer() ? j["status"].get<long>() : status;
  p.instance = j.value("instance", "");
  if (j.contains("subproblems") && j["subproblems"].is_array()) {
    for (const auto& s : j["subproblems"]) {
      if (!s.is_object()) continue;
      Subproblem sp;
      sp.type = short_problem_type(s.value("type", ""));
      sp.detail = s.value("detail", "");
      if (s.contains("identifier") && s["identifier"].is_object())
        sp.identifier = s["identifier"].value("type", "") + ":" + s["identifier"].value("value", "");
      p.subproblems.push_back(std::move(sp));
    }
  }
  return p;
}

std::string Problem::describe() const {
  std::string s = type + (detail.empty() ? "" : ": " + detail);
  for (const auto& sp : subproblems) {
    s += "; " + (sp.identifier.empty() ? "" : sp.identifier + ": ") + sp.type + (sp.detail.empty() ? "" : ": " + sp.detail);
  }
  if (type == "userActionRequired" && !instance.empty()) s += " (see " + instance + ")";
  return s;
}

util::ErrorKind Problem::kind() const {
  if (status >= 500 || type == "serverInternal") return util::ErrorKind::remote;
  return util::ErrorKind::problem;
}

}  // namespace certroute::acme

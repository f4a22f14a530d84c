// Lint findings: one record per finding, with a stable code from one table.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/routes/source.hpp"

namespace certroute::routes {

enum class Severity { error, warning };

// Every finding the loader, the rule parser and the checks can report. The
// numbers are stable: a code is never reused for another meaning.
enum class Code {
  syntax,                 // CR001
  unknown_key,            // CR002
  unknown_top_level_key,  // CR003
  wrong_type,             // CR004
  duplicate_key,          // CR005
  file_ignored,           // CR006
  unreadable_file,        // CR007
  empty_file,             // CR008
  go_template,            // CR009
  deprecated,             // CR010
  invalid_value,          // CR011
  ignored_value,          // CR012
  invalid_url,            // CR013
  not_json,               // CR014
  env_placeholder,        // CR015
  rule_syntax,            // CR020
  unknown_matcher,        // CR021
  matcher_arguments,      // CR022
  invalid_regex,          // CR023
  invalid_matcher_value,  // CR024
  v2_syntax,              // CR025
  v2_meaning_changed,     // CR026
  never_matches,          // CR027
  missing_rule,           // CR028
  undefined_service,      // CR030
  undefined_middleware,   // CR031
  undefined_tls_options,  // CR032
  undefined_entry_point,  // CR033
  undefined_transport,    // CR034
  middleware_cycle,       // CR035
  missing_service,        // CR036
  service_type,           // CR037
  middleware_type,        // CR038
  no_servers,             // CR040
  duplicate_name,         // CR041
  tls_certificate,        // CR042
  shadowed_router,        // CR043
  sni_without_tls,        // CR044
  unsupported_by_target,  // CR050 (routes render)
  unsupported_by_proxy,   // CR051 (proxy)
};

struct CodeInfo {
  Code code;
  std::string_view id;           // "CR001"
  Severity severity;
  std::string_view name;         // short kebab-case name, SARIF rule name
  std::string_view summary;      // one line
  std::string_view explanation;  // what it means and how to fix it (several lines)
};

// The table of every code, in code order.
std::span<const CodeInfo> code_table();
const CodeInfo& code_info(Code code);
// Looks a code up by its id, case-insensitively ("cr001" works); nullptr if unknown.
const CodeInfo* find_code(std::string_view id);

struct Diagnostic {
  Code code;
  Severity severity;
  Pos pos;
  std::string message;
  std::string hint;  // optional: what to write instead
};

// The findings of one run, in the order they were found.
class Diagnostics {
 public:
  void add(Code code, Pos pos, std::string message, std::string hint = {});
  const std::vector<Diagnostic>& items() const { return items_; }
  std::vector<Diagnostic>& items() { return items_; }
  std::size_t errors() const;
  std::size_t warnings() const;
  // Sorts by file, line, column (stable, so findings at one place keep their order).
  void sort();

 private:
  std::vector<Diagnostic> items_;
};

const char* severity_name(Severity s);

}  // namespace certroute::routes

// The printers of lint results: compiler-style text, JSON, SARIF 2.1.0 and
// GitHub workflow commands. Pure functions returning the text to print.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/routes/diagnostic.hpp"
#include "core/routes/loader.hpp"

namespace certroute::routes {

struct TextOptions {
  bool source_lines = false;  // the source line and a caret under each diagnostic (on a TTY)
  bool color = false;
  bool errors_only = false;   // --quiet
};

// "file:line:col: severity: message [CODE]" per diagnostic, with "  hint: ..."
// lines, and with options.source_lines the line and a caret.
std::string format_text(const LoadedConfig& loaded, const TextOptions& options);
// "N errors, M warnings in K files" (or "K files checked: no problems").
std::string format_summary(const LoadedConfig& loaded);
nlohmann::json format_json(const LoadedConfig& loaded);
nlohmann::json format_sarif(const LoadedConfig& loaded, std::string_view tool_version);
std::string format_github(const LoadedConfig& loaded);
// The text of `routes lint --explain CODE`.
std::string explain(const CodeInfo& code);

}  // namespace certroute::routes

// The lint checks: pure functions over a loaded configuration that append
// diagnostics. Errors and warnings never stop the scan.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/routes/loader.hpp"

namespace certroute::routes {

struct LintOptions {
  std::vector<std::string> entry_points;  // the static configuration's entry points; empty: not checked
  bool check_certificate_files = true;    // read tls.certificates files from disk
};

// Runs every check of the table below on `loaded`, appending to its
// diagnostics, then sorts them by file and position.
void lint(LoadedConfig& loaded, const LintOptions& options = {});

// The table of checks, for documentation and tests.
struct LintCheck {
  std::string_view name;
  std::string_view description;
};
std::span<const LintCheck> lint_checks();

}  // namespace certroute::routes

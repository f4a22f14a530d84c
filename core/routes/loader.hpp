// Reads files and directories the way Traefik's file provider does, and
// builds one Config from all of them.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/routes/config.hpp"
#include "core/routes/diagnostic.hpp"
#include "core/routes/document.hpp"
#include "core/routes/source.hpp"

namespace certroute::routes {

struct LoadOptions {
  std::size_t max_file_size = 16 * 1024 * 1024;
  ReadLimits limits;
};

// Everything one load produced. The model points into the documents, so the
// whole struct is moved around as one (it is not copyable).
struct LoadedConfig {
  SourceSet sources;
  std::vector<std::unique_ptr<DocNode>> documents;
  Config config;
  Diagnostics diagnostics;
  // PATHs given by the user that could not be read at all (exit 3): missing,
  // permission denied, not a file or directory. One message each:
  // "reading PATH: no such file or directory".
  std::vector<std::string> errors;
  std::size_t files_loaded = 0;

  LoadedConfig() = default;
  LoadedConfig(LoadedConfig&&) = default;
  LoadedConfig& operator=(LoadedConfig&&) = default;
  LoadedConfig(const LoadedConfig&) = delete;
  LoadedConfig& operator=(const LoadedConfig&) = delete;
};

// Loads every PATH (a file, or a directory read recursively: .yml, .yaml and
// .toml files in name order; a .json file there is skipped with a warning; a
// file named explicitly may be .json). All PATHs form one configuration; on
// duplicate names the first definition wins. Never throws on bad input.
LoadedConfig load_config(const std::vector<std::string>& paths, const LoadOptions& options = {});

// Loads one in-memory text as if it were a file with this path (tests, fuzzing).
LoadedConfig load_text(const std::string& path, std::string text, const LoadOptions& options = {});

// Which reader a file name selects (by extension, case-insensitively).
Format format_for(const std::string& path);

}  // namespace certroute::routes

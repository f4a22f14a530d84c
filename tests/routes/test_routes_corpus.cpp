// Every file of the shared corpus of real Traefik dynamic configurations
// (../shared/corpus/traefik-dynamic, 42 public repositories) loads, and lint
// finds no error in it except where the file is really wrong (listed below
// with the reason). Files of one repository are linted together, as the
// directory Traefik reads them from.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/routes/lint.hpp"

using namespace certroute::routes;
namespace fs = std::filesystem;

#ifndef CERTROUTE_CORPUS_DIR
#error "CERTROUTE_CORPUS_DIR must name the corpus directory"
#endif

namespace {

// File -> why it really is wrong (what Traefik does with it).
const std::map<std::string, std::string> kExpectedErrors = {
    {"HardBoss07__homelab__dynamic.yml",
     "a router 'websecure' with only middlewares (meant as global middlewares): no rule and no service, Traefik "
     "reports the router in error"},
    {"JakobFerdinand__homeassistant__traefik__config__dynamic.yml",
     "sniStrict and curvePreferences directly under tls: instead of tls.options.<name>: Traefik rejects the file"},
    {"shawly__docker-templates__traefik__config__dynamic.yml",
     "sniStrict and curvePreferences directly under tls: instead of tls.options.<name>: Traefik rejects the file"},
    {"moeb98__moe-lab__traefik__config__dynamic.yml",
     "sniStrict and curvePreferences at the level of TLS option names (tls.options.sniStrict): not TLS options, "
     "Traefik's decoder rejects the file"},
    {"LJafri__traefik-config__dynamic_config.yml",
     "Headers(`X-Target-Endpoint`, ...) is v2 rule syntax; Traefik v3 rejects both routers (v3: Header)"},
    {"teal-fm__teal__traefik__dynamic_conf.yml",
     "headers.accessControlAllowOrigin was removed in Traefik v2 (accessControlAllowOriginList): Traefik rejects "
     "the file"},
};

struct Entry {
  std::string repo;
  std::string file;
};

std::vector<Entry> read_provenance(const fs::path& dir) {
  std::ifstream in(dir / "PROVENANCE.tsv");
  REQUIRE(in);
  std::vector<Entry> out;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string col;
    while (std::getline(ss, col, '\t')) cols.push_back(col);
    if (cols.size() >= 6) out.push_back({cols[0], cols[5]});
  }
  return out;
}

}  // namespace

TEST_CASE("corpus: real configurations load, and lint finds only the known errors", "[corpus]") {
  const fs::path dir = CERTROUTE_CORPUS_DIR;
  if (!fs::is_directory(dir)) {
    FAIL(std::string("corpus not found at ") + dir.string() + " (the repository is expected beside shared/)");
  }
  auto entries = read_provenance(dir);
  REQUIRE(entries.size() >= 50);
  std::map<std::string, std::vector<std::string>> repos;
  for (const auto& e : entries) repos[e.repo].push_back((dir / e.file).string());
  // Every file of the directory is in PROVENANCE.tsv.
  std::size_t on_disk = 0;
  for (const auto& p : fs::recursive_directory_iterator(dir)) {
    auto ext = p.path().extension();
    if (ext == ".yml" || ext == ".yaml" || ext == ".toml" || ext == ".json") ++on_disk;
  }
  CHECK(on_disk == entries.size());

  std::map<std::string, std::string> found;  // file -> first error
  std::size_t files = 0;
  for (auto& [repo, paths] : repos) {
    std::sort(paths.begin(), paths.end());
    auto loaded = load_config(paths);
    CHECK(loaded.errors.empty());
    files += loaded.files_loaded;
    lint(loaded, LintOptions{.check_certificate_files = false});
    for (const auto& d : loaded.diagnostics.items()) {
      if (d.severity != Severity::error) continue;
      std::string file = fs::path(loaded.sources.path_of(d.pos)).filename().string();
      std::string text = std::string(code_info(d.code).id) + " line " + std::to_string(d.pos.line) + ": " + d.message;
      if (!kExpectedErrors.count(file)) {
        FAIL_CHECK(std::string("unexpected error in ") + file + " (" + repo + "): " + text);
      }
      found.emplace(file, text);
    }
  }
  CHECK(files == entries.size());
  for (const auto& [file, why] : kExpectedErrors) {
    INFO(file << ": expected because " << why);
    CHECK(found.count(file) == 1);
  }
}

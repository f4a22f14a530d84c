// libFuzzer target: the loaders (YAML, JSON or TOML, chosen at build time by
// CERTROUTE_FUZZ_EXT), the decoder, every lint check and the printers, on
// untrusted bytes. Built and run by scripts/fuzz.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/routes/lint.hpp"
#include "core/routes/report.hpp"

#ifndef CERTROUTE_FUZZ_EXT
#define CERTROUTE_FUZZ_EXT ".yml"
#endif

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace certroute::routes;
  std::string text(reinterpret_cast<const char*>(data), size);
  LoadOptions options;
  options.max_file_size = 1 << 20;
  LoadedConfig loaded = load_text(std::string("fuzz") + CERTROUTE_FUZZ_EXT, std::move(text), options);
  lint(loaded, LintOptions{.entry_points = {"web"}, .check_certificate_files = false});
  (void)format_text(loaded, TextOptions{.source_lines = true});
  // A strict dump throws (so the fuzzer stops) on invalid UTF-8 in a message.
  (void)format_sarif(loaded, "fuzz").dump();
  (void)format_json(loaded).dump();
  (void)format_github(loaded);
  return 0;
}

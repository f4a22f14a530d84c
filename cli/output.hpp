// How every command talks to the user: the global flags, the error line, the
// mapping from error kinds to exit codes, JSON on stdout.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "core/util/error.hpp"

namespace certroute::cli {

// Exit codes, the same for every command (ARCHITECTURE.md).
enum ExitCode : int {
  exit_ok = 0,
  exit_problem = 1,
  exit_usage = 2,
  exit_bad_input = 3,
  exit_remote = 4,
  exit_internal = 5,
};

int exit_code_for(util::ErrorKind kind);

struct Globals {
  bool json = false;
  bool quiet = false;
  bool no_color = false;
};

// Adds --json, --quiet and --no-color to a command (every leaf has them, so
// they may go anywhere after the command name).
void add_global_flags(CLI::App* app, Globals& g);

class Output {
 public:
  explicit Output(const Globals& g);

  bool json() const { return g_.json; }
  bool quiet() const { return g_.quiet; }

  // A line of normal output on stdout; suppressed by --quiet and --json.
  void info(const std::string& line) const;
  // Text on stdout regardless of --quiet (the thing the user asked to see).
  void print(const std::string& text) const;
  // A JSON document on stdout (pretty, with a trailing newline).
  void print_json(const nlohmann::json& doc) const;
  // "certroute: <message>" on stderr, plus "hint: ..." when there is one;
  // with --json also {"error": ...} on stdout. Returns the exit code.
  int error(const util::Error& e) const;
  // A failed check: "certroute: <message>" on stderr, never suppressed.
  void failure(const std::string& message) const;

  // Colour helpers: only on a terminal, never with NO_COLOR or --no-color.
  std::string bold(const std::string& s, bool for_stderr = false) const;
  std::string red(const std::string& s, bool for_stderr = true) const;
  std::string green(const std::string& s, bool for_stderr = false) const;

 private:
  const Globals& g_;
  bool color_stdout_;
  bool color_stderr_;
};

// A command registers a callback that returns its exit code; main runs it.
using Runner = std::function<int()>;

// A number >= 0 (or > 0), with a readable message when it is not.
CLI::Validator non_negative();
CLI::Validator positive();

}  // namespace certroute::cli

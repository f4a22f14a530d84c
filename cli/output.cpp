#include "cli/output.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <unistd.h>

namespace certroute::cli {

int exit_code_for(util::ErrorKind kind) {
  switch (kind) {
    case util::ErrorKind::problem: return exit_problem;
    case util::ErrorKind::usage: return exit_usage;
    case util::ErrorKind::bad_input: return exit_bad_input;
    case util::ErrorKind::remote: return exit_remote;
    case util::ErrorKind::internal: return exit_internal;
  }
  return exit_internal;
}

static const char* kind_name(util::ErrorKind kind) {
  switch (kind) {
    case util::ErrorKind::problem: return "problem";
    case util::ErrorKind::usage: return "usage";
    case util::ErrorKind::bad_input: return "bad_input";
    case util::ErrorKind::remote: return "remote";
    case util::ErrorKind::internal: return "internal";
  }
  return "internal";
}

CLI::Validator non_negative() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        try {
          size_t used = 0;
          double d = std::stod(v, &used);
          if (used == v.size() && d >= 0) return {};
        } catch (...) {
        }
        return "'" + v + "' is not a number of 0 or more";
      },
      "NUMBER>=0");
}

CLI::Validator positive() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        try {
          size_t used = 0;
          double d = std::stod(v, &used);
          if (used == v.size() && d > 0) return {};
        } catch (...) {
        }
        return "'" + v + "' is not a number above 0";
      },
      "NUMBER>0");
}

void add_global_flags(CLI::App* app, Globals& g) {
  app->add_flag("--json", g.json, "Print a machine-readable JSON result on stdout");
  app->add_flag("-q,--quiet", g.quiet, "Print nothing but failures");
  app->add_flag("--no-color", g.no_color, "Never colour the output (also: NO_COLOR)");
}

static bool want_color(int fd, const Globals& g) {
  if (g.no_color) return false;
  const char* nc = std::getenv("NO_COLOR");
  if (nc && *nc) return false;
  const char* term = std::getenv("TERM");
  if (term && std::string(term) == "dumb") return false;
  return ::isatty(fd) == 1;
}

Output::Output(const Globals& g)
    : g_(g), color_stdout_(want_color(STDOUT_FILENO, g)), color_stderr_(want_color(STDERR_FILENO, g)) {}

void Output::info(const std::string& line) const {
  if (g_.quiet || g_.json) return;
  std::cout << line << '\n';
}

void Output::print(const std::string& text) const { std::cout << text << std::flush; }

void Output::print_json(const nlohmann::json& doc) const {
  std::cout << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n' << std::flush;
}

int Output::error(const util::Error& e) const {
  std::cout << std::flush;
  std::cerr << red("certroute:") << ' ' << e.message() << '\n';
  if (!e.hint().empty()) std::cerr << "hint: " << e.hint() << '\n';
  if (g_.json) {
    nlohmann::json j{{"error", {{"kind", kind_name(e.kind())}, {"message", e.message()}}}};
    if (!e.hint().empty()) j["error"]["hint"] = e.hint();
    print_json(j);
  }
  return exit_code_for(e.kind());
}

void Output::failure(const std::string& message) const {
  std::cerr << red("certroute:") << ' ' << message << '\n';
}

std::string Output::bold(const std::string& s, bool for_stderr) const {
  return (for_stderr ? color_stderr_ : color_stdout_) ? "\033[1m" + s + "\033[0m" : s;
}
std::string Output::red(const std::string& s, bool for_stderr) const {
  return (for_stderr ? color_stderr_ : color_stdout_) ? "\033[1;31m" + s + "\033[0m" : s;
}
std::string Output::green(const std::string& s, bool for_stderr) const {
  return (for_stderr ? color_stderr_ : color_stdout_) ? "\033[32m" + s + "\033[0m" : s;
}

}  // namespace certroute::cli

// Running hook commands: through /bin/sh -c, with extra arguments passed
// safely as "$@", extra environment variables, and a timeout.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/util/error.hpp"

namespace certroute::util {

struct HookResult {
  int exit_code = 0;       // exit status, or 128+signal
  bool timed_out = false;
  std::string output;      // stdout and stderr, merged, at most 64 KiB kept
};

struct HookOptions {
  std::vector<std::string> args;                            // appended as "$1" "$2" ...
  std::vector<std::pair<std::string, std::string>> env;    // added to the environment
  double timeout_seconds = 300;
  bool capture_output = true;  // else the hook inherits stdout/stderr
};

// Runs `command` as /bin/sh -c 'command "$@"' sh args... Failing to start is
// an internal error; a non-zero exit is a HookResult, for the caller to judge.
Result<HookResult> run_hook(const std::string& command, const HookOptions& options);

// "exit 3", "killed by signal 9", "timed out after 5 s", "not found (exit 127)".
std::string describe_hook_failure(const HookResult& r, double timeout_seconds);

}  // namespace certroute::util

#include "core/util/process.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace certroute::util {

Result<HookResult> run_hook(const std::string& command, const HookOptions& options) {
  std::vector<std::string> argv_s{"/bin/sh", "-c", command + " \"$@\"", "sh"};
  for (const auto& a : options.args) argv_s.push_back(a);
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    bool overridden = false;
    for (const auto& [k, v] : options.env)
      if (kv.starts_with(k + "=")) overridden = true;
    if (!overridden) env_s.emplace_back(kv);
  }
  for (const auto& [k, v] : options.env) env_s.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_s) envp.push_back(s.data());
  envp.push_back(nullptr);

  int out[2] = {-1, -1};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (options.capture_output) {
    if (::pipe2(out, O_CLOEXEC) != 0) return fail(ErrorKind::internal, "pipe: " + std::string(std::strerror(errno)));
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDERR_FILENO);
  }
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group, so a timeout can stop the hook and its children.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (out[1] >= 0) ::close(out[1]);
  if (rc != 0) {
    if (out[0] >= 0) ::close(out[0]);
    return fail(ErrorKind::internal, "running hook '" + command + "': " + std::strerror(rc));
  }

  HookResult result;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(options.timeout_seconds);
  int status = 0;
  bool exited = false;
  while (!exited) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      result.timed_out = true;
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    if (out[0] >= 0) {
      pollfd p{out[0], POLLIN, 0};
      int n = ::poll(&p, 1, static_cast<int>(std::min<long>(left, 100)));
      if (n > 0) {
        char buf[4096];
        ssize_t got = ::read(out[0], buf, sizeof buf);
        if (got > 0) {
          if (result.output.size() < 65536) result.output.append(buf, static_cast<size_t>(got));
        } else if (got == 0) {
          ::close(out[0]);
          out[0] = -1;
        }
      }
    } else {
      ::usleep(static_cast<useconds_t>(std::min<long>(left, 20) * 1000));
    }
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) exited = true;
  }
  if (out[0] >= 0) {
    // Drain what the hook wrote just before exiting.
    char buf[4096];
    int fl = fcntl(out[0], F_GETFL);
    fcntl(out[0], F_SETFL, fl | O_NONBLOCK);
    ssize_t got;
    while ((got = ::read(out[0], buf, sizeof buf)) > 0)
      if (result.output.size() < 65536) result.output.append(buf, static_cast<size_t>(got));
    ::close(out[0]);
  }
  if (!result.timed_out) {
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) result.exit_code = 128 + WTERMSIG(status);
  } else {
    result.exit_code = 128 + SIGKILL;
  }
  return result;
}

std::string describe_hook_failure(const HookResult& r, double timeout_seconds) {
  std::string s;
  if (r.timed_out) {
    s = "timed out after " + std::to_string(static_cast<long>(timeout_seconds)) + " s";
  } else if (r.exit_code == 127) {
    s = "command not found (exit 127)";
  } else if (r.exit_code == 126) {
    s = "not executable (exit 126)";
  } else if (r.exit_code > 128) {
    s = "killed by signal " + std::to_string(r.exit_code - 128);
  } else {
    s = "exit " + std::to_string(r.exit_code);
  }
  // The hook's last line of output usually says why.
  std::string out = r.output;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) out.pop_back();
  if (!out.empty()) {
    auto nl = out.rfind('\n');
    std::string last = nl == std::string::npos ? out : out.substr(nl + 1);
    if (last.size() > 200) last = last.substr(0, 200) + "...";
    s += " (" + last + ")";
  }
  return s;
}

}  // namespace certroute::util

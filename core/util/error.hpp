// Error values for the whole core: every fallible function returns Result<T>.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <utility>

namespace certroute::util {

// What kind of failure this is. The CLI maps each kind to one exit code
// (see ARCHITECTURE.md): the mapping lives in cli/, not here.
enum class ErrorKind {
  problem,    // the command ran and found a problem (check failed, file exists)  -> 1
  usage,      // a flag or flag combination that cannot work                      -> 2
  bad_input,  // unreadable or malformed file, invalid name, wrong passphrase     -> 3
  remote,     // a server or the network failed                                   -> 4
  internal,   // a bug, or the system failing in a way we did not expect          -> 5
};

// Where in a source file an error was found (1-based; 0 = unknown).
struct SourcePos {
  std::string file;
  int line = 0;
  int column = 0;
};

class Error {
 public:
  Error(ErrorKind kind, std::string message) : kind_(kind), message_(std::move(message)) {}

  ErrorKind kind() const { return kind_; }
  // The chain of context phrases and the cause: "reading key.pem: no such file".
  const std::string& message() const { return message_; }
  const std::optional<SourcePos>& position() const { return position_; }
  // An optional second line telling the user what to do about it.
  const std::string& hint() const { return hint_; }

  // Prefix a context phrase, so the user reads the chain from outer to inner.
  Error&& context(const std::string& what) && {
    message_ = what + ": " + message_;
    return std::move(*this);
  }
  Error& context(const std::string& what) & {
    message_ = what + ": " + message_;
    return *this;
  }
  Error&& with_hint(std::string hint) && {
    hint_ = std::move(hint);
    return std::move(*this);
  }
  Error&& at(SourcePos pos) && {
    position_ = std::move(pos);
    return std::move(*this);
  }

 private:
  ErrorKind kind_;
  std::string message_;
  std::string hint_;
  std::optional<SourcePos> position_;
};

template <typename T>
using Result = std::expected<T, Error>;

// Shorthands for building the unexpected side.
inline std::unexpected<Error> fail(ErrorKind kind, std::string message) {
  return std::unexpected<Error>(Error(kind, std::move(message)));
}
inline std::unexpected<Error> fail(Error e) { return std::unexpected<Error>(std::move(e)); }

// Propagate an error with one more context phrase.
template <typename T>
std::unexpected<Error> fail_with(Result<T>&& r, const std::string& what) {
  return std::unexpected<Error>(std::move(r.error()).context(what));
}

}  // namespace certroute::util

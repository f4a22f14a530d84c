// Reading and atomically writing files.
#pragma once

#include <string>
#include <sys/types.h>

#include "core/util/error.hpp"

namespace certroute::util {

// Reads a whole regular file. Missing files, directories and unreadable files
// are bad_input errors naming the path. "-" is not special here.
Result<std::string> read_file(const std::string& path);

// Reads all of standard input.
Result<std::string> read_stdin();

// Reads a file, or standard input when path is "-".
Result<std::string> read_input(const std::string& path);

// Reads a passphrase file: its first line, without the line terminator.
Result<std::string> read_passphrase_file(const std::string& path);

struct WriteOptions {
  mode_t mode = 0644;      // mode of the new file (the temporary is created with it)
  bool overwrite = false;  // without it, an existing file is a `problem` error
};

// Writes `data` to `path` so that a reader (or a crash) only ever sees the old
// file or the new one whole: a temporary file in the same directory, created
// with `mode` (never wider), written, fsync'd, renamed over `path`, and the
// directory fsync'd. On any failure the temporary is removed.
Result<void> write_file_atomic(const std::string& path, std::string_view data,
                               const WriteOptions& options = {});

// Writes to standard output, reporting EPIPE and friends as errors.
Result<void> write_stdout(std::string_view data);

bool file_exists(const std::string& path);

}  // namespace certroute::util

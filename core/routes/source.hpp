// The files a configuration was read from, and positions inside them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace certroute::routes {

// A position in one of the files of a SourceSet. line and column are 1-based
// (column counts Unicode code points); line 0 means "the whole file", and
// file == no_file means "no file at all".
struct Pos {
  static constexpr std::uint32_t no_file = 0xffffffff;
  std::uint32_t file = no_file;
  int line = 0;
  int column = 0;
  bool valid() const { return file != no_file; }
};

// One file: the path as the user should read it, its text, and a line table.
class SourceFile {
 public:
  SourceFile(std::string path, std::string text);

  const std::string& path() const { return path_; }
  const std::string& text() const { return text_; }

  // 1-based line and column (in code points) of a byte offset.
  std::pair<int, int> line_col(std::size_t offset) const;
  // Byte offset of a 1-based line and column (column in code points).
  std::size_t offset_of(int line, int column) const;
  // The text of a 1-based line, without its line terminator ("" when out of range).
  std::string_view line_text(int line) const;

 private:
  std::string path_;
  std::string text_;
  std::vector<std::size_t> line_starts_;
};

// Every file read for one configuration, in the order they were read.
class SourceSet {
 public:
  std::uint32_t add(std::string path, std::string text);
  const SourceFile& at(std::uint32_t index) const { return files_.at(index); }
  std::size_t size() const { return files_.size(); }
  // Path of a position's file ("" for no file).
  std::string path_of(const Pos& pos) const;
  // A position from a file index and a byte offset.
  Pos pos_at(std::uint32_t file, std::size_t offset) const;

 private:
  std::vector<SourceFile> files_;
};

// Appends a Unicode code point to `out` as UTF-8 (JSON and rule-string escapes).
void append_utf8(std::string& out, std::uint32_t cp);

}  // namespace certroute::routes

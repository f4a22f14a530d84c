#include "core/routes/loader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

#include "core/routes/decode.hpp"

namespace certroute::routes {
namespace {

std::string errno_text(int err) {
  switch (err) {
    case ENOENT: return "no such file or directory";
    case EACCES: return "permission denied";
    case ELOOP: return "too many levels of symbolic links";
    case ENOTDIR: return "not a directory";
    default: return std::strerror(err);
  }
}

std::string extension(const std::string& path) {
  auto slash = path.rfind('/');
  auto dot = path.rfind('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string ext = path.substr(dot);
  for (char& c : ext)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return ext;
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

std::string size_text(std::size_t bytes) {
  if (bytes >= 1024 * 1024) return std::to_string(bytes / (1024 * 1024)) + " MiB";
  if (bytes >= 1024) return std::to_string(bytes / 1024) + " KiB";
  return std::to_string(bytes) + " bytes";
}

// Reads a regular file, refusing special files (a FIFO would block) and
// anything above the size limit. Returns false with a reason.
bool read_regular_file(const std::string& path, std::size_t limit, std::string& out, std::string& why) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    why = errno_text(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    why = S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file";
    return false;
  }
  if (static_cast<std::size_t>(st.st_size) > limit) {
    ::close(fd);
    why = "file is " + size_text(static_cast<std::size_t>(st.st_size)) + ", larger than the " + size_text(limit) +
          " limit";
    return false;
  }
  out.clear();
  out.reserve(static_cast<std::size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      why = errno_text(errno);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > limit) {
      ::close(fd);
      why = "file is larger than the " + size_text(limit) + " limit";
      return false;
    }
  }
  ::close(fd);
  return true;
}

// The offset of the first byte that is not valid UTF-8 (or a NUL), or npos.
std::size_t find_invalid_utf8(std::string_view s, bool& nul) {
  nul = false;
  std::size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0) {
      nul = true;
      return i;
    }
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return i;
    std::uint32_t cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    for (std::size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates, and code points above U+10FFFF.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return i;
    i += len;
  }
  return std::string_view::npos;
}

class Loader {
 public:
  Loader(LoadedConfig& out, const LoadOptions& opts) : out_(out), opts_(opts) {}

  void path(const std::string& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) {
      out_.errors.push_back("reading " + p + ": " + errno_text(errno));
      return;
    }
    if (S_ISDIR(st.st_mode)) {
      DIR* d = ::opendir(p.c_str());
      if (!d) {
        out_.errors.push_back("reading " + p + ": " + errno_text(errno));
        return;
      }
      ::closedir(d);
      directory(p, st, 0);
      return;
    }
    if (!S_ISREG(st.st_mode)) {
      out_.errors.push_back("reading " + p + ": not a regular file");
      return;
    }
    std::string text, why;
    if (!read_regular_file(p, opts_.max_file_size, text, why)) {
      if (why.starts_with("file is")) {
        // Readable but refused: a finding, not an unreadable PATH.
        std::uint32_t f = out_.sources.add(p, "");
        out_.diagnostics.add(Code::unreadable_file, Pos{f, 0, 0}, why);
        return;
      }
      out_.errors.push_back("reading " + p + ": " + why);
      return;
    }
    std::string ext = extension(p);
    Format fmt = format_for(p);
    std::uint32_t f = out_.sources.add(p, std::move(text));
    if (ext != ".yml" && ext != ".yaml" && ext != ".toml" && ext != ".json") {
      out_.diagnostics.add(Code::file_ignored, Pos{f, 0, 0},
                           "Traefik's file provider reads only .yml, .yaml and .toml files; read as YAML");
    }
    parse(f, fmt);
  }

 private:
  void directory(const std::string& dir, const struct stat& st, int depth) {
    if (!visited_.insert({st.st_dev, st.st_ino}).second) return;
    if (depth > 64) {
      std::uint32_t f = out_.sources.add(dir, "");
      out_.diagnostics.add(Code::unreadable_file, Pos{f, 0, 0}, "directories nest deeper than 64 levels; not read");
      return;
    }
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
      std::uint32_t f = out_.sources.add(dir, "");
      out_.diagnostics.add(Code::unreadable_file, Pos{f, 0, 0}, "cannot read the directory: " + errno_text(errno));
      return;
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(std::move(n));
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());  // Go's os.ReadDir: by name, bytewise
    for (const auto& name : names) {
      std::string p = join_path(dir, name);
      struct stat lst {};
      if (::lstat(p.c_str(), &lst) != 0) continue;
      if (S_ISDIR(lst.st_mode)) {
        directory(p, lst, depth + 1);
        continue;
      }
      std::string ext = extension(name);
      bool wanted = ext == ".yml" || ext == ".yaml" || ext == ".toml";
      if (S_ISLNK(lst.st_mode)) {
        struct stat tst {};
        if (::stat(p.c_str(), &tst) == 0 && S_ISDIR(tst.st_mode)) {
          std::uint32_t f = out_.sources.add(p, "");
          out_.diagnostics.add(Code::file_ignored, Pos{f, 0, 0},
                               "symbolic link to a directory: Traefik does not follow it, so its files are not read");
          continue;
        }
      }
      if (ext == ".json") {
        std::uint32_t f = out_.sources.add(p, "");
        out_.diagnostics.add(Code::file_ignored, Pos{f, 0, 0},
                             "Traefik's file provider skips .json files in a directory; rename it to .yml (JSON is YAML)");
        continue;
      }
      if (!wanted) continue;
      std::string text, why;
      if (!read_regular_file(p, opts_.max_file_size, text, why)) {
        std::uint32_t f = out_.sources.add(p, "");
        out_.diagnostics.add(Code::unreadable_file, Pos{f, 0, 0},
                             why.starts_with("file is") ? why : "cannot read the file: " + why);
        continue;
      }
      std::uint32_t f = out_.sources.add(p, std::move(text));
      parse(f, format_for(p));
    }
  }

 public:
  void parse(std::uint32_t f, Format fmt) {
    const std::string& text = out_.sources.at(f).text();
    ++out_.files_loaded;
    bool nul = false;
    std::size_t bad = find_invalid_utf8(text, nul);
    if (bad != std::string::npos) {
      out_.diagnostics.add(Code::syntax, out_.sources.pos_at(f, bad),
                           nul ? "binary file: NUL byte (Traefik reads UTF-8 text only)"
                               : "invalid UTF-8 (Traefik reads UTF-8 text only)");
      return;
    }
    TemplateScan scan;
    std::string_view parse_text = text;
    if (fmt != Format::json) {
      scan = replace_go_templates(text);
      if (!scan.ranges.empty()) {
        out_.diagnostics.add(Code::go_template, out_.sources.pos_at(f, scan.ranges.front().first),
                             "Go template action: Traefik renders the file as a template first; values produced by "
                             "templates are not checked");
        parse_text = scan.text;
      }
    }
    ReadInput in{out_.sources, f, parse_text, scan.ranges, opts_.limits};
    auto doc = std::make_unique<DocNode>();
    bool ok = false;
    switch (fmt) {
      case Format::yaml: ok = read_yaml(in, *doc, out_.diagnostics); break;
      case Format::json: {
        // Strict JSON first; Traefik's HTTP provider decodes the body as YAML,
        // so a file that is YAML but not JSON is a warning, checked as YAML.
        Diagnostics json_diags;
        ok = read_json(in, *doc, json_diags);
        if (!ok) {
          Diagnostics yaml_diags;
          auto ydoc = std::make_unique<DocNode>();
          if (read_yaml(in, *ydoc, yaml_diags)) {
            const Diagnostic& first = json_diags.items().front();
            out_.diagnostics.add(Code::not_json, first.pos,
                                 first.message + "; Traefik's HTTP provider reads it as YAML, so it is checked as YAML");
            for (auto& d : yaml_diags.items()) out_.diagnostics.items().push_back(std::move(d));
            doc = std::move(ydoc);
            ok = true;
            break;
          }
        }
        for (auto& d : json_diags.items()) out_.diagnostics.items().push_back(std::move(d));
        break;
      }
      case Format::toml: ok = read_toml(in, *doc, out_.diagnostics); break;
    }
    if (!ok) return;
    if (doc->is_null() || (doc->is_mapping() && doc->entries.empty())) {
      out_.diagnostics.add(Code::empty_file, Pos{f, 0, 0}, "the file defines nothing");
      return;
    }
    decode_document(*doc, out_.diagnostics);
    add_document(out_.config, *doc, out_.sources, out_.diagnostics);
    out_.documents.push_back(std::move(doc));
  }

 private:
  LoadedConfig& out_;
  const LoadOptions& opts_;
  std::set<std::pair<dev_t, ino_t>> visited_;
};

}  // namespace

Format format_for(const std::string& path) {
  std::string ext = extension(path);
  if (ext == ".toml") return Format::toml;
  if (ext == ".json") return Format::json;
  return Format::yaml;
}

LoadedConfig load_config(const std::vector<std::string>& paths, const LoadOptions& options) {
  LoadedConfig out;
  Loader loader(out, options);
  for (const auto& p : paths) loader.path(p);
  return out;
}

LoadedConfig load_text(const std::string& path, std::string text, const LoadOptions& options) {
  LoadedConfig out;
  Loader loader(out, options);
  if (text.size() > options.max_file_size) {
    std::uint32_t f = out.sources.add(path, "");
    out.diagnostics.add(Code::unreadable_file, Pos{f, 0, 0}, "file is larger than the size limit");
    return out;
  }
  std::uint32_t f = out.sources.add(path, std::move(text));
  loader.parse(f, format_for(path));
  return out;
}

}  // namespace certroute::routes

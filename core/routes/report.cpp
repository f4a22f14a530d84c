#include "core/routes/report.hpp"

#include <cctype>
#include <cstdio>

namespace certroute::routes {
namespace {

std::string location(const LoadedConfig& l, const Pos& p) {
  if (!p.valid()) return "certroute";
  std::string s = l.sources.path_of(p);
  if (p.line > 0) {
    s += ":" + std::to_string(p.line);
    if (p.column > 0) s += ":" + std::to_string(p.column);
  }
  return s;
}

std::string plural(std::size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

// Printable text: control characters from hostile files never reach a terminal.
std::string printable(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u == '\t') o += ' ';
    else if (u < 0x20 || u == 0x7f) o += '?';
    else o += c;
  }
  return o;
}

}  // namespace

std::string format_text(const LoadedConfig& l, const TextOptions& o) {
  std::string out;
  for (const auto& d : l.diagnostics.items()) {
    if (o.errors_only && d.severity != Severity::error) continue;
    const CodeInfo& ci = code_info(d.code);
    std::string sev = severity_name(d.severity);
    if (o.color) sev = (d.severity == Severity::error ? "\033[1;31m" : "\033[1;35m") + sev + "\033[0m";
    std::string loc = location(l, d.pos);
    if (o.color) loc = "\033[1m" + loc + "\033[0m";
    out += loc + ": " + sev + ": " + printable(d.message) + " [" + std::string(ci.id) + "]\n";
    if (o.source_lines && d.pos.valid() && d.pos.line > 0) {
      std::string_view line = l.sources.at(d.pos.file).line_text(d.pos.line);
      if (line.size() <= 300) {
        out += "    " + printable(line) + "\n    ";
        // The caret goes under the column-th code point.
        int col = 1;
        for (std::size_t i = 0; i < line.size() && col < d.pos.column; ++i) {
          if ((static_cast<unsigned char>(line[i]) & 0xC0) == 0x80) continue;
          out += ' ';
          ++col;
        }
        out += o.color ? "\033[1;32m^\033[0m\n" : "^\n";
      }
    }
    if (!d.hint.empty()) out += "  hint: " + printable(d.hint) + "\n";
  }
  return out;
}

std::string format_summary(const LoadedConfig& l) {
  std::size_t e = l.diagnostics.errors(), w = l.diagnostics.warnings();
  std::string files = plural(l.files_loaded, "file");
  if (e == 0 && w == 0) return files + " checked: no problems\n";
  return plural(e, "error") + ", " + plural(w, "warning") + " in " + files + "\n";
}

nlohmann::json format_json(const LoadedConfig& l) {
  nlohmann::json diags = nlohmann::json::array();
  for (const auto& d : l.diagnostics.items()) {
    nlohmann::json j{{"file", d.pos.valid() ? nlohmann::json(l.sources.path_of(d.pos)) : nlohmann::json(nullptr)},
                     {"line", d.pos.line > 0 ? nlohmann::json(d.pos.line) : nlohmann::json(nullptr)},
                     {"column", d.pos.column > 0 ? nlohmann::json(d.pos.column) : nlohmann::json(nullptr)},
                     {"severity", severity_name(d.severity)},
                     {"code", code_info(d.code).id},
                     {"message", d.message}};
    if (!d.hint.empty()) j["hint"] = d.hint;
    diags.push_back(std::move(j));
  }
  return {{"diagnostics", diags},
          {"summary",
           {{"errors", l.diagnostics.errors()}, {"warnings", l.diagnostics.warnings()}, {"files", l.files_loaded}}}};
}

nlohmann::json format_sarif(const LoadedConfig& l, std::string_view tool_version) {
  nlohmann::json rules = nlohmann::json::array();
  auto table = code_table();
  for (const auto& c : table) {
    rules.push_back({{"id", c.id},
                     {"name", c.name},
                     {"shortDescription", {{"text", c.summary}}},
                     {"fullDescription", {{"text", c.explanation}}},
                     {"help", {{"text", c.explanation}}},
                     {"defaultConfiguration", {{"level", c.severity == Severity::error ? "error" : "warning"}}}});
  }
  nlohmann::json results = nlohmann::json::array();
  for (const auto& d : l.diagnostics.items()) {
    const CodeInfo& ci = code_info(d.code);
    std::size_t index = 0;
    for (std::size_t i = 0; i < table.size(); ++i)
      if (table[i].code == d.code) index = i;
    std::string text = d.message;
    if (!d.hint.empty()) text += "\nhint: " + d.hint;
    nlohmann::json r{{"ruleId", ci.id},
                     {"ruleIndex", index},
                     {"level", d.severity == Severity::error ? "error" : "warning"},
                     {"message", {{"text", text}}}};
    if (d.pos.valid()) {
      std::string path = l.sources.path_of(d.pos);
      // A relative path is a relative URI reference; percent-encode what URIs forbid.
      std::string uri = path.starts_with("/") ? "file://" : "";
      for (unsigned char c : path) {
        if (std::isalnum(c) || std::string_view("-._~/!$&'()*+,;=:@").find(static_cast<char>(c)) != std::string_view::npos) {
          uri += static_cast<char>(c);
        } else {
          char buf[4];
          std::snprintf(buf, sizeof buf, "%%%02X", c);
          uri += buf;
        }
      }
      nlohmann::json region{{"startLine", d.pos.line > 0 ? d.pos.line : 1}};
      if (d.pos.line > 0 && d.pos.column > 0) region["startColumn"] = d.pos.column;
      r["locations"] = nlohmann::json::array(
          {{{"physicalLocation", {{"artifactLocation", {{"uri", uri}}}, {"region", region}}}}});
    }
    results.push_back(std::move(r));
  }
  return {{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
          {"version", "2.1.0"},
          {"runs",
           nlohmann::json::array({{{"tool",
                                    {{"driver",
                                      {{"name", "certroute"},
                                       {"version", tool_version},
                                       {"informationUri", "https://github.com/certroute/certroute"},
                                       {"rules", rules}}}}},
                                   {"columnKind", "unicodeCodePoints"},
                                   {"results", results}}})}};
}

std::string format_github(const LoadedConfig& l) {
  auto esc_data = [](std::string_view s) {
    std::string o;
    for (char c : s) {
      if (c == '%') o += "%25";
      else if (c == '\r') o += "%0D";
      else if (c == '\n') o += "%0A";
      else o += c;
    }
    return o;
  };
  auto esc_prop = [&](std::string_view s) {
    std::string o;
    for (char c : esc_data(s)) {
      if (c == ':') o += "%3A";
      else if (c == ',') o += "%2C";
      else o += c;
    }
    return o;
  };
  std::string out;
  for (const auto& d : l.diagnostics.items()) {
    const CodeInfo& ci = code_info(d.code);
    out += d.severity == Severity::error ? "::error " : "::warning ";
    std::string props;
    if (d.pos.valid()) {
      props += "file=" + esc_prop(l.sources.path_of(d.pos));
      if (d.pos.line > 0) props += ",line=" + std::to_string(d.pos.line);
      if (d.pos.line > 0 && d.pos.column > 0) props += ",col=" + std::to_string(d.pos.column);
      props += ",";
    }
    props += "title=" + esc_prop(std::string(ci.id) + " " + std::string(ci.name));
    std::string msg = d.message + " [" + std::string(ci.id) + "]";
    if (!d.hint.empty()) msg += "\nhint: " + d.hint;
    out += props + "::" + esc_data(msg) + "\n";
  }
  return out;
}

std::string explain(const CodeInfo& c) {
  return std::string(c.id) + " (" + std::string(c.name) + ", " + severity_name(c.severity) + "): " +
         std::string(c.summary) + "\n\n" + std::string(c.explanation) + "\n";
}

}  // namespace certroute::routes

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/routes/decode.hpp"
#include "core/routes/loader.hpp"

using namespace certroute::routes;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/certroute-routes-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    fs::path p = path / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
};

std::vector<Code> codes(const LoadedConfig& l) {
  std::vector<Code> out;
  for (const auto& d : l.diagnostics.items()) out.push_back(d.code);
  return out;
}

const Diagnostic* find(const LoadedConfig& l, Code c) {
  for (const auto& d : l.diagnostics.items())
    if (d.code == c) return &d;
  return nullptr;
}

std::string dump(const LoadedConfig& l) {
  std::string s;
  for (const auto& d : l.diagnostics.items())
    s += std::string(code_info(d.code).id) + " " + std::to_string(d.pos.line) + ":" + std::to_string(d.pos.column) + " " +
         d.message + "\n";
  return s;
}

}  // namespace

TEST_CASE("loader: YAML keeps a position on every value", "[loader]") {
  auto l = load_text("a.yml",
                     "http:\n"
                     "  routers:\n"
                     "    web:\n"
                     "      rule: \"Host(`example.com`)\"\n"
                     "      service: web\n");
  INFO(dump(l));
  REQUIRE(l.diagnostics.items().empty());
  const Router& r = l.config.http.routers.at("web");
  CHECK(r.pos.line == 3);
  CHECK(r.pos.column == 5);
  REQUIRE(r.rule);
  CHECK(r.rule->pos.line == 4);
  CHECK(r.rule->pos.column == 13);  // the opening quote
  CHECK(r.rule->node->text_offset != DocNode::no_offset);
  CHECK(r.service->pos.line == 5);
  CHECK(r.service->pos.column == 16);
}

TEST_CASE("loader: columns count code points", "[loader]") {
  auto l = load_text("a.yml", "http:\n  routers:\n    \xc3\xa9t\xc3\xa9:\n      service: x\n      rule: \"Host(`a`)\"\n      priorty: 1\n");
  const Diagnostic* d = find(l, Code::unknown_key);
  REQUIRE(d);
  CHECK(d->pos.line == 6);
  CHECK(d->pos.column == 7);
  CHECK(l.config.http.routers.count("\xc3\xa9t\xc3\xa9") == 1);
}

TEST_CASE("loader: keys are case-insensitive, unknown ones suggest a spelling", "[loader]") {
  auto l = load_text("a.yml",
                     "HTTP:\n  Routers:\n    web:\n      RULE: \"Host(`a`)\"\n      entrypoints: web\n      Service: s\n"
                     "      middelwares: [x]\n");
  INFO(dump(l));
  REQUIRE(codes(l) == std::vector<Code>{Code::unknown_key});
  CHECK_THAT(l.diagnostics.items()[0].message, Catch::Contains("did you mean 'middlewares'"));
  const Router& r = l.config.http.routers.at("web");
  REQUIRE(r.rule);
  REQUIRE(r.service);
  CHECK(r.service->value == "s");
}

TEST_CASE("loader: unknown top-level keys are warnings", "[loader]") {
  auto l = load_text("a.yml", "providers:\n  file: {}\nhttp: {}\n");
  REQUIRE(codes(l) == std::vector<Code>{Code::unknown_top_level_key});
  CHECK(l.diagnostics.items()[0].severity == Severity::warning);
}

TEST_CASE("loader: a key of a nested struct one level too high gets a hint", "[loader]") {
  auto l = load_text("a.yml", "tls:\n  sniStrict: true\n");
  REQUIRE(codes(l) == std::vector<Code>{Code::unknown_key});
  CHECK_THAT(l.diagnostics.items()[0].hint, Catch::Contains("options.<name>"));
}

TEST_CASE("loader: a string is split on commas where a list is expected", "[loader]") {
  auto l = load_text("a.yml", "http:\n  routers:\n    r:\n      entryPoints: web, websecure\n      middlewares: \"a,b\"\n");
  const Router& r = l.config.http.routers.at("r");
  REQUIRE(r.entry_points.size() == 2);
  CHECK(r.entry_points[0].value == "web");
  CHECK(r.entry_points[1].value == "websecure");
  CHECK(r.entry_points[1].pos.column == 25);
  REQUIRE(r.middlewares.size() == 2);
  CHECK(r.middlewares[1].value == "b");
}

TEST_CASE("loader: booleans are Go's ParseBool, not YAML 1.1's", "[loader]") {
  for (const char* ok : {"true", "false", "True", "FALSE", "1", "0", "t", "F", "\"true\""}) {
    INFO(ok);
    auto l = load_text("a.yml", std::string("http:\n  services:\n    s:\n      loadBalancer:\n        passHostHeader: ") +
                                    ok + "\n        servers: [{url: 'http://a'}]\n");
    CHECK(l.diagnostics.items().empty());
  }
  for (const char* bad : {"yes", "no", "on", "off", "Y", "maybe"}) {
    INFO(bad);
    auto l = load_text("a.yml", std::string("http:\n  services:\n    s:\n      loadBalancer:\n        passHostHeader: ") +
                                    bad + "\n        servers: [{url: 'http://a'}]\n");
    REQUIRE(codes(l) == std::vector<Code>{Code::wrong_type});
  }
}

TEST_CASE("loader: value types", "[loader]") {
  auto l = load_text("a.yml",
                     "http:\n  routers:\n    r:\n      priority: 1.5\n      rule: [a]\n"
                     "  services:\n    s:\n      loadBalancer:\n        healthCheck:\n          interval: 10\n"
                     "          timeout: 1m30s\n          unhealthyInterval: soon\n        servers: {url: x}\n");
  INFO(dump(l));
  auto c = codes(l);
  CHECK(std::count(c.begin(), c.end(), Code::wrong_type) == 4);
}

TEST_CASE("loader: duplicate keys are errors, also when they differ in case", "[loader]") {
  auto l = load_text("a.yml", "http:\n  routers:\n    r:\n      service: a\n      service: b\n");
  REQUIRE(codes(l) == std::vector<Code>{Code::duplicate_key});
  CHECK(l.diagnostics.items()[0].pos.line == 5);
  CHECK(l.config.http.routers.at("r").service->value == "a");
  auto l2 = load_text("a.yml", "http:\n  services:\n    s:\n      loadBalancer: {servers: [{url: 'http://a'}]}\n"
                                "      loadbalancer: {}\n");
  REQUIRE(codes(l2) == std::vector<Code>{Code::duplicate_key});
  CHECK_THAT(l2.diagnostics.items()[0].message, Catch::Contains("case-insensitive"));
}

TEST_CASE("loader: YAML anchors, aliases and merge keys", "[loader]") {
  auto l = load_text("a.yml",
                     "x-defaults: &lb\n  passHostHeader: true\n"
                     "http:\n  services:\n    s:\n      loadBalancer:\n        <<: *lb\n        servers: [{url: 'http://a'}]\n");
  INFO(dump(l));
  REQUIRE(codes(l) == std::vector<Code>{Code::unknown_top_level_key});
  CHECK(l.config.http.services.at("s").node->find("loadBalancer")->find("passHostHeader"));
}

TEST_CASE("loader: hostile input is refused cheaply", "[loader][bad-input]") {
  SECTION("billion laughs") {
    std::string bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n";
    for (char c = 'b'; c <= 'j'; ++c) {
      bomb += std::string(1, c) + ": &" + c + " [";
      for (int i = 0; i < 10; ++i) bomb += std::string(i ? "," : "") + "*" + static_cast<char>(c - 1);
      bomb += "]\n";
    }
    auto l = load_text("bomb.yml", bomb);
    REQUIRE(codes(l) == std::vector<Code>{Code::syntax});
    CHECK_THAT(l.diagnostics.items()[0].message, Catch::Contains("aliases"));
  }
  SECTION("10,000 levels of nesting") {
    for (const char* name : {"deep.yml", "deep.json"}) {
      auto l = load_text(name, std::string(10000, '[') + std::string(10000, ']'));
      REQUIRE(codes(l) == std::vector<Code>{Code::syntax});
      CHECK_THAT(l.diagnostics.items()[0].message, Catch::Contains("nesting deeper"));
    }
    std::string m;
    for (int i = 0; i < 10000; ++i) m += "{a: ";
    m += "1" + std::string(10000, '}');
    CHECK(codes(load_text("deep.yml", "x: " + m)) == std::vector<Code>{Code::syntax});
    CHECK(codes(load_text("deep.toml", "a = " + std::string(10000, '[') + std::string(10000, ']'))) ==
          std::vector<Code>{Code::syntax});
    std::string dotted = "a";
    for (int i = 0; i < 10000; ++i) dotted += ".a";
    CHECK(codes(load_text("deep.toml", dotted + " = 1\n")) == std::vector<Code>{Code::syntax});
    CHECK(codes(load_text("deep.toml", "[" + dotted + "]\n")) == std::vector<Code>{Code::syntax});
  }
  SECTION("binary and invalid UTF-8") {
    std::string bin(256, '\0');
    for (int i = 0; i < 256; ++i) bin[static_cast<std::size_t>(i)] = static_cast<char>(i);
    auto l = load_text("bin.yml", bin);
    REQUIRE(codes(l) == std::vector<Code>{Code::syntax});
    CHECK_THAT(l.diagnostics.items()[0].message, Catch::Contains("NUL"));
    auto u = load_text("u.yml", "http:\n  routers:\n    r\xff: {}\n");
    REQUIRE(codes(u) == std::vector<Code>{Code::syntax});
    CHECK(u.diagnostics.items()[0].pos.line == 3);
    CHECK(codes(load_text("u.yml", "a: \xc0\xaf\n")) == std::vector<Code>{Code::syntax});       // overlong
    CHECK(codes(load_text("u.yml", "a: \xed\xa0\x80\n")) == std::vector<Code>{Code::syntax});   // surrogate
  }
  SECTION("empty files") {
    for (const char* text : {"", "\n\n", "# only a comment\n", "---\n"}) {
      INFO(text);
      CHECK(codes(load_text("e.yml", text)) == std::vector<Code>{Code::empty_file});
    }
    CHECK(codes(load_text("e.toml", "# nothing\n")) == std::vector<Code>{Code::empty_file});
  }
  SECTION("a file over the size limit") {
    LoadOptions o;
    o.max_file_size = 1000;
    CHECK(codes(load_text("big.yml", std::string(2000, '#'), o)) == std::vector<Code>{Code::unreadable_file});
  }
  SECTION("not a mapping at the top") {
    CHECK(codes(load_text("l.yml", "- a\n- b\n")) == std::vector<Code>{Code::wrong_type});
    CHECK(codes(load_text("s.yml", "just text\n")) == std::vector<Code>{Code::wrong_type});
  }
}

TEST_CASE("loader: syntax errors carry the parser's position", "[loader]") {
  auto y = load_text("a.yml", "http:\n  routers:\n    r:\n      rule: \"Host(\"a\")\"\n");
  REQUIRE(codes(y) == std::vector<Code>{Code::syntax});
  CHECK(y.diagnostics.items()[0].pos.line == 4);
  auto j = load_text("a.json", "{\"http\": {\"routers\": [}}");
  REQUIRE(codes(j) == std::vector<Code>{Code::syntax});
  CHECK(j.diagnostics.items()[0].pos.column == 23);
  auto t = load_text("a.toml", "[http.routers.r]\nrule = \"Host(`a`)\"\nrule = \"x\"\n");
  REQUIRE(codes(t) == std::vector<Code>{Code::syntax});
  CHECK(t.diagnostics.items()[0].pos.line == 3);
}

TEST_CASE("loader: only the first YAML document is read", "[loader]") {
  auto l = load_text("a.yml", "http: {}\n---\ntcp: {}\n");
  REQUIRE(codes(l) == std::vector<Code>{Code::file_ignored});
  CHECK(l.diagnostics.items()[0].pos.line == 2);
}

TEST_CASE("loader: JSON and TOML give the same model", "[loader]") {
  auto j = load_text("a.json",
                     "{\"http\": {\"routers\": {\"web\": {\"rule\": \"Host(`a`)\", \"service\": \"s\", \"priority\": 10}},"
                     " \"services\": {\"s\": {\"loadBalancer\": {\"servers\": [{\"url\": \"http://a\"}]}}}}}");
  auto t = load_text("a.toml",
                     "[http.routers.web]\nrule = \"Host(`a`)\"\nservice = \"s\"\npriority = 10\n"
                     "[[http.services.s.loadBalancer.servers]]\nurl = \"http://a\"\n");
  for (auto* l : {&j, &t}) {
    INFO(dump(*l));
    CHECK(l->diagnostics.items().empty());
    const Router& r = l->config.http.routers.at("web");
    CHECK(r.rule->value == "Host(`a`)");
    CHECK(r.priority == 10);
    CHECK(l->config.http.services.at("s").servers.at(0).value == "http://a");
  }
  CHECK(t.config.http.routers.at("web").rule->pos.line == 2);
  CHECK(t.config.http.routers.at("web").rule->pos.column == 8);
  CHECK(j.config.http.routers.at("web").rule->node->text_offset != DocNode::no_offset);
}

TEST_CASE("loader: a .json file that is YAML but not JSON is a warning", "[loader]") {
  auto l = load_text("a.json", "\"http\": {\"routers\": {}}\n");
  REQUIRE(codes(l) == std::vector<Code>{Code::not_json});
  CHECK(l.diagnostics.items()[0].severity == Severity::warning);
}

TEST_CASE("loader: Go templates are replaced by placeholders and flagged", "[loader]") {
  auto l = load_text("t.yml",
                     "http:\n  routers:\n{{ range $i := until 2 }}\n    r{{ $i }}:\n"
                     "      rule: \"Host(`{{ env \"D\" }}`)\"\n      service: s\n{{ end }}\n");
  INFO(dump(l));
  REQUIRE(codes(l) == std::vector<Code>{Code::go_template});
  CHECK(l.diagnostics.items()[0].pos.line == 3);
  REQUIRE(l.config.http.routers.size() == 1);
  CHECK(l.config.http.routers.begin()->second.rule->node->templated);
}

TEST_CASE("loader: ${VAR} placeholders are flagged, regex replacements are not", "[loader]") {
  auto l = load_text("a.yml",
                     "http:\n  middlewares:\n    a:\n      basicAuth:\n        users: [\"${USER}:${HASH}\"]\n"
                     "    b:\n      redirectRegex:\n        regex: \"^http://(.*)\"\n        replacement: \"https://${1}${name}\"\n");
  REQUIRE(codes(l) == std::vector<Code>{Code::env_placeholder});
  CHECK(l.diagnostics.items()[0].hint == "write {{ env \"USER\" }} instead");
}

TEST_CASE("loader: directories are read recursively in name order", "[loader]") {
  TempDir d;
  d.write("b.yml", "http:\n  routers:\n    web:\n      rule: \"Host(`b`)\"\n      service: s\n");
  d.write("a/z.yaml", "http:\n  routers:\n    web:\n      rule: \"Host(`a`)\"\n      service: s\n");
  d.write("c.toml", "[http.routers.other]\nrule = \"Host(`c`)\"\nservice = \"s\"\n");
  d.write("d.json", "{}");
  d.write("notes.txt", "whatever");
  d.write("e.YML", "http: {}\n");
  auto l = load_config({d.path.string()});
  INFO(dump(l));
  CHECK(l.files_loaded == 4);
  // a/z.yaml comes before b.yml, so it wins.
  CHECK(l.config.http.routers.at("web").rule->value == "Host(`a`)");
  const Diagnostic* dup = find(l, Code::duplicate_name);
  REQUIRE(dup);
  CHECK(l.sources.path_of(dup->pos).ends_with("/b.yml"));
  CHECK_THAT(dup->message, Catch::Contains("a/z.yaml:3:5"));
  const Diagnostic* json = find(l, Code::file_ignored);
  REQUIRE(json);
  CHECK(l.sources.path_of(json->pos).ends_with("d.json"));
  CHECK(l.errors.empty());
}

TEST_CASE("loader: directory symlink loops are not followed", "[loader][bad-input]") {
  TempDir d;
  d.write("conf/a.yml", "http: {}\n");
  fs::create_directory_symlink("..", d.path / "conf" / "up");
  fs::create_directory_symlink(d.path / "conf", d.path / "conf" / "self");
  auto l = load_config({(d.path / "conf").string()});
  CHECK(l.files_loaded == 1);
  auto c = codes(l);
  CHECK(std::count(c.begin(), c.end(), Code::file_ignored) == 2);
}

TEST_CASE("loader: PATHs that cannot be read are errors, files inside directories are findings", "[loader][bad-input]") {
  TempDir d;
  auto l = load_config({(d.path / "missing.yml").string()});
  REQUIRE(l.errors.size() == 1);
  CHECK_THAT(l.errors[0], Catch::Contains("no such file"));
  ::mkfifo((d.path / "fifo.yml").c_str(), 0600);
  auto f = load_config({(d.path / "fifo.yml").string()});
  REQUIRE(f.errors.size() == 1);
  CHECK_THAT(f.errors[0], Catch::Contains("not a regular file"));
  // Inside a directory: a finding (a dangling symlink, a FIFO), and the scan goes on.
  fs::create_symlink(d.path / "nowhere.yml", d.path / "dangling.yml");
  d.write("ok.yml", "http: {}\n");
  auto dir = load_config({d.path.string()});
  CHECK(dir.errors.empty());
  auto c = codes(dir);
  CHECK(std::count(c.begin(), c.end(), Code::unreadable_file) == 2);
  CHECK(dir.files_loaded == 1);
  if (::geteuid() != 0) {
    std::string p = d.write("secret.yml", "http: {}\n");
    fs::permissions(p, fs::perms::none);
    auto u = load_config({p});
    REQUIRE(u.errors.size() == 1);
    CHECK_THAT(u.errors[0], Catch::Contains("permission denied"));
  }
}

TEST_CASE("decode: Go integer and duration syntax", "[decode]") {
  CHECK(parse_go_int("42") == 42);
  CHECK(parse_go_int("-7") == -7);
  CHECK(parse_go_int("0x1F") == 31);
  CHECK(parse_go_int("1_000") == 1000);
  CHECK(parse_go_int("010") == 8);
  CHECK(parse_go_int("9223372036854775807") == INT64_MAX);
  CHECK_FALSE(parse_go_int("9223372036854775808"));
  CHECK_FALSE(parse_go_int("1.5"));
  CHECK_FALSE(parse_go_int(""));
  CHECK(parse_go_duration("10") == 10'000'000'000);
  CHECK(parse_go_duration("1m30s") == 90'000'000'000);
  CHECK(parse_go_duration("250ms") == 250'000'000);
  CHECK(parse_go_duration("1.5h") == 5'400'000'000'000);
  CHECK(parse_go_duration("-2s") == -2'000'000'000);
  CHECK(parse_go_duration("0") == 0);
  CHECK_FALSE(parse_go_duration("10 seconds"));
  CHECK_FALSE(parse_go_duration("1.5"));
  CHECK_FALSE(parse_go_duration("s"));
  CHECK(parse_go_bool("T") == true);
  CHECK_FALSE(parse_go_bool("yes"));
}

TEST_CASE("loader: TOML with non-ASCII text outside strings is refused before toml++ sees it", "[loader][bad-input]") {
  // toml++ 3.3 has undefined behaviour on these; TOML allows ASCII only there.
  for (const char* text : {"\xc3\xa9 = 1\n", "a = 1 \xc3\xa9\n", "a = [1, \xc3\xa9]\n", "[a\xc3\xa9]\n",
                           "a = \"\"\"x\\\n  \xc3\xa9\"\"\"\n"}) {
    INFO(text);
    CHECK(codes(load_text("a.toml", text)) == std::vector<Code>{Code::syntax});
  }
  // In strings and comments it is fine.
  auto ok = load_text("a.toml", "# caf\xc3\xa9\n[http.middlewares.m.headers.customResponseHeaders]\nX-A = \"caf\xc3\xa9\"\n"
                                "X-B = 'caf\xc3\xa9'\nX-C = \"\"\"caf\xc3\xa9\"\"\"\nX-D = '''caf\xc3\xa9'''\n");
  INFO(dump(ok));
  CHECK(ok.diagnostics.items().empty());
}

TEST_CASE("loader: messages stay valid UTF-8 whatever the input", "[loader][bad-input]") {
  auto l = load_text("a.json", std::string("{\"http\": \xc3"));
  REQUIRE_FALSE(l.diagnostics.items().empty());
  auto y = load_text("a.yml", "http:\n  routers:\n    r:\n      priority: " + std::string(79, 'x') + "\xc3\xa9\xc3\xa9\n");
  REQUIRE(codes(y) == std::vector<Code>{Code::wrong_type});
  for (const auto* d : {&l.diagnostics.items()[0], &y.diagnostics.items()[0]}) {
    bool nul = false;
    (void)nul;
    std::string m = d->message;
    // A strict JSON dump throws on invalid UTF-8.
    CHECK_NOTHROW(nlohmann::json(m).dump());
  }
}

TEST_CASE("loader: TOML table headers that toml++ would assert on are refused first", "[loader][bad-input]") {
  for (const char* text : {"[.a]\n", "[ = ]\n", "[[ = ]]\n", "[[.a]]\n"}) {
    INFO(text);
    CHECK(codes(load_text("a.toml", text)) == std::vector<Code>{Code::syntax});
  }
  // Arrays of arrays and inline tables at the start of a line are values, not headers.
  auto ok = load_text("a.toml", "[http.middlewares.m.chain]\nmiddlewares = [\n  \"a\",\n]\n[tls]\ncertificates = [\n"
                                "  { certFile = \"/c\", keyFile = \"/k\" },\n]\n");
  INFO(dump(ok));
  CHECK(ok.diagnostics.items().empty());
}

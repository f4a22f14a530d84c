#include <catch2/catch.hpp>

#include <cstdlib>
#include <dirent.h>
#include <filesystem>
#include <sys/stat.h>

#include "core/util/file.hpp"

using namespace certroute::util;
namespace fs = std::filesystem;

namespace {
struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/certroute-unit-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  size_t entries() const { return static_cast<size_t>(std::distance(fs::directory_iterator(path), fs::directory_iterator())); }
};
}  // namespace

TEST_CASE("write_file_atomic creates the file with the requested mode", "[file]") {
  TempDir d;
  std::string p = (d.path / "key.pem").string();
  umask(0);
  REQUIRE(write_file_atomic(p, "secret", {.mode = 0600}));
  umask(022);
  struct stat st {};
  REQUIRE(stat(p.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(*read_file(p) == "secret");
  CHECK(d.entries() == 1);  // no temporary left behind
}

TEST_CASE("write_file_atomic never overwrites without permission", "[file]") {
  TempDir d;
  std::string p = (d.path / "f").string();
  REQUIRE(write_file_atomic(p, "old"));
  auto r = write_file_atomic(p, "new");
  REQUIRE_FALSE(r);
  CHECK(r.error().kind() == ErrorKind::problem);
  CHECK_THAT(r.error().message(), Catch::Contains("already exists"));
  CHECK_THAT(r.error().hint(), Catch::Contains("--force"));
  CHECK(*read_file(p) == "old");
  REQUIRE(write_file_atomic(p, "new", {.overwrite = true}));
  CHECK(*read_file(p) == "new");
  CHECK(d.entries() == 1);
}

TEST_CASE("write_file_atomic reports a missing directory and leaves nothing", "[file]") {
  TempDir d;
  auto r = write_file_atomic((d.path / "nope" / "f").string(), "x");
  REQUIRE_FALSE(r);
  CHECK(r.error().kind() == ErrorKind::bad_input);
  CHECK_THAT(r.error().message(), Catch::Contains("no such file or directory"));
  CHECK(d.entries() == 0);
}

TEST_CASE("write_file_atomic refuses to replace a directory", "[file]") {
  TempDir d;
  auto r = write_file_atomic(d.path.string(), "x", {.overwrite = true});
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::Contains("is a directory"));
}

TEST_CASE("read_file errors name the path and the cause", "[file]") {
  TempDir d;
  auto missing = read_file((d.path / "missing").string());
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind() == ErrorKind::bad_input);
  CHECK_THAT(missing.error().message(), Catch::Contains("missing") && Catch::Contains("no such file"));
  auto dir = read_file(d.path.string());
  REQUIRE_FALSE(dir);
  CHECK_THAT(dir.error().message(), Catch::Contains("is a directory"));
}

TEST_CASE("passphrase files yield their first line", "[file]") {
  TempDir d;
  std::string p = (d.path / "pass").string();
  REQUIRE(write_file_atomic(p, "s3cret\r\nsecond line\n"));
  CHECK(*read_passphrase_file(p) == "s3cret");
  std::string e = (d.path / "empty").string();
  REQUIRE(write_file_atomic(e, "\n"));
  CHECK_FALSE(read_passphrase_file(e));
}

#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "util/files.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  return names;
}

}  // namespace

TEST_SUITE("util::files") {
  TEST_CASE("an atomic file is written under a hidden name beside its path, then renamed over it") {
    zoo::test::TempDir dir("files");
    const fs::path path = dir / "drawn.jpg";
    zoo::test::write_file(path, "old");
    {
      zoo::util::AtomicFile file(path.string());
      file.write("new");
      // What a kill -9 here would leave: the old file and a hidden one, so
      // that a listing of the outputs (or diff -x '.*') sees only drawn.jpg.
      const std::vector<std::string> names = names_in(dir.path());
      REQUIRE(names.size() == 2);
      for (const std::string& name : names) {
        CHECK_MESSAGE((name == "drawn.jpg" || name.rfind(".drawn.jpg.tmp.", 0) == 0), name);
      }
      CHECK(zoo::util::read_file(path.string()) == "old");
      file.commit();
    }
    CHECK(names_in(dir.path()) == std::vector<std::string>{"drawn.jpg"});
    CHECK(zoo::util::read_file(path.string()) == "new");
  }

  TEST_CASE("an atomic file dropped without commit leaves the old content and no temporary file") {
    zoo::test::TempDir dir("files");
    const fs::path path = dir / "labels.jsonl";
    zoo::test::write_file(path, "kept");
    {
      zoo::util::AtomicFile file(path.string());
      file.write("lost");
    }
    CHECK(names_in(dir.path()) == std::vector<std::string>{"labels.jsonl"});
    CHECK(zoo::util::read_file(path.string()) == "kept");
    CHECK(zoo::util::temp_path_beside("a/b/c.txt").rfind("a/b/.c.txt.tmp.", 0) == 0);
  }
}

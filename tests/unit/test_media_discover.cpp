#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "media/discover.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

using namespace zoo::media;
using zoo::ErrorKind;
using zoo::test::catch_error;
using zoo::test::TempDir;
using zoo::test::write_file;

namespace {

std::string show(const std::vector<std::string>& paths) {
  std::string out = "[";
  for (const auto& p : paths) out += "\n  " + p;
  return out + "\n]";
}

// A tree with images at several depths, mixed-case extensions, hidden
// entries, non-image files and a folder named like an image.
void make_tree(const TempDir& dir) {
  const std::filesystem::path root = dir / "root";
  write_file(root / "b.jpg", "x");
  write_file(root / "A.PNG", "x");
  write_file(root / "a.jpg", "x");
  write_file(root / "photo.JPG", "x");
  write_file(root / "readme.md", "x");
  write_file(root / "noext", "x");
  write_file(root / "a/z.Jpeg", "x");
  write_file(root / "a/notes.txt", "x");
  write_file(root / "a/.hidden.jpg", "x");
  write_file(root / "a/deeper/c.webp", "x");
  write_file(root / "a/deeper/d.TIFF", "x");
  write_file(root / ".git/d.jpg", "x");
  write_file(root / "x.jpg/inner.png", "x");  // a folder named like an image
  std::filesystem::create_directories(root / "empty");
}

}  // namespace

TEST_SUITE("media::discover") {
  TEST_CASE("image extensions are recognised case-insensitively") {
    for (const char* path : {"a.jpg", "a.JPG", "a.Jpeg", "dir/b.png", "c.webp", "d.TIF", "e.tiff", "f.bmp", "g.pgm"}) {
      CAPTURE(path);
      CHECK(has_image_extension(path));
    }
    for (const char* path : {"a.txt", "jpg", "a.jpg.txt", "a.gif", "noext", ".jpg", "dir.jpg/readme"}) {
      CAPTURE(path);
      CHECK_FALSE(has_image_extension(path));
    }
  }

  TEST_CASE("a folder is walked recursively, images only, sorted by path bytes, hidden entries skipped") {
    TempDir dir("discover-tree");
    make_tree(dir);
    const std::string root = (dir / "root").string();

    const std::vector<std::string> found = discover_inputs({root});
    // '.' sorts before '/', and upper case before lower case.
    const std::vector<std::string> expected = {
        root + "/A.PNG",          root + "/a.jpg",      root + "/a/deeper/c.webp", root + "/a/deeper/d.TIFF",
        root + "/a/z.Jpeg",       root + "/b.jpg",      root + "/photo.JPG",       root + "/x.jpg/inner.png",
    };
    CHECK_MESSAGE(found == expected, "found: ", show(found), "\nexpected: ", show(expected));
  }

  TEST_CASE("arguments keep their order; files are kept as given, even missing or non-image ones; folders are walked") {
    TempDir dir("discover-args");
    make_tree(dir);
    const std::string root = (dir / "root").string();
    const std::string missing = (dir / "does-not-exist.jpg").string();
    const std::string readme = root + "/readme.md";
    const std::string hidden = root + "/a/.hidden.jpg";
    const std::string image_named_folder = root + "/x.jpg";
    const std::string sub = root + "/a/deeper";

    const std::vector<std::string> found =
        discover_inputs({missing, sub, readme, hidden, image_named_folder, "relative/missing.png", root + "/empty"});
    const std::vector<std::string> expected = {
        missing, sub + "/c.webp", sub + "/d.TIFF", readme, hidden, image_named_folder + "/inner.png",
        "relative/missing.png",
    };
    CHECK_MESSAGE(found == expected, "found: ", show(found), "\nexpected: ", show(expected));
  }

  TEST_CASE("the same folder given twice is listed twice") {
    TempDir dir("discover-twice");
    write_file(dir / "f/one.png", "x");
    const std::string folder = (dir / "f").string();
    CHECK(discover_inputs({folder, folder}) == std::vector<std::string>{folder + "/one.png", folder + "/one.png"});
  }

  TEST_CASE("no arguments give no inputs") { CHECK(discover_inputs({}).empty()); }

  TEST_CASE("a list file skips blank and '#' lines and strips carriage returns") {
    TempDir dir("discover-list");
    write_file(dir / "list.txt",
               "# images to label\r\n"
               "a.jpg\r\n"
               "\r\n"
               "\n"
               "dir/b c.png\n"
               "#commented.jpg\n"
               "/abs/path/d.jpg\r\n"
               "last-without-newline.jpg");
    const std::vector<std::string> paths = read_list_file((dir / "list.txt").string());
    const std::vector<std::string> expected = {"a.jpg", "dir/b c.png", "/abs/path/d.jpg", "last-without-newline.jpg"};
    CHECK_MESSAGE(paths == expected, "read: ", show(paths));

    write_file(dir / "empty.txt", "");
    CHECK(read_list_file((dir / "empty.txt").string()).empty());
  }

  TEST_CASE("a list file that cannot be read is an io error naming it") {
    TempDir dir("discover-list-missing");
    const std::string path = (dir / "missing.txt").string();
    const auto caught = catch_error([&] { read_list_file(path); });
    REQUIRE_MESSAGE(caught.thrown, caught.foreign);
    CHECK(caught.kind == ErrorKind::io);
    CHECK(caught.message == path + ": cannot read list file");
  }
}

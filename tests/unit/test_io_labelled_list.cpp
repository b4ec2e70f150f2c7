#include <doctest/doctest.h>

#include <string>

#include "io/labelled_list.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

using namespace zoo;
using zoo::test::catch_error;
using zoo::test::TempDir;
using zoo::test::write_file;

TEST_SUITE("io::labelled_list") {
  TEST_CASE("CSV fields are RFC 4180: quoted commas, doubled quotes and line breaks in a path or label") {
    TempDir dir("labelled-list-rfc4180");
    write_file(dir / "list.csv",
               "filepath,label\r\n"
               "\"a \"\"q\"\".jpg\",\"cat, big\"\r\n"
               "\"two\nlines.jpg\",dog\n"
               "plain,with,commas.jpg,bird");  // no line end at the end of the file
    const auto entries = io::read_labelled_list((dir / "list.csv").string());
    REQUIRE(entries.size() == 3);
    CHECK(entries[0].path == (dir / "a \"q\".jpg").string());
    CHECK(entries[0].label == "cat, big");
    CHECK(entries[0].line == 2);
    CHECK(entries[1].path == (dir / "two\nlines.jpg").string());
    CHECK(entries[1].line == 3);
    // An unquoted path may hold commas: the label is the last field.
    CHECK(entries[2].path == (dir / "plain,with,commas.jpg").string());
    CHECK(entries[2].label == "bird");
    CHECK(entries[2].line == 5);
  }

  TEST_CASE("a quote never closed is a data error naming the file and line") {
    TempDir dir("labelled-list-open-quote");
    write_file(dir / "list.csv", "a.jpg,cat\nb.jpg,\"dog\n");
    const auto error = catch_error([&] { io::read_labelled_list((dir / "list.csv").string()); });
    CHECK(error.kind == ErrorKind::data);
    CHECK(zoo::test::contains(error.message, (dir / "list.csv").string()));
  }
}

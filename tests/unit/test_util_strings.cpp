#include <doctest/doctest.h>

#include "util/strings.hpp"

using namespace zoo::util;

TEST_SUITE("util::strings") {
  TEST_CASE("edit distance counts insertions, deletions and substitutions") {
    CHECK(edit_distance("", "") == 0);
    CHECK(edit_distance("abc", "abc") == 0);
    CHECK(edit_distance("image_size", "imge_size") == 1);
    CHECK(edit_distance("kitten", "sitting") == 3);
    CHECK(edit_distance("resnet81", "resnet18") == 1);
  }

  TEST_CASE("did_you_mean suggests the closest known key") {
    std::vector<std::string> keys = {"image_size", "image_mean", "labels_path", "entrypoint"};
    CHECK(did_you_mean("imge_size", keys) == "; did you mean \"image_size\"?");
    CHECK(did_you_mean("entrypiont", keys) == "; did you mean \"entrypoint\"?");
    CHECK(did_you_mean("zzzzzzzzzz", keys).empty());
    // One-letter class names: "c" is no misspelling of "a" or "b".
    CHECK(did_you_mean("c", {"a", "b"}).empty());
    CHECK(did_you_mean("fx", {"fc", "ab"}) == "; did you mean \"fc\"?");
  }

  TEST_CASE("count_of writes the noun in the plural unless the count is 1") {
    CHECK(count_of(1, "epoch") == "1 epoch");
    CHECK(count_of(0, "epoch") == "0 epochs");
    CHECK(count_of(45, "unreadable file") == "45 unreadable files");
  }
}

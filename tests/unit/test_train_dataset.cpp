#include <doctest/doctest.h>

#include <map>
#include <set>

#include "train/dataset.hpp"
#include "test_support.hpp"

using namespace zoo;
using zoo::test::TempDir;
using zoo::test::write_file;

TEST_SUITE("train::dataset") {
  TEST_CASE("a class-per-folder tree gives sorted classes and their images") {
    TempDir dir("dataset-tree");
    for (const char* file : {"cat/a.jpg", "cat/sub/b.png", "dog/c.jpg", "dog/notes.txt", "bird/d.jpg"}) {
      std::filesystem::create_directories((dir / file).parent_path());
      write_file(dir / file, "x");
    }
    write_file(dir / "loose.jpg", "x");  // not in a class folder: ignored
    const auto data = train::load_dataset(dir.path().string());
    CHECK(data.classes == std::vector<std::string>{"bird", "cat", "dog"});
    REQUIRE(data.samples.size() == 4);
    CHECK(data.samples[0].label == 0);
    CHECK(data.samples[1].label == 1);
    CHECK(data.samples[3].label == 2);
    CHECK(data.samples[3].path == (dir / "dog" / "c.jpg").string());
  }

  TEST_CASE("folders named like images are folders: a class folder and an album inside one") {
    TempDir dir("dataset-image-named-folders");
    for (const char* file : {"cat.jpg/a.jpg", "cat.jpg/album.png/b.png", "dog/c.jpg"}) {
      std::filesystem::create_directories((dir / file).parent_path());
      write_file(dir / file, "x");
    }
    const auto data = train::load_dataset(dir.path().string());
    CHECK(data.classes == std::vector<std::string>{"cat.jpg", "dog"});
    REQUIRE(data.samples.size() == 3);
    CHECK(data.samples[1].path == (dir / "cat.jpg" / "album.png" / "b.png").string());
    CHECK(data.samples[1].label == 0);
  }

  TEST_CASE("CSV and JSONL lists: paths relative to the list, header skipped, errors name the line") {
    TempDir dir("dataset-lists");
    write_file(dir / "list.csv", "filepath,label\nimgs/a.jpg,cat\n\"imgs/b,1.jpg\",dog\n/abs/c.jpg, cat\n");
    const auto csv = train::load_dataset((dir / "list.csv").string());
    CHECK(csv.classes == std::vector<std::string>{"cat", "dog"});
    REQUIRE(csv.samples.size() == 3);
    CHECK(csv.samples[0].path == (dir / "imgs/a.jpg").string());
    CHECK(csv.samples[1].path == "/abs/c.jpg");
    CHECK(csv.samples[2].path == (dir / "imgs/b,1.jpg").string());

    write_file(dir / "list.jsonl",
               "{\"filepath\": \"a.jpg\", \"label\": \"x\"}\n"
               "{\"filepath\": \"b.jpg\", \"label\": {\"_cls\": \"Classification\", \"label\": \"y\"}}\n");
    const auto jsonl = train::load_dataset((dir / "list.jsonl").string());
    CHECK(jsonl.classes == std::vector<std::string>{"x", "y"});

    write_file(dir / "bad.csv", "a.jpg,cat\nno-comma-here\n");
    try {
      train::load_dataset((dir / "bad.csv").string());
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(std::string(e.what()) == (dir / "bad.csv").string() + ":2: expected `filepath,label`");
    }
    // A validation list may only use the training classes.
    const std::vector<std::string> classes = {"cat", "dog"};
    write_file(dir / "val.csv", "a.jpg,cat\nb.jpg,dgo\n");
    try {
      train::load_dataset((dir / "val.csv").string(), &classes);
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find(":2: label \"dgo\" is not one of the training classes") != std::string::npos);
      CHECK(std::string(e.what()).find("did you mean \"dog\"") != std::string::npos);
    }
  }

  TEST_CASE("CSV header lines in other spellings, or after a byte order mark, are not samples") {
    TempDir dir("dataset-headers");
    for (const std::string header : {"path,class", "\xEF\xBB\xBF" "filepath,label", "Image,Category", "file,target"}) {
      write_file(dir / "list.csv", std::string(header).append("\na.jpg,cat\nb.jpg,dog\n"));
      const auto data = train::load_dataset((dir / "list.csv").string());
      CHECK_MESSAGE(data.samples.size() == 2, header);
      CHECK(data.classes == std::vector<std::string>{"cat", "dog"});
    }
    // A first line naming a real file is a sample, whatever it is called.
    write_file(dir / "image", "x");
    write_file(dir / "list.csv", "image,label\na.jpg,cat\n");
    CHECK(train::load_dataset((dir / "list.csv").string()).samples.size() == 2);
  }

  TEST_CASE("the validation split is stratified, disjoint, complete and fixed by the seed") {
    train::Dataset data;
    data.classes = {"a", "b", "c"};
    for (int c = 0; c < 3; ++c) {
      for (int i = 0; i < 10 * (c + 1); ++i) data.samples.push_back({std::to_string(c) + "/" + std::to_string(i), c});
    }
    const auto [train1, val1] = train::split_dataset(data, 0.2, 5);
    const auto [train2, val2] = train::split_dataset(data, 0.2, 5);
    const auto [train3, val3] = train::split_dataset(data, 0.2, 6);
    std::map<int, int> per_class;
    for (const auto& s : val1.samples) ++per_class[s.label];
    CHECK(per_class[0] == 2);
    CHECK(per_class[1] == 4);
    CHECK(per_class[2] == 6);
    CHECK(train1.samples.size() + val1.samples.size() == data.samples.size());
    std::set<std::string> seen;
    for (const auto& s : train1.samples) seen.insert(s.path);
    for (const auto& s : val1.samples) CHECK(seen.insert(s.path).second);
    auto paths = [](const train::Dataset& d) {
      std::vector<std::string> out;
      for (const auto& s : d.samples) out.push_back(s.path);
      return out;
    };
    CHECK(paths(val1) == paths(val2));
    CHECK(paths(val1) != paths(val3));
    // A class of one sample stays in training.
    train::Dataset tiny{"t", {"a", "b"}, {{"a0", 0}, {"b0", 1}, {"b1", 1}}};
    const auto [t_train, t_val] = train::split_dataset(tiny, 0.5, 0);
    CHECK(t_val.samples.size() == 1);
    CHECK(t_val.samples[0].label == 1);
  }
}

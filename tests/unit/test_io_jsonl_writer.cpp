#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <unordered_set>

#include "io/jsonl_writer.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

using namespace zoo::io;
using zoo::ErrorKind;
using zoo::test::catch_error;
using zoo::test::read_text;
using zoo::test::TempDir;
using zoo::test::write_file;

namespace {

const std::string k_line_a = R"({"filepath":"/data/a.jpg","label":{"_cls":"Classification","label":"cat"}})";
const std::string k_line_b = R"({"filepath":"/data/b.jpg","error":"truncated JPEG file"})";
const std::string k_line_c = R"({"filepath":"/data/c.jpg","label":null})";

}  // namespace

TEST_SUITE("io::JsonlWriter") {
  TEST_CASE("written lines reach the file, one per line, after flush") {
    TempDir dir("jsonl-write");
    const std::string path = (dir / "out.jsonl").string();
    INFO("output: ", path);
    JsonlWriter writer(path, false);
    CHECK(writer.path() == path);
    writer.write(k_line_a);
    writer.write(k_line_b);
    writer.flush();
    CHECK(read_text(path) == k_line_a + "\n" + k_line_b + "\n");

    writer.write(k_line_c);
    writer.flush();
    CHECK(read_text(path) == k_line_a + "\n" + k_line_b + "\n" + k_line_c + "\n");
  }

  TEST_CASE("append mode keeps what the file held; write mode replaces it") {
    TempDir dir("jsonl-append");
    const std::string path = (dir / "out.jsonl").string();
    INFO("output: ", path);
    write_file(path, k_line_a + "\n");
    {
      JsonlWriter writer(path, true);
      writer.write(k_line_b);
      writer.flush();
    }
    CHECK(read_text(path) == k_line_a + "\n" + k_line_b + "\n");
    {
      JsonlWriter writer(path, false);
      writer.write(k_line_c);
      writer.flush();
    }
    CHECK(read_text(path) == k_line_c + "\n");
  }

  TEST_CASE("lines still buffered are written when the writer is destroyed") {
    TempDir dir("jsonl-close");
    const std::string path = (dir / "out.jsonl").string();
    {
      JsonlWriter writer(path, false);
      writer.write(k_line_a);
    }
    CHECK(read_text(path) == k_line_a + "\n");
  }

  TEST_CASE("a file that cannot be opened is an io error naming it") {
    TempDir dir("jsonl-open");
    const std::string path = (dir / "no-such-folder/out.jsonl").string();
    const auto caught = catch_error([&] { JsonlWriter writer(path, false); });
    REQUIRE_MESSAGE(caught.thrown, caught.foreign);
    CHECK(caught.kind == ErrorKind::io);
    CHECK_MESSAGE(caught.message.rfind(path + ": cannot open for writing", 0) == 0, caught.message);
  }

  TEST_CASE("resuming from a missing file gives an empty state and creates nothing") {
    TempDir dir("jsonl-resume-missing");
    const std::string path = (dir / "missing.jsonl").string();
    const ResumeState state = scan_for_resume(path);
    CHECK(state.done.empty());
    CHECK(state.records == 0);
    CHECK(state.errors == 0);
    CHECK(state.torn_bytes == 0);
    CHECK_FALSE(std::filesystem::exists(path));
  }

  TEST_CASE("resuming from complete lines returns their filepaths and error count, file untouched") {
    TempDir dir("jsonl-resume-complete");
    const std::string path = (dir / "out.jsonl").string();
    INFO("output: ", path);
    const std::string content = k_line_a + "\n" + k_line_b + "\n\n" + k_line_c + "\n";
    write_file(path, content);

    const ResumeState state = scan_for_resume(path);
    CHECK(state.done == std::unordered_multiset<std::string>{"/data/a.jpg", "/data/b.jpg", "/data/c.jpg"});
    CHECK(state.records == 3);
    CHECK(state.errors == 1);
    CHECK(state.torn_bytes == 0);
    CHECK(read_text(path) == content);
  }

  TEST_CASE("a file recorded twice (a list naming it twice) is done twice") {
    TempDir dir("jsonl-resume-twice");
    const std::string path = (dir / "out.jsonl").string();
    write_file(path, k_line_a + "\n" + k_line_b + "\n" + k_line_a + "\n");
    const ResumeState state = scan_for_resume(path);
    CHECK(state.done.count("/data/a.jpg") == 2);
    CHECK(state.done.count("/data/b.jpg") == 1);
    CHECK(state.records == 3);
  }

  TEST_CASE("video frame records are keyed PATH#FRAME, a video's error record by its path") {
    TempDir dir("jsonl-resume-frames");
    const std::string path = (dir / "out.jsonl").string();
    write_file(path, R"({"filepath":"clip.avi","frame_number":1,"width":8,"height":6,"predictions":null})"
                     "\n"
                     R"({"filepath":"clip.avi","frame_number":11,"error":"cannot decode frame"})"
                     "\n"
                     R"({"filepath":"cut.avi","error":"video ends after frame 3 of the 9 its header announces"})"
                     "\n");
    const ResumeState state = scan_for_resume(path);
    CHECK(state.done == std::unordered_multiset<std::string>{"clip.avi#1", "clip.avi#11", "cut.avi"});
    CHECK(state.records == 3);
    CHECK(state.errors == 2);
    CHECK(record_key("clip.avi", 11) == "clip.avi#11");
    CHECK(record_key("a.jpg", 0) == "a.jpg");

    write_file(path, R"({"filepath":"clip.avi","frame_number":0})"
                     "\n");
    const auto caught = catch_error([&] { scan_for_resume(path); });
    REQUIRE_MESSAGE(caught.thrown, caught.foreign);
    CHECK(zoo::test::contains(caught.message, "frame_number"));
  }

  TEST_CASE("a torn last line is cut away and its size reported") {
    TempDir dir("jsonl-resume-torn");
    const std::string path = (dir / "out.jsonl").string();
    INFO("output: ", path);
    const std::string complete = k_line_a + "\n" + k_line_b + "\n";
    const std::string torn = R"({"filepath":"/data/c.jpg","label":{"_cls":"Classif)";
    write_file(path, complete + torn);

    const ResumeState state = scan_for_resume(path);
    CHECK(state.torn_bytes == torn.size());
    CHECK(state.records == 2);
    CHECK(state.errors == 1);
    CHECK(state.done == std::unordered_multiset<std::string>{"/data/a.jpg", "/data/b.jpg"});
    CHECK(read_text(path) == complete);
    CHECK(std::filesystem::file_size(path) == complete.size());

    // Scanning again finds nothing more to cut.
    const ResumeState again = scan_for_resume(path);
    CHECK(again.torn_bytes == 0);
    CHECK(again.records == 2);

    // Appending after the cut gives a clean file.
    {
      JsonlWriter writer(path, true);
      writer.write(k_line_c);
      writer.flush();
    }
    CHECK(read_text(path) == complete + k_line_c + "\n");
  }

  TEST_CASE("a file holding only a torn line is emptied") {
    TempDir dir("jsonl-resume-only-torn");
    const std::string path = (dir / "out.jsonl").string();
    write_file(path, R"({"filep)");
    const ResumeState state = scan_for_resume(path);
    CHECK(state.torn_bytes == 7);
    CHECK(state.records == 0);
    CHECK(read_text(path).empty());
  }

  TEST_CASE("a complete line that is not a zoo record is an io error naming file:line") {
    TempDir dir("jsonl-resume-bad");
    const std::string path = (dir / "out.jsonl").string();
    write_file(path, k_line_a + "\n\nthis is not json\n" + k_line_c + "\n");
    const auto not_json = catch_error([&] { scan_for_resume(path); });
    REQUIRE_MESSAGE(not_json.thrown, not_json.foreign);
    CHECK(not_json.kind == ErrorKind::io);
    CHECK(not_json.message == path + ":3: not a JSON line; is this a zoo apply output?");

    write_file(path, k_line_a + "\n" + R"({"label":"cat"})" + "\n");
    const auto no_filepath = catch_error([&] { scan_for_resume(path); });
    REQUIRE_MESSAGE(no_filepath.thrown, no_filepath.foreign);
    CHECK(no_filepath.kind == ErrorKind::io);
    CHECK(no_filepath.message == path + ":2: record has no \"filepath\"; is this a zoo apply output?");

    // The file is left as it was.
    CHECK(read_text(path) == k_line_a + "\n" + R"({"label":"cat"})" + "\n");
  }
}

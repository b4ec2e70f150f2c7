#include <doctest/doctest.h>

#include "io/csv.hpp"
#include "test_support.hpp"

using namespace zoo;
using namespace zoo::io;
using zoo::test::catch_error;
using zoo::test::contains;
using zoo::test::read_text;
using zoo::test::TempDir;
using zoo::test::write_file;

TEST_SUITE("io::csv") {
  TEST_CASE("fields with a comma, a quote or a line break are quoted, quotes doubled") {
    CHECK(csv_field("photos/cat.jpg") == "photos/cat.jpg");
    CHECK(csv_field("a,b.jpg") == "\"a,b.jpg\"");
    CHECK(csv_field("say \"cheese\".jpg") == "\"say \"\"cheese\"\".jpg\"");
    CHECK(csv_field("two\nlines") == "\"two\nlines\"");
    CHECK(csv_field("") == "");
    CHECK(csv_line({"a", "b,c", ""}) == "a,\"b,c\",");
  }

  TEST_CASE("the header has a label and confidence pair per class asked for") {
    CHECK(classifier_csv_header(0) == std::vector<std::string>{"filepath", "frame_number", "label", "confidence", "error"});
    CHECK(classifier_csv_header(2) == std::vector<std::string>{"filepath", "frame_number", "label_1", "confidence_1",
                                                               "label_2", "confidence_2", "error"});
  }

  TEST_CASE("parsing gives back what was written, quoted line breaks included; a torn record is left out") {
    const std::vector<std::string> a = {"x,1.jpg", "", "cat", "0.5", ""};
    const std::vector<std::string> b = {"say \"hi\"\nthere.jpg", "3", "", "", "cannot decode"};
    const std::string text = csv_line(a) + "\n" + csv_line(b) + "\r\n" + "torn,row";
    size_t complete = 0;
    const auto records = parse_csv(text, "t.csv", &complete);
    REQUIRE(records.size() == 2);
    CHECK(records[0] == a);
    CHECK(records[1] == b);
    CHECK(complete == text.size() - std::string("torn,row").size());
    // A line break inside quotes is content, CRLF outside is a line end,
    // a CR inside quotes at the end of a field stays.
    const auto cr = parse_csv("\"ends in cr\r\",x\r\n", "cr.csv");
    REQUIRE(cr.size() == 1);
    CHECK(cr[0] == std::vector<std::string>{"ends in cr\r", "x"});
    const auto caught = catch_error([] { parse_csv("a,b\n\"x\"y,z\n", "bad.csv"); });
    CHECK(caught.thrown);
    CHECK(contains(caught.message, "bad.csv:2: a quoted field is followed by text"));
  }

  TEST_CASE("resume: done rows by path and frame, errors counted, a torn row cut off, the header checked") {
    TempDir dir("csv-resume");
    const auto header = classifier_csv_header(0);
    const std::string path = (dir / "out.csv").string();
    const std::string good = csv_line(header) + "\n" + csv_line({"a.jpg", "", "cat", "0.9", ""}) + "\n" +
                             csv_line({"clip,1.avi", "7", "dog", "0.8", ""}) + "\n" +
                             csv_line({"bad.jpg", "", "", "", "cannot decode image"}) + "\n";
    write_file(path, good + "\"half a ro");
    const ResumeState state = scan_csv_for_resume(path, header);
    CHECK(state.records == 3);
    CHECK(state.errors == 1);
    CHECK(state.done.count("a.jpg"));
    CHECK(state.done.count(record_key("clip,1.avi", 7)));
    CHECK(state.done.count("bad.jpg"));
    CHECK(state.torn_bytes == 10);
    CHECK(read_text(path) == good);

    CHECK(scan_csv_for_resume((dir / "none.csv").string(), header).records == 0);

    // A row torn inside a quoted path with a line break: that row goes.
    write_file(path, good + "\"photos/two\nlin");
    CHECK(scan_csv_for_resume(path, header).torn_bytes == 15);
    CHECK(read_text(path) == good);
    // A quote never closed over several rows is not a torn row: refused,
    // and the file is kept.
    const std::string stray = csv_line(header) + "\n\"a.jpg,,cat,0.9,\nb.jpg,,dog,0.8,\nc.jpg,,cat,0.7,\n";
    write_file(path, stray);
    const auto unclosed = catch_error([&] { scan_csv_for_resume(path, header); });
    CHECK(contains(unclosed.message, "out.csv:2: a quote opened in this row is not closed"));
    CHECK(read_text(path) == stray);
    const auto other_k = catch_error([&] { scan_csv_for_resume(path, classifier_csv_header(3)); });
    CHECK(other_k.kind == ErrorKind::io);
    CHECK(contains(other_k.message, "out.csv:1: the header is `filepath,frame_number,label,confidence,error`"));
    write_file(path, csv_line(header) + "\na.jpg,,cat\n");
    CHECK(contains(catch_error([&] { scan_csv_for_resume(path, header); }).message, "row 2 has 3 fields"));
    write_file(path, csv_line(header) + "\na.jpg,x,cat,0.5,\n");
    CHECK(contains(catch_error([&] { scan_csv_for_resume(path, header); }).message, "frame_number \"x\""));
  }
}

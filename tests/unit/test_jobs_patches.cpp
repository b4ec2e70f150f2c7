#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "jobs/patches.hpp"
#include "media/input_pipeline.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

using zoo::ErrorKind;
using zoo::jobs::PatchOptions;
using zoo::jobs::PatchTable;
using zoo::media::Patch;
using zoo::media::PatchShape;
using zoo::test::catch_error;
using zoo::test::contains;
using zoo::test::TempDir;
using zoo::test::write_file;

namespace {

std::string detections(const std::string& items) {
  return R"({"_cls":"Detections","detections":[)" + items + "]}";
}

std::string detection(const std::string& label, const std::string& box) {
  return R"({"_cls":"Detection","label":")" + label + R"(","bounding_box":)" + box + R"(,"confidence":0.9})";
}

}  // namespace

TEST_SUITE("jobs::patches") {
  TEST_CASE("a patch's pixels: the box rounded, made square, grown by alpha, clipped to the image") {
    const Patch box{0, 0.25, 0.25, 0.5, 0.25, ""};
    CHECK(zoo::media::patch_rectangle(box, 100, 100, {}) == std::array<int, 4>{25, 25, 50, 25});
    // Square: the short side widened about the centre (37.5 -> 12.5 .. 62.5, halves rounded up).
    CHECK(zoo::media::patch_rectangle(box, 100, 100, {0, true}) == std::array<int, 4>{25, 13, 50, 50});
    CHECK(zoo::media::patch_rectangle(box, 100, 100, {0.2, false}) == std::array<int, 4>{20, 23, 60, 30});
    CHECK(zoo::media::patch_rectangle({0, 0.9, 0.9, 0.5, 0.5, ""}, 100, 50, {}) ==
          std::array<int, 4>{90, 45, 10, 5});
    const auto outside = zoo::media::patch_rectangle({0, 1.2, 0, 0.1, 0.1, ""}, 100, 100, {});
    CHECK(outside[2] == 0);
  }

  TEST_CASE("the table: detections by input, labels selected, failed inputs and video frames") {
    TempDir dir("patches-table");
    const std::string file = (dir / "faces.jsonl").string();
    write_file(file,
               R"({"filepath":"a.jpg","width":10,"height":10,"predictions":)" +
                   detections(detection("face", "[0.1,0.2,0.3,0.4]") + "," + detection("person", "[0,0,1,1]") +
                              "," + detection("face", "[0.5,0.5,0.2,0.2]")) +
                   "}\n" + R"({"filepath":"b.jpg","error":"cannot decode image"})" + "\n" +
                   R"({"filepath":"clip.avi","frame_number":3,"width":10,"height":10,"predictions":)" +
                   detections(detection("face", "[0,0,0.5,0.5]")) + "}\n" +
                   R"({"filepath":"c.jpg","width":10,"height":10,"predictions":null})" + "\n");
    PatchOptions options;
    options.file = file;
    options.labels = {"face"};
    const PatchTable table(options);
    CHECK(table.field() == "predictions");
    CHECK(table.records() == 4);
    // Relative paths name the same files as absolute ones.
    const auto a = table.lookup((std::filesystem::current_path() / "a.jpg").string(), 0);
    REQUIRE(a.patches.size() == 2);
    CHECK(a.patches[0].detection == 0);
    CHECK(a.patches[1].detection == 2);
    CHECK(a.patches[1].x == doctest::Approx(0.5));
    CHECK(contains(a.patches[0].label, R"("label":"face")"));
    CHECK(contains(table.lookup("b.jpg", 0).error, "faces.jsonl:2: this input failed there: cannot decode image"));
    CHECK(contains(table.lookup("d.jpg", 0).error, "has no record for this input"));
    CHECK(table.lookup("c.jpg", 0).patches.empty());
    CHECK(table.lookup("c.jpg", 0).error.empty());
    CHECK(table.lookup("clip.avi", -1).error.empty());
    CHECK(table.lookup("clip.avi", 3).patches.size() == 1);
    CHECK(table.lookup("clip.avi", 2).patches.empty());
    CHECK(contains(table.lookup("a.jpg", -1).error, "has no frame records for this video"));
  }

  TEST_CASE("a file that is not detections is refused naming the file and line") {
    TempDir dir("patches-bad");
    PatchOptions options;
    options.file = (dir / "bad.jsonl").string();
    write_file(options.file, R"({"filepath":"a.jpg","p":)" + detections(detection("x", "[0,0,1,1]")) + "}\nnope\n");
    const auto not_json = catch_error([&] { PatchTable{options}; });
    CHECK(not_json.kind == ErrorKind::data);
    CHECK(contains(not_json.message, "bad.jsonl:2: not a JSON line"));
    write_file(options.file, R"({"filepath":"a.jpg","p":)" + detections(detection("x", "[0,0,1,1]")) + R"(,"q":)" +
                                 detections("") + "}\n");
    const auto two = catch_error([&] { PatchTable{options}; });
    CHECK(two.kind == ErrorKind::usage);
    CHECK(contains(two.message, "several Detections fields (p, q)"));
    options.field = "p";
    write_file(options.file, R"({"filepath":"a.jpg","p":)" + detections(R"({"label":"x"})") + "}\n");
    const auto no_box = catch_error([&] { PatchTable{options}; });
    CHECK(contains(no_box.message, "bad.jsonl:1: p detection 0 has no \"bounding_box\""));
    options.field = "";
    write_file(options.file, R"({"filepath":"a.jpg","label":"cat"})" "\n");
    CHECK(contains(catch_error([&] { PatchTable{options}; }).message, "no record holds Detections"));
  }

  TEST_CASE("the pipeline cuts each patch out of the whole image and preprocesses it") {
    TempDir dir("patches-pipeline");
    cv::Mat image(20, 40, CV_8UC3, cv::Scalar(0, 0, 255));                 // red (BGR)
    image(cv::Rect(20, 0, 20, 20)).setTo(cv::Scalar(255, 0, 0));           // right half blue
    const std::string path = (dir / "halves.png").string();
    cv::imwrite(path, image);
    zoo::media::InputPipelineOptions options;
    options.preprocess.image_size = zoo::config::Size{4, 4};
    options.patches = [](const std::string&, int64_t) {
      zoo::media::PatchList list;
      list.patches = {{3, 0.05, 0.1, 0.4, 0.8, "{\"label\":\"left\"}"}, {5, 0.55, 0.1, 0.4, 0.8, "{}"}};
      return list;
    };
    zoo::media::InputPipeline pipeline({path}, options);
    auto left = pipeline.next();
    auto right = pipeline.next();
    REQUIRE(left);
    REQUIRE(right);
    CHECK_FALSE(pipeline.next());
    CHECK(left->detection == 3);
    CHECK(left->detection_label == "{\"label\":\"left\"}");
    CHECK(right->detection == 5);
    CHECK(left->image.width == 16);  // the crop's size
    CHECK(left->image.height == 16);
    const auto& l = left->image.input;
    const auto& r = right->image.input;
    REQUIRE(l.data.size() == 3 * 4 * 4);
    CHECK(l.data[0] == doctest::Approx(1.0));   // R
    CHECK(l.data[32] == doctest::Approx(0.0));  // B
    CHECK(r.data[0] == doctest::Approx(0.0));
    CHECK(r.data[32] == doctest::Approx(1.0));
  }
}

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "eval/detection.hpp"
#include "test_support.hpp"

using namespace zoo;
using zoo::test::catch_error;
using zoo::test::contains;
using zoo::test::TempDir;
using zoo::test::write_file;
using json = nlohmann::json;

namespace {

// A truth of one or more images of 100x100 pixels and the classes a (id 1)
// and b (id 2); `annotations` as [image_id, category_id, x, y, w, h, crowd].
eval::DetectionTruth make_truth(const TempDir& dir, int images, const std::vector<std::vector<double>>& annotations) {
  json doc = {{"images", json::array()}, {"annotations", json::array()},
              {"categories", {{{"id", 1}, {"name", "a"}}, {{"id", 2}, {"name", "b"}}}}};
  for (int i = 1; i <= images; ++i) {
    doc["images"].push_back({{"id", i}, {"file_name", "img" + std::to_string(i) + ".jpg"}});
  }
  for (const auto& a : annotations) {
    doc["annotations"].push_back({{"image_id", int(a[0])}, {"category_id", int(a[1])},
                                  {"bbox", {a[2], a[3], a[4], a[5]}}, {"iscrowd", int(a[6])}});
  }
  write_file(dir / "truth.json", doc.dump());
  return eval::load_detection_truth((dir / "truth.json").string());
}

// Labels in pixels for image 1 of `truth`: (class, x, y, w, h, score).
eval::DetectionLabels labels_for(const eval::DetectionTruth& truth, const std::vector<std::vector<double>>& boxes) {
  eval::DetectionLabels labels;
  labels.paths = truth.paths;
  labels.boxes.resize(truth.paths.size());
  labels.errors.resize(truth.paths.size());
  for (const auto& b : boxes) labels.boxes[0].push_back({{b[1], b[2], b[3], b[4]}, int(b[0]), b[5]});
  return labels;
}

}  // namespace

TEST_SUITE("eval::detection") {
  TEST_CASE("AP by COCO's 101 recall points, over IoU 0.50:0.95, and the counts at IoU 0.5") {
    TempDir dir("det-ap");
    // Two boxes of a; detections: one exact (0.9), one on nothing (0.8), one
    // at IoU 77/123 = 0.626 with the second box (0.7).
    const auto truth = make_truth(dir, 1, {{1, 1, 0, 0, 10, 10, 0}, {1, 1, 50, 50, 10, 10, 0}});
    const auto s = eval::score_detections(
        truth, labels_for(truth, {{0, 0, 0, 10, 10, 0.9}, {0, 80, 80, 10, 10, 0.8}, {0, 52.3, 50, 10, 10, 0.7}}), "L");
    // IoU 0.5-0.6: recall .5, .5, 1 at precision 1, .5, .667 -> 51 points at 1, 50 at 2/3.
    const double ap_low = (51 * 1.0 + 50 * (2.0 / 3)) / 101;
    // IoU 0.65-0.95: the third does not match: 51 points at 1.
    const double ap_high = 51.0 / 101;
    REQUIRE(s.classes.size() == 2);
    CHECK(s.classes[0].ap50 == doctest::Approx(ap_low));
    CHECK(s.classes[0].ap75 == doctest::Approx(ap_high));
    CHECK(s.classes[0].ap == doctest::Approx((3 * ap_low + 7 * ap_high) / 10));
    CHECK(s.classes[1].ap == -1);  // b has no boxes: not in the means
    CHECK(s.map == doctest::Approx(s.classes[0].ap));
    CHECK(s.true_positives == 2);
    CHECK(s.false_positives == 1);
    CHECK(s.false_negatives == 0);
    CHECK(s.precision == doctest::Approx(2.0 / 3));
    CHECK(s.recall == 1.0);
  }

  TEST_CASE("a crowd box absorbs the detections nothing else matches, without taking a real match") {
    TempDir dir("det-crowd");
    const auto truth = make_truth(dir, 1, {{1, 1, 0, 0, 10, 10, 0}, {1, 1, 0, 0, 100, 100, 1}});
    const auto s = eval::score_detections(truth, labels_for(truth, {{0, 0, 0, 10, 10, 0.9}, {0, 50, 50, 10, 10, 0.8}}),
                                          "L");
    CHECK(s.map == doctest::Approx(1.0));
    CHECK(s.true_positives == 1);
    CHECK(s.false_positives == 0);  // the second is inside the crowd: ignored
    CHECK(s.classes[0].objects == 1);
  }

  TEST_CASE("iscrowd as a JSON bool, an area out of COCO's range, duplicate annotation ids") {
    TempDir dir("det-flags");
    write_file(dir / "t.json", R"({"images": [{"id": 1, "file_name": "img1.jpg"}], "categories": [{"id": 1, "name": "a"}],
      "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10]},
                      {"id": 2, "image_id": 1, "category_id": 1, "bbox": [0, 0, 100, 100], "iscrowd": true},
                      {"id": 3, "image_id": 1, "category_id": 1, "bbox": [200, 200, 10, 10], "area": -1}]})");
    const auto truth = eval::load_detection_truth((dir / "t.json").string());
    REQUIRE(truth.boxes[0].size() == 3);
    CHECK(truth.boxes[0][1].crowd);
    CHECK(truth.boxes[0][2].ignore);
    CHECK_FALSE(truth.boxes[0][2].crowd);
    // The exact one matches box 1, the second falls in the crowd, the third
    // on the ignored box: one true positive, nothing else counted.
    const auto s = eval::score_detections(
        truth, labels_for(truth, {{0, 0, 0, 10, 10, 0.9}, {0, 50, 50, 10, 10, 0.95}, {0, 200, 200, 10, 10, 0.5}}), "L");
    CHECK(s.map == doctest::Approx(1.0));
    CHECK(s.true_positives == 1);
    CHECK(s.false_positives == 0);
    CHECK(s.false_negatives == 0);
    write_file(dir / "dup.json", R"({"images": [{"id": 1, "file_name": "x.jpg"}], "categories": [{"id": 1, "name": "a"}],
      "annotations": [{"id": 7, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}, {"id": 7, "image_id": 1, "category_id": 1, "bbox": [5, 5, 1, 1]}]})");
    CHECK(contains(catch_error([&] { eval::load_detection_truth((dir / "dup.json").string()); }).message,
                   "annotations[1]: annotation id 7 appears twice"));
  }

  TEST_CASE("a truth without boxes: no AP (-1, and AP gates refuse), every detection a false positive") {
    TempDir dir("det-empty");
    const auto truth = make_truth(dir, 1, {});
    const auto s = eval::score_detections(truth, labels_for(truth, {{1, 0, 0, 10, 10, 0.9}}), "L");
    CHECK(s.map == -1);
    CHECK(s.ap50 == -1);
    CHECK(s.false_positives == 1);
    CHECK(s.classes[1].precision == 0);
    const auto& m = eval::detection_metrics();
    CHECK(contains(catch_error([&] { eval::check_detection_gates({eval::parse_gate("map=0.5", true, m)}, s); }).message,
                   "the truth has no boxes"));
    CHECK(contains(catch_error([&] { eval::check_detection_gates({eval::parse_gate("ap:b=0.5", false, m)}, s); }).message,
                   "no boxes of \"b\""));
    CHECK_FALSE(eval::check_detection_gates({eval::parse_gate("fp=0", false, m)}, s)[0].passed);
    CHECK(contains(eval::detection_report_text(truth, s, {}), "the truth has no boxes"));
  }

  TEST_CASE("at most 100 detections per image and class count, the best first") {
    TempDir dir("det-max");
    const auto truth = make_truth(dir, 1, {{1, 1, 0, 0, 10, 10, 0}});
    std::vector<std::vector<double>> boxes;
    for (int i = 0; i < 100; ++i) boxes.push_back({0, 50, 50, 10, 10, 0.9});
    boxes.push_back({0, 0, 0, 10, 10, 0.1});  // the right box, 101st by score
    const auto s = eval::score_detections(truth, labels_for(truth, boxes), "L");
    CHECK(s.true_positives == 0);
    CHECK(s.false_positives == 100);
    CHECK(s.classes[0].detections == 100);
  }

  TEST_CASE("labels: JSON Lines boxes relative to the image, COCO results documents and lists, errors") {
    TempDir dir("det-read");
    const auto truth = make_truth(dir, 2, {{1, 1, 10, 20, 30, 40, 0}, {2, 2, 0, 0, 50, 50, 0}});
    const std::string img = (dir / "img").string();
    write_file(dir / "l.jsonl",
               json({{"filepath", img + "1.jpg"}, {"width", 100}, {"height", 200},
                     {"predictions", {{"_cls", "Detections"}, {"detections", {{{"label", "a"}, {"bounding_box", {0.1, 0.1, 0.3, 0.2}}, {"confidence", 0.5}},
                                                                               {{"label", "zebra"}, {"bounding_box", {0, 0, 1, 1}}, {"confidence", 0.9}}}}}}})
                       .dump() + "\n" +
                   json({{"filepath", img + "2.jpg"}, {"error", "cannot decode image"}}).dump() + "\n" +
                   json({{"filepath", img + "9.avi"}, {"frame_number", 1}, {"predictions", nullptr}}).dump() + "\n");
    const auto labels = eval::read_detection_labels((dir / "l.jsonl").string(), truth);
    REQUIRE(labels.paths.size() == 2);  // the frame of a video the truth does not list is skipped
    REQUIRE(labels.boxes[0].size() == 1);
    CHECK(labels.boxes[0][0].box.x == doctest::Approx(10));
    CHECK(labels.boxes[0][0].box.y == doctest::Approx(20));
    CHECK(labels.boxes[0][0].box.w == doctest::Approx(30));
    CHECK(labels.boxes[0][0].box.h == doctest::Approx(40));
    CHECK(labels.unknown_labels == 1);
    CHECK(labels.errors[1] == "cannot decode image");
    const auto s = eval::score_detections(truth, labels, "l.jsonl");
    CHECK(s.failed == 1);
    CHECK(s.classes[0].ap == doctest::Approx(1.0));
    CHECK(s.classes[1].ap == 0);  // b's box is on the image that failed
    CHECK(s.map == doctest::Approx(0.5));

    // zoo apply --format coco-dataset: category ids of its own, matched by name.
    write_file(dir / "r.json", json({{"images", {{{"id", 5}, {"file_name", img + "1.jpg"}}}},
                                     {"categories", {{{"id", 0}, {"name", "a"}}}},
                                     {"annotations", {{{"image_id", 5}, {"category_id", 0}, {"bbox", {10, 20, 30, 40}}, {"score", 0.5}}}}})
                                   .dump());
    const auto coco = eval::score_detections(truth, eval::read_detection_labels((dir / "r.json").string(), truth), "r");
    CHECK(coco.missing == 1);
    CHECK(coco.classes[0].ap == doctest::Approx(1.0));
    // A results list: the truth's ids; an image without results is not missing.
    write_file(dir / "list.json", R"([{"image_id": 1, "category_id": 1, "bbox": [10, 20, 30, 40], "score": 0.5}])");
    const auto list = eval::score_detections(truth, eval::read_detection_labels((dir / "list.json").string(), truth), "l");
    CHECK(list.missing == 0);
    CHECK(list.map == doctest::Approx(0.5));
    write_file(dir / "bad.json", R"([{"image_id": 7, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}])");
    CHECK(contains(catch_error([&] { eval::read_detection_labels((dir / "bad.json").string(), truth); }).message,
                   "bad.json: [0]: image_id 7 is not in the truth"));
    write_file(dir / "frame.jsonl", json({{"filepath", img + "1.jpg"}, {"frame_number", 2}, {"predictions", nullptr}}).dump());
    CHECK(contains(catch_error([&] { eval::read_detection_labels((dir / "frame.jsonl").string(), truth); }).message,
                   "frame.jsonl:1: a frame of the video"));
    // The record rules classification labels follow too (eval/label_lines.hpp).
    const std::string error_record = json({{"filepath", img + "1.jpg"}, {"error", ""}}).dump();
    write_file(dir / "rules.jsonl", "\n" + error_record + "\n");  // a blank line first
    CHECK(eval::read_detection_labels((dir / "rules.jsonl").string(), truth).errors[0] ==
          "an error record without a message");
    write_file(dir / "zero.jsonl", json({{"filepath", img + "1.jpg"}, {"frame_number", 0}}).dump());
    CHECK(contains(catch_error([&] { eval::read_detection_labels((dir / "zero.jsonl").string(), truth); }).message,
                   "zero.jsonl:1: \"frame_number\" is not a frame number"));
    const std::string same_file = (dir / "." / "img").string() + "1.jpg";  // img1.jpg, spelt otherwise
    write_file(dir / "twice.jsonl", error_record + "\n" + json({{"filepath", same_file}, {"error", "x"}}).dump());
    CHECK(contains(catch_error([&] { eval::read_detection_labels((dir / "twice.jsonl").string(), truth); }).message,
                   "twice.jsonl:2: " + same_file + " already has a record on line 1"));
    write_file(dir / "array.jsonl", "\n\n42\n");  // a first [ would be a results list
    CHECK(contains(catch_error([&] { eval::read_detection_labels((dir / "array.jsonl").string(), truth); }).message,
                   "array.jsonl:3: a record needs a string \"filepath\""));
  }

  TEST_CASE("COCO truth: files relative to the JSON, errors naming the image or annotation") {
    TempDir dir("det-truth");
    const auto truth = make_truth(dir, 1, {});
    CHECK(truth.paths[0] == (dir / "img1.jpg").string());
    CHECK(truth.classes == std::vector<std::string>{"a", "b"});
    CHECK(eval::is_coco_truth((dir / "truth.json").string()));
    write_file(dir / "list.json", "{\"filepath\": \"a.jpg\", \"label\": \"cat\"}\n{\"filepath\": \"b.jpg\", \"label\": \"dog\"}\n");
    CHECK_FALSE(eval::is_coco_truth((dir / "list.json").string()));
    auto error_of = [&](const std::string& doc) {
      write_file(dir / "t.json", doc);
      return catch_error([&] { eval::load_detection_truth((dir / "t.json").string()); }).message;
    };
    const std::string categories = R"("categories": [{"id": 1, "name": "a"}])";
    CHECK(contains(error_of(R"({"images": [{"id": 1, "file_name": "x.jpg"}], "annotations": [{"image_id": 1, "category_id": 9, "bbox": [0, 0, 1, 1]}], )" + categories + "}"),
                   "annotations[0]: category_id 9 is not in \"categories\""));
    CHECK(contains(error_of(R"({"images": [{"id": 1, "file_name": "x.jpg"}, {"id": 1, "file_name": "y.jpg"}], "annotations": [], )" + categories + "}"),
                   "images[1]: image id 1 appears twice"));
    CHECK(contains(error_of(R"({"images": [{"id": 1, "file_name": "x.jpg"}], "annotations": [{"image_id": 1, "category_id": 1, "bbox": [0, 0, -1, 1]}], )" + categories + "}"),
                   "annotations[0]: the box [0, 0, -1, 1] has a negative"));
  }

  TEST_CASE("detection gates") {
    CHECK(eval::parse_gate("ap50:face=80%", true, eval::detection_metrics()).value == doctest::Approx(0.8));
    CHECK(contains(catch_error([] { eval::parse_gate("accuracy=0.5", true, eval::detection_metrics()); }).message,
                   "unknown metric \"accuracy\""));
    eval::DetectionScore s;
    s.map = 0.5;
    s.false_negatives = 3;
    const auto results = eval::check_detection_gates(
        {eval::parse_gate("map=50%", true, eval::detection_metrics()), eval::parse_gate("fn=2", false, eval::detection_metrics())}, s);
    CHECK(results[0].passed);
    CHECK_FALSE(results[1].passed);
  }
}

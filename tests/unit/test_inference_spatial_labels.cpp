#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "inference/spatial_labels.hpp"
#include "media/image.hpp"
#include "test_support.hpp"

using namespace zoo::inference;
using zoo::media::InputGeometry;
using zoo::models::NamedOutputs;
using zoo::models::Output;
using zoo::test::TempDir;

namespace {

InputGeometry identity(int width, int height) { return {width, height, width, height, 0, 0}; }

// Outputs of a torchvision detector for one image: one box and its class.
NamedOutputs one_box(float x1, float y1, float x2, float y2, float score, int label) {
  NamedOutputs out;
  out["boxes"] = Output{{1, 4}, {x1, y1, x2, y2}};
  out["labels"] = Output{{1}, {float(label)}};
  out["scores"] = Output{{1}, {score}};
  return out;
}

cv::Mat decode_png(const std::string& path) { return cv::imread(path, cv::IMREAD_UNCHANGED); }

// pycocotools' rleFrString then rleDecode (maskApi.c), written from their
// description: the mask (row by row) a compressed counts string stands for.
std::vector<uint8_t> decode_rle(const std::string& s, int width, int height) {
  std::vector<int64_t> counts;
  for (size_t p = 0; p < s.size();) {
    int64_t x = 0;
    int k = 0;
    bool more = true;
    while (more) {
      const int64_t c = s[p] - 48;
      x |= (c & 0x1f) << (5 * k);
      more = c & 0x20;
      ++p;
      ++k;
      if (!more && (c & 0x10)) x |= int64_t(-1) << (5 * k);
    }
    if (counts.size() > 2) x += counts[counts.size() - 2];
    counts.push_back(x);
  }
  std::vector<uint8_t> mask(size_t(width) * size_t(height), 0);
  size_t at = 0;
  uint8_t v = 0;
  for (int64_t run : counts) {
    for (int64_t i = 0; i < run; ++i, ++at) {
      REQUIRE(at < mask.size());
      const size_t x = at / size_t(height), y = at % size_t(height);  // column-major
      mask[y * size_t(width) + x] = v;
    }
    v = uint8_t(1 - v);
  }
  CHECK(at == mask.size());
  return mask;
}

}  // namespace

TEST_SUITE("inference::spatial_labels") {
  TEST_CASE("a detector row gives relative boxes and class names") {
    std::vector<float> row;
    row_from_named_outputs(one_box(10, 20, 30, 60, 0.9f, 1), SpatialKind::detector, 0.5, row);
    SpatialOptions options;
    options.detector.classes = {"__background__", "person"};
    const auto labels = spatial_labels(row, SpatialKind::detector, identity(100, 200), options, MaskWriter(""), "x");
    REQUIRE(labels.size() == 1);
    const auto& d = labels[0].second["detections"][0];
    CHECK(d["label"] == "person");
    CHECK(d["bounding_box"][0].get<double>() == doctest::Approx(0.1));
    CHECK(d["bounding_box"][3].get<double>() == doctest::Approx(0.2));
  }

  TEST_CASE("an instance mask is cropped to the box rounded half to even and thresholded") {
    // A 4x6 image; box x 0.5..3.5 -> columns 0..4 (round(0.5)=0, round(3.5)=4), rows 1..3.
    NamedOutputs out = one_box(0.5f, 1.f, 3.5f, 3.f, 0.8f, 1);
    Output masks{{1, 1, 4, 6}, std::vector<float>(24, 0.f)};
    masks.values[1 * 6 + 0] = 0.9f;  // inside the crop, above 0.5
    masks.values[2 * 6 + 3] = 0.6f;  // inside
    masks.values[2 * 6 + 4] = 0.9f;  // column 4: outside the crop
    masks.values[1 * 6 + 1] = 0.5f;  // not above the threshold
    out["masks"] = masks;
    std::vector<float> row;
    row_from_named_outputs(out, SpatialKind::instance_segmenter, 0.5, row);
    TempDir dir("spatial");
    const MaskWriter writer((dir / "masks").string());
    const auto labels = spatial_labels(row, SpatialKind::instance_segmenter, identity(6, 4), SpatialOptions{}, writer,
                                       "img-00000000");
    const auto& d = labels[0].second["detections"][0];
    REQUIRE(d.contains("mask_path"));
    const cv::Mat mask = decode_png(d["mask_path"].get<std::string>());
    REQUIRE(mask.rows == 2);
    REQUIRE(mask.cols == 4);
    CHECK(mask.at<uint8_t>(0, 0) == 255);
    CHECK(mask.at<uint8_t>(0, 1) == 0);
    CHECK(mask.at<uint8_t>(1, 3) == 255);
    CHECK(cv::countNonZero(mask) == 2);
  }

  TEST_CASE("COCO RLE: column-major runs, deltas after the second, as pycocotools encodes") {
    CHECK(coco_rle_counts({0, 1, 1, 1}, 2, 2) == "13");  // pycocotools: encode([[0, 1], [1, 1]]) = b'13'
    CHECK(coco_rle_counts({1, 1, 1, 1}, 2, 2) == "04");  // no zeros first: a 0 run
    CHECK(coco_rle_counts({0, 0, 0, 0}, 2, 2) == "4");
    // Long runs (several characters) and negative deltas round-trip.
    std::vector<uint8_t> mask(97 * 61, 0);
    uint32_t state = 12345;
    for (size_t i = 0; i < mask.size(); ++i) {
      state = state * 1103515245u + 12345u;
      mask[i] = (i / 61 % 7 == 0) || ((state >> 16) % 5 == 0) ? 1 : 0;
    }
    CHECK(decode_rle(coco_rle_counts(mask, 61, 97), 61, 97) == mask);
  }

  TEST_CASE("COCO results of an instance segmenter: the box's mask placed over the whole image") {
    NamedOutputs out = one_box(0.5f, 1.f, 3.5f, 3.f, 0.8f, 1);
    Output masks{{1, 1, 4, 6}, std::vector<float>(24, 0.f)};
    masks.values[1 * 6 + 0] = 0.9f;  // in the crop
    masks.values[2 * 6 + 3] = 0.6f;  // in the crop
    masks.values[2 * 6 + 4] = 0.9f;  // outside the crop: not in the mask
    out["masks"] = masks;
    std::vector<float> row;
    row_from_named_outputs(out, SpatialKind::instance_segmenter, 0.5, row);
    SpatialOptions options;
    options.detector.classes = {"a", "b"};
    const auto dets = coco_detections(row, SpatialKind::instance_segmenter, identity(6, 4), options);
    REQUIRE(dets.size() == 1);
    CHECK(dets[0].label == 1);
    CHECK(dets[0].score == doctest::Approx(0.8));
    CHECK(dets[0].bbox[0] == doctest::Approx(0.5));
    CHECK(dets[0].bbox[2] == doctest::Approx(3.0));
    std::vector<uint8_t> expected(24, 0);
    expected[1 * 6 + 0] = 1;
    expected[2 * 6 + 3] = 1;
    CHECK(decode_rle(dets[0].rle, 6, 4) == expected);
  }

  TEST_CASE("COCO results of a keypoints model: pixels, v 2, and 0 0 0 below keypoint_thresh") {
    NamedOutputs out = one_box(0, 0, 10, 10, 0.9f, 1);
    out["keypoints"] = Output{{1, 2, 3}, {5, 10, 1, 2, 4, 1}};
    out["keypoints_scores"] = Output{{1, 2}, {3.f, -3.f}};
    std::vector<float> row;
    row_from_named_outputs(out, SpatialKind::keypoints, 0.5, row);
    SpatialOptions options;
    options.keypoint_thresh = 0.5;
    const auto dets = coco_detections(row, SpatialKind::keypoints, identity(20, 40), options);
    REQUIRE(dets.size() == 1);
    CHECK(dets[0].keypoints == std::vector<double>{5, 10, 2, 0, 0, 0});
    CHECK(dets[0].num_keypoints == 1);
    CHECK(dets[0].rle.empty());
  }

  TEST_CASE("inline masks are base64 PNGs") {
    NamedOutputs out = one_box(0, 0, 2, 2, 0.8f, 0);
    out["masks"] = Output{{1, 1, 2, 2}, {1, 1, 1, 1}};
    std::vector<float> row;
    row_from_named_outputs(out, SpatialKind::instance_segmenter, 0.5, row);
    const auto labels =
        spatial_labels(row, SpatialKind::instance_segmenter, identity(2, 2), SpatialOptions{}, MaskWriter(""), "x");
    const std::string png = labels[0].second["detections"][0]["mask_png"].get<std::string>();
    CHECK(png.rfind("iVBORw0KGgo", 0) == 0);  // the PNG signature in base64
  }

  TEST_CASE("keypoints under keypoint_thresh are NaN (null) and the rest relative") {
    NamedOutputs out = one_box(0, 0, 10, 10, 0.9f, 1);
    out["keypoints"] = Output{{1, 2, 3}, {5, 10, 1, 2, 4, 1}};
    out["keypoints_scores"] = Output{{1, 2}, {3.f, -3.f}};  // sigmoid 0.95, 0.05
    std::vector<float> row;
    row_from_named_outputs(out, SpatialKind::keypoints, 0.5, row);
    SpatialOptions options;
    options.keypoint_thresh = 0.5;
    const auto labels = spatial_labels(row, SpatialKind::keypoints, identity(20, 40), options, MaskWriter(""), "x");
    REQUIRE(labels.size() == 2);
    CHECK(labels[0].first == "_detections");
    CHECK(labels[1].first == "_keypoints");
    const auto& k = labels[1].second["keypoints"][0];
    CHECK(k["points"][0][0].get<double>() == doctest::Approx(0.25));
    CHECK(k["points"][0][1].get<double>() == doctest::Approx(0.25));
    CHECK(k["points"][1][0].is_null());
    CHECK(k["confidence"][1].get<double>() == doctest::Approx(1 / (1 + std::exp(3.0))).epsilon(1e-4));
  }

  TEST_CASE("a segmentation is the argmax resized back to the original image by nearest neighbour") {
    // Two classes on a 2x2 input; class 1 wins on the right column.
    Output logits{{1, 2, 2, 2}, {1, 0, 1, 0, /* class 1 */ 0, 5, 0, 5}};
    std::vector<std::vector<float>> rows(1);
    segmentation_rows(logits, 1, rows);
    // The original image is 6 x 4, resized to the 2 x 2 input.
    const InputGeometry geometry{6, 4, 2, 2, 0, 0};
    TempDir dir("segment");
    const auto labels =
        spatial_labels(rows[0], SpatialKind::segmenter, geometry, SpatialOptions{}, MaskWriter(dir.path().string()), "s");
    CHECK(labels[0].second["_cls"] == "Segmentation");
    const cv::Mat mask = decode_png(labels[0].second["mask_path"].get<std::string>());
    REQUIRE(mask.cols == 6);
    REQUIRE(mask.rows == 4);
    for (int x = 0; x < 6; ++x) CHECK(mask.at<uint8_t>(2, x) == (x >= 3 ? 1 : 0));
  }

  TEST_CASE("mask file stems tell inputs with the same name apart") {
    CHECK(mask_file_stem("a/x.jpg", 0) != mask_file_stem("b/x.jpg", 0));
    CHECK(mask_file_stem("clip.avi", 12).find("-f12") != std::string::npos);
    CHECK(mask_file_stem("a/x.jpg", 0).rfind("x-", 0) == 0);
  }

  TEST_CASE("SSD anchors: MediaPipe's grid, cell centres, row by row, per_cell anchors each") {
    const AnchorGrid grid{{16, 32}, {2, 6}, 256, 256};
    const auto anchors = anchor_centres(grid);
    REQUIRE(anchors.size() == 896);  // 16 x 16 x 2 + 8 x 8 x 6, BlazeFace's
    CHECK(anchors[0] == std::array<float, 2>{8.f, 8.f});
    CHECK(anchors[1] == std::array<float, 2>{8.f, 8.f});
    CHECK(anchors[2] == std::array<float, 2>{24.f, 8.f});
    CHECK(anchors[32] == std::array<float, 2>{8.f, 24.f});
    CHECK(anchors[512] == std::array<float, 2>{16.f, 16.f});
    CHECK(anchors[895] == std::array<float, 2>{240.f, 240.f});
    // A size that is not a multiple of the stride takes a partial cell.
    CHECK(anchor_centres({{16}, {1}, 40, 20}).size() == 3 * 2);
  }

  TEST_CASE("SSD rows: sigmoid scores, boxes and points from the anchors, thresholded and suppressed") {
    const AnchorGrid grid{{8}, {1}, 16, 16};  // 4 anchors: (4,4) (12,4) (4,12) (12,12)
    Output out{{1, 4, 7}, std::vector<float>(28, 0.f)};
    auto set = [&](int a, std::vector<float> v) { std::copy(v.begin(), v.end(), out.values.begin() + a * 7); };
    set(0, {2.f, 1.f, 0.f, 4.f, 2.f, -1.f, 1.f});     // score 0.881, box centre (5, 4), point (3, 5)
    set(1, {-5.f, 0.f, 0.f, 4.f, 4.f, 0.f, 0.f});     // score 0.0067: under the threshold
    set(2, {0.f, 0.f, 0.f, 2.f, 2.f, 0.f, 0.f});      // score 0.5
    set(3, {1.f, -7.f, -7.f, 4.f, 2.f, 0.f, 0.f});    // centre (5, 5): overlaps anchor 0's box, lower score
    std::vector<std::vector<float>> rows(1);
    anchor_rows(out, 1, grid, 0.4, 0.3, true, rows);
    const double s0 = 1 / (1 + std::exp(-2.0)), s2 = 0.5;
    // Two people, one point each, in falling score order.
    REQUIRE(rows[0].size() == 2 + 2 * 6 + 2 * 3);
    CHECK(rows[0][0] == 2.f);
    CHECK(rows[0][1] == 1.f);
    CHECK(rows[0][2] == doctest::Approx(3.f));
    CHECK(rows[0][3] == doctest::Approx(3.f));
    CHECK(rows[0][4] == doctest::Approx(7.f));
    CHECK(rows[0][5] == doctest::Approx(5.f));
    CHECK(rows[0][6] == doctest::Approx(s0));
    CHECK(rows[0][8] == doctest::Approx(3.f));   // anchor 2's box: centre (4, 12), size 2
    CHECK(rows[0][9] == doctest::Approx(11.f));
    CHECK(rows[0][12] == doctest::Approx(s2));
    CHECK(rows[0][14] == doctest::Approx(3.f));  // anchor 0's point: (4 - 1, 4 + 1)
    CHECK(rows[0][15] == doctest::Approx(5.f));
    CHECK(rows[0][16] == doctest::Approx(s0));
    CHECK(rows[0][17] == doctest::Approx(4.f));  // anchor 2's point: the anchor itself
    CHECK(rows[0][18] == doctest::Approx(12.f));
    // Without suppression anchor 3 stays; as a detector row, no points.
    anchor_rows(out, 1, grid, 0.4, std::nullopt, false, rows);
    CHECK(rows[0].size() == 3 * 6);
    const Output wrong{{1, 5, 7}, std::vector<float>(35, 0.f)};
    const auto error = zoo::test::catch_error([&] { anchor_rows(wrong, 1, grid, 0.4, 0.3, true, rows); });
    CHECK(zoo::test::contains(error.message, "expected [batch, 4, 5 + 2 x points]"));
  }
}

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "inference/detector.hpp"
#include "media/image.hpp"
#include "test_support.hpp"

using namespace zoo::inference;
using zoo::config::Preprocess;
using zoo::config::Size;
using zoo::media::DecodedImage;
using zoo::media::DecodeLimits;
using zoo::media::input_geometry;
using zoo::media::InputGeometry;
using zoo::media::load_image;
using zoo::test::TempDir;
using zoo::test::write_bytes;

namespace {

// A box in pixels of some image: left, top, right, bottom (exclusive).
struct PixelBox {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

// A black `width` x `height` image with a white rectangle `box`, encoded as
// `extension` (".png" or ".jpg").
std::vector<uint8_t> image_with_box(int width, int height, PixelBox box, const std::string& extension) {
  cv::Mat image(height, width, CV_8UC3, cv::Scalar::all(0));
  image(cv::Rect(box.x0, box.y0, box.x1 - box.x0, box.y1 - box.y0)).setTo(cv::Scalar::all(255));
  std::vector<uint8_t> bytes;
  cv::imencode(extension, image, bytes, {cv::IMWRITE_JPEG_QUALITY, 95});
  return bytes;
}

// The bounding box of the bright pixels of a decoded model input (8-bit
// pixels, or channel 0 of a tensor), in input pixels (right/bottom
// exclusive): what a perfect detector would report.
PixelBox bright_box(const DecodedImage& image) {
  PixelBox box{1 << 30, 1 << 30, -1, -1};
  const bool pixels = image.pixels.width > 0;
  const int width = pixels ? image.pixels.width : image.input.width;
  const int height = pixels ? image.pixels.height : image.input.height;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const float value = pixels ? image.pixels.data[(size_t(y) * width + x) * image.pixels.channels] / 255.0f
                                 : image.input.data[size_t(y) * width + x];
      if (value > 0.5f) {
        box.x0 = std::min(box.x0, x);
        box.y0 = std::min(box.y0, y);
        box.x1 = std::max(box.x1, x + 1);
        box.y1 = std::max(box.y1, y + 1);
      }
    }
  }
  return box;
}

std::string text(const RelativeBox& b) {
  return fmt::format("[{}, {}, {}, {}]", b.x, b.y, b.width, b.height);
}

std::string text(const InputGeometry& g) {
  return fmt::format("{}x{} resized to {}x{} offset ({}, {})", g.width, g.height, g.resized_width, g.resized_height,
                     g.offset_x, g.offset_y);
}

// A JPEG with an APP1 Exif segment carrying only Orientation = `orientation`
// (as in test_media_image.cpp).
std::vector<uint8_t> with_exif_orientation(const std::vector<uint8_t>& jpeg, uint16_t orientation) {
  const std::vector<uint8_t> tiff = {'I', 'I', 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00, 0x01, 0x00, 0x12, 0x01,
                                     0x03, 0x00, 0x01, 0x00, 0x00, 0x00, uint8_t(orientation & 0xFF),
                                     uint8_t(orientation >> 8), 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  std::vector<uint8_t> payload = {'E', 'x', 'i', 'f', 0x00, 0x00};
  payload.insert(payload.end(), tiff.begin(), tiff.end());
  const size_t length = payload.size() + 2;
  std::vector<uint8_t> app1 = {0xFF, 0xE1, uint8_t(length >> 8), uint8_t(length & 0xFF)};
  app1.insert(app1.end(), payload.begin(), payload.end());
  std::vector<uint8_t> out = jpeg;
  out.insert(out.begin() + 2, app1.begin(), app1.end());
  return out;
}

struct Case {
  std::string name;
  Preprocess pre;
};

Preprocess with_size(Size size) {
  Preprocess p;
  p.image_size = size;
  return p;
}

Preprocess with_dim_and_crop(int dim, Size crop) {
  Preprocess p;
  p.image_dim = dim;
  p.center_crop = crop;
  return p;
}

Preprocess with_min_max(int min_dim, int max_dim) {
  Preprocess p;
  p.image_min_dim = min_dim;
  p.image_max_dim = max_dim;
  return p;
}

// Loads `path` with `pre` (as pixels and as a tensor), finds the rectangle
// in the model input, maps it back and checks it against `expected`
// (relative to the original image) within `tolerance` input pixels.
void check_round_trip(const std::string& path, const Preprocess& pre, const RelativeBox& expected, double tolerance) {
  for (const bool keep_pixels : {true, false}) {
    DecodeLimits limits;
    limits.keep_pixels = keep_pixels;
    const DecodedImage image = load_image(path, pre, limits);
    INFO(path, keep_pixels ? " as pixels" : " as a tensor", ": ", image.error);
    REQUIRE(image.error.empty());
    const InputGeometry geometry = input_geometry(image.width, image.height, pre);
    const PixelBox found = bright_box(image);
    REQUIRE(found.x1 > found.x0);
    const RelativeBox box = relative_box(found.x0, found.y0, found.x1, found.y1, geometry);
    INFO("geometry ", text(geometry), "; found ", text(box), ", expected ", text(expected));
    const double tol_x = tolerance / geometry.resized_width;
    const double tol_y = tolerance / geometry.resized_height;
    CHECK(std::abs(box.x - expected.x) <= tol_x);
    CHECK(std::abs(box.y - expected.y) <= tol_y);
    CHECK(std::abs(box.width - expected.width) <= 2 * tol_x);
    CHECK(std::abs(box.height - expected.height) <= 2 * tol_y);
  }
}

}  // namespace

TEST_SUITE("inference::detector") {
  TEST_CASE("a known rectangle maps back to its place in the original image through resize and center crop") {
    TempDir dir("detector-geometry");
    const int width = 400, height = 300;
    const PixelBox rect{100, 60, 260, 200};
    const RelativeBox expected{100.0 / width, 60.0 / height, 160.0 / width, 140.0 / height};
    const std::string path = (dir / "box.png").string();
    write_bytes(path, image_with_box(width, height, rect, ".png"));

    const std::vector<Case> cases = {
        {"no resize", Preprocess{}},
        {"image_size [128, 96] (aspect not kept)", with_size({96, 128})},
        {"image_dim 150 + center_crop 120", with_dim_and_crop(150, {120, 120})},
        {"image_dim 151 + center_crop 131x111 (odd offsets)", with_dim_and_crop(151, {131, 111})},
        {"image_min_dim 600 (upscale)", with_min_max(600, 0)},
        {"image_max_dim 97 (downscale, rounding)", with_min_max(0, 97)},
    };
    for (const auto& c : cases) {
      CAPTURE(c.name);
      // One input pixel of slack for the resampling at the rectangle's edges.
      check_round_trip(path, c.pre, expected, 1.0);
    }
  }

  TEST_CASE("a center crop larger than the resized image pads it, and boxes come back through the padding") {
    TempDir dir("detector-padding");
    const std::string path = (dir / "box.png").string();
    write_bytes(path, image_with_box(80, 60, {20, 10, 50, 40}, ".png"));
    Preprocess pre = with_size({64, 48});
    pre.center_crop = Size{100, 90};
    const InputGeometry g = input_geometry(80, 60, pre);
    CHECK(g.resized_width == 64);
    CHECK(g.resized_height == 48);
    CHECK(g.offset_x == -18);  // 36 columns of padding, 18 on the left
    CHECK(g.offset_y == -21);
    check_round_trip(path, pre, {20.0 / 80, 10.0 / 60, 30.0 / 80, 30.0 / 60}, 1.0);
  }

  TEST_CASE("boxes are relative to the full image after a reduced-size JPEG decode") {
    TempDir dir("detector-reduced");
    const std::string path = (dir / "big.jpg").string();
    write_bytes(path, image_with_box(2000, 1500, {700, 400, 1300, 1100}, ".jpg"));
    const Preprocess pre = with_dim_and_crop(224, {224, 224});
    const DecodedImage probe = load_image(path, pre, DecodeLimits{});
    REQUIRE(probe.error.empty());
    CHECK(probe.reduction > 1);  // the case under test
    CHECK(probe.width == 2000);
    check_round_trip(path, pre, {700.0 / 2000, 400.0 / 1500, 600.0 / 2000, 700.0 / 1500}, 1.5);
  }

  TEST_CASE("boxes are relative to the image as EXIF orientation shows it") {
    TempDir dir("detector-exif");
    // Stored 400x300 with the rectangle at x 100-260, y 60-200; orientation 6
    // turns it clockwise to 300x400, where the rectangle is at x 100-240, y 100-260.
    const std::string path = (dir / "rotated.jpg").string();
    write_bytes(path, with_exif_orientation(image_with_box(400, 300, {100, 60, 260, 200}, ".jpg"), 6));
    check_round_trip(path, Preprocess{}, {100.0 / 300, 100.0 / 400, 140.0 / 300, 160.0 / 400}, 1.0);
    check_round_trip(path, with_dim_and_crop(150, {140, 140}), {100.0 / 300, 100.0 / 400, 140.0 / 300, 160.0 / 400},
                     1.0);
  }

  TEST_CASE("relative_box clips to the image and orders the corners") {
    InputGeometry g;
    g.width = g.resized_width = 200;
    g.height = g.resized_height = 100;
    const RelativeBox inside = relative_box(50, 20, 150, 70, g);
    CHECK(inside.x == doctest::Approx(0.25));
    CHECK(inside.y == doctest::Approx(0.2));
    CHECK(inside.width == doctest::Approx(0.5));
    CHECK(inside.height == doctest::Approx(0.5));
    const RelativeBox clipped = relative_box(150, -10, 260, 50, g);
    CHECK(clipped.x == doctest::Approx(0.75));
    CHECK(clipped.y == doctest::Approx(0.0));
    CHECK(clipped.width == doctest::Approx(0.25));
    CHECK(clipped.height == doctest::Approx(0.5));
    const RelativeBox swapped = relative_box(150, 70, 50, 20, g);
    CHECK(swapped.x == doctest::Approx(0.25));
    CHECK(swapped.width == doctest::Approx(0.5));
    const RelativeBox outside = relative_box(210, 10, 300, 50, g);
    CHECK(outside.width == 0);
  }

  TEST_CASE("detections_json writes FiftyOne Detections, drops weak and outside boxes, names the labels") {
    InputGeometry g;
    g.width = g.resized_width = 100;
    g.height = g.resized_height = 50;
    std::vector<float> row;
    append_detection(row, 10, 5, 30, 25, 0.9f, 0);
    append_detection(row, 40, 10, 60, 40, 0.3f, 1);
    append_detection(row, 120, 10, 130, 20, 0.95f, 0);  // outside the image
    append_detection(row, 0, 0, 100, 50, 0.6f, 7);      // a class index past the labels
    DetectorOptions options;
    options.classes = {"person", "face"};
    const auto all = detections_json(row, g, options);
    INFO(all.dump());
    CHECK(all["_cls"] == "Detections");
    REQUIRE(all["detections"].size() == 3);
    const auto& first = all["detections"][0];
    CHECK(first["_cls"] == "Detection");
    CHECK(first["label"] == "person");
    CHECK(first["bounding_box"][0].get<double>() == doctest::Approx(0.1));
    CHECK(first["bounding_box"][1].get<double>() == doctest::Approx(0.1));
    CHECK(first["bounding_box"][2].get<double>() == doctest::Approx(0.2));
    CHECK(first["bounding_box"][3].get<double>() == doctest::Approx(0.4));
    CHECK(first["confidence"].get<double>() == doctest::Approx(0.9));
    CHECK(all["detections"][1]["label"] == "face");
    CHECK(all["detections"][2]["label"] == "7");

    options.confidence_thresh = 0.5;
    const auto strong = detections_json(row, g, options);
    REQUIRE(strong["detections"].size() == 2);
    CHECK(strong["detections"][0]["label"] == "person");
    CHECK(strong["detections"][1]["label"] == "7");
    CHECK(detections_json({}, g, options)["detections"].empty());
  }

  TEST_CASE("COCO results hold absolute boxes in the original image, ids from 1, and video frame numbers") {
    InputGeometry g;
    g.width = 640;
    g.height = 480;
    g.resized_width = 320;  // the model saw the image at half size
    g.resized_height = 240;
    std::vector<float> row;
    append_detection(row, 10, 20, 110, 70, 0.8f, 0);
    CocoResults coco({"person"});
    coco.add("a.jpg", 0, g, row, {});
    coco.add("clip.avi", 12, g, {}, {});
    const auto doc = coco.to_json();
    INFO(doc.dump());
    REQUIRE(doc["images"].size() == 2);
    CHECK(doc["images"][0]["id"] == 1);
    CHECK(doc["images"][0]["width"] == 640);
    CHECK_FALSE(doc["images"][0].contains("frame_number"));
    CHECK(doc["images"][1]["frame_number"] == 12);
    CHECK(doc["categories"] == nlohmann::ordered_json::parse(R"([{"id":1,"name":"person"}])"));
    REQUIRE(doc["annotations"].size() == 1);
    const auto& a = doc["annotations"][0];
    CHECK(a["image_id"] == 1);
    CHECK(a["category_id"] == 1);
    CHECK(a["bbox"][0].get<double>() == doctest::Approx(20));
    CHECK(a["bbox"][1].get<double>() == doctest::Approx(40));
    CHECK(a["bbox"][2].get<double>() == doctest::Approx(200));
    CHECK(a["bbox"][3].get<double>() == doctest::Approx(100));
    CHECK(a["score"].get<double>() == doctest::Approx(0.8));
  }

  TEST_CASE("COCO results of torchvision's label set (index 0 = __background__) use the indices as category ids") {
    InputGeometry g{100, 100, 100, 100, 0, 0};
    std::vector<float> row;
    append_detection(row, 10, 20, 30, 40, 0.9f, 1);
    CocoResults coco({"__background__", "person", "bicycle"});
    coco.add("a.jpg", 0, g, row, {});
    const auto doc = coco.to_json();
    INFO(doc.dump());
    CHECK(doc["categories"] ==
          nlohmann::ordered_json::parse(R"([{"id":1,"name":"person"},{"id":2,"name":"bicycle"}])"));
    CHECK(doc["annotations"][0]["category_id"] == 1);
  }

  TEST_CASE("class-wise non-maximum suppression keeps the best of overlapping boxes of one class") {
    std::vector<float> row;
    append_detection(row, 0, 0, 10, 10, 0.5f, 1);    // overlaps the next one by IoU 81/119 = 0.68
    append_detection(row, 1, 1, 11, 11, 0.9f, 1);    // the best of class 1
    append_detection(row, 0, 0, 10, 10, 0.8f, 2);    // another class: kept
    append_detection(row, 20, 20, 30, 30, 0.4f, 1);  // apart: kept
    append_detection(row, 4, 4, 14, 14, 0.3f, 1);    // IoU 49/151 = 0.32 with the best: kept at 0.5
    std::vector<float> strict = row;
    suppress_overlaps(row, 0.5);
    REQUIRE(row.size() == 4 * k_detection_values);
    CHECK(row[4] == doctest::Approx(0.9f));  // row order kept
    CHECK(row[k_detection_values + 5] == 2);
    CHECK(row[3 * k_detection_values + 4] == doctest::Approx(0.3f));
    suppress_overlaps(strict, 0.3);
    CHECK(strict.size() == 3 * k_detection_values);
  }
}

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "media/image.hpp"
#include "test_support.hpp"

using namespace zoo::media;
using zoo::config::Preprocess;
using zoo::config::Size;
using zoo::test::contains;
using zoo::test::read_bytes;
using zoo::test::TempDir;
using zoo::test::write_bytes;
using zoo::test::write_file;

namespace {

const std::string k_data_dir = "/usr/share/doc/opencv-doc/examples/data";
const std::string k_baboon = k_data_dir + "/baboon.jpg";        // 512x512 baseline JPEG
const std::string k_fruits = k_data_dir + "/fruits.jpg";        // 512x480 baseline JPEG
const std::string k_chicky = k_data_dir + "/chicky_512.png";    // 512x512 RGBA PNG

const std::array<float, 3> k_imagenet_mean{0.485f, 0.456f, 0.406f};
const std::array<float, 3> k_imagenet_std{0.229f, 0.224f, 0.225f};

std::string shape(const Tensor3& t) {
  return std::to_string(t.channels) + "x" + std::to_string(t.height) + "x" + std::to_string(t.width) + " (" +
         std::to_string(t.data.size()) + " values)";
}

std::string size_text(const Size& s) { return std::to_string(s.width) + "x" + std::to_string(s.height); }

float at(const Tensor3& t, int c, int y, int x) {
  return t.data[(size_t(c) * t.height + y) * t.width + x];
}

// The byte index of the SOFn marker code (the byte after 0xFF) of a JPEG, or
// 0 if there is none before the scan data. Length is at +1, precision at
// +3, height at +4 and width at +6 (big-endian).
size_t find_sof(const std::vector<uint8_t>& b) {
  size_t pos = 2;
  while (pos + 4 < b.size() && b[pos] == 0xFF) {
    const uint8_t marker = b[pos + 1];
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) return pos + 1;
    if (marker == 0xDA) return 0;
    pos += 2 + ((b[pos + 2] << 8) | b[pos + 3]);
  }
  return 0;
}

// A JPEG with an APP1 Exif segment carrying only Orientation = `orientation`,
// spliced in right after the SOI marker of `jpeg`.
std::vector<uint8_t> with_exif_orientation(const std::vector<uint8_t>& jpeg, uint16_t orientation) {
  const std::vector<uint8_t> tiff = {
      'I', 'I', 0x2A, 0x00,    // little-endian TIFF
      0x08, 0x00, 0x00, 0x00,  // first IFD at offset 8
      0x01, 0x00,              // one entry
      0x12, 0x01,              // tag 0x0112 Orientation
      0x03, 0x00,              // type 3 SHORT
      0x01, 0x00, 0x00, 0x00,  // count 1
      uint8_t(orientation & 0xFF), uint8_t(orientation >> 8), 0x00, 0x00,  // value, left-justified
      0x00, 0x00, 0x00, 0x00,  // no next IFD
  };
  std::vector<uint8_t> payload = {'E', 'x', 'i', 'f', 0x00, 0x00};
  payload.insert(payload.end(), tiff.begin(), tiff.end());
  const size_t length = payload.size() + 2;
  std::vector<uint8_t> app1 = {0xFF, 0xE1, uint8_t(length >> 8), uint8_t(length & 0xFF)};
  app1.insert(app1.end(), payload.begin(), payload.end());

  std::vector<uint8_t> out = jpeg;
  out.insert(out.begin() + 2, app1.begin(), app1.end());  // after SOI
  return out;
}

// A `width` x `height` JPEG whose left half is pure red and right half pure blue.
std::vector<uint8_t> red_blue_jpeg(int width, int height) {
  cv::Mat image(height, width, CV_8UC3, cv::Scalar(255, 0, 0));  // BGR: blue
  image(cv::Rect(0, 0, width / 2, height)).setTo(cv::Scalar(0, 0, 255));  // left half red
  std::vector<uint8_t> bytes;
  REQUIRE(cv::imencode(".jpg", image, bytes, {cv::IMWRITE_JPEG_QUALITY, 95}));
  return bytes;
}

// The largest |a - b| over two tensors of the same shape, and where it is.
struct Difference {
  float max = 0.f;
  int c = 0, y = 0, x = 0;
};

// Compares `t` with `reference` (8-bit BGR or gray, same height and width),
// normalised by hand as (v / 255 - mean) / std.
Difference compare(const Tensor3& t, const cv::Mat& reference, const Preprocess& pre) {
  Difference d;
  for (int c = 0; c < t.channels; ++c) {
    for (int y = 0; y < t.height; ++y) {
      for (int x = 0; x < t.width; ++x) {
        const int v = reference.channels() == 3 ? reference.at<cv::Vec3b>(y, x)[2 - c] : reference.at<uint8_t>(y, x);
        const float expected = (v / 255.0f - pre.mean[c]) / pre.std[c];
        const float diff = std::fabs(at(t, c, y, x) - expected);
        if (diff > d.max) d = {diff, c, y, x};
      }
    }
  }
  return d;
}

}  // namespace

TEST_SUITE("media::image") {
  TEST_CASE("headers of real JPEG and PNG files give format and size") {
    const auto baboon = read_image_header(read_bytes(k_baboon));
    CHECK(baboon.format == "jpeg");
    CHECK(baboon.width == 512);
    CHECK(baboon.height == 512);
    CHECK_FALSE(baboon.truncated);

    const auto fruits = read_image_header(read_bytes(k_fruits));
    CHECK(fruits.format == "jpeg");
    CHECK(fruits.width == 512);
    CHECK(fruits.height == 480);
    CHECK_FALSE(fruits.truncated);

    const auto chicky = read_image_header(read_bytes(k_chicky));
    CHECK(chicky.format == "png");
    CHECK(chicky.width == 512);
    CHECK(chicky.height == 512);
    CHECK_FALSE(chicky.truncated);

    const std::string text = "hello, not an image";
    const auto other = read_image_header(std::vector<uint8_t>(text.begin(), text.end()));
    CHECK(other.format == "");
    CHECK(other.width == 0);
    CHECK(read_image_header({}).format == "");
  }

  TEST_CASE("a JPEG cut short is truncated; whole, or with bytes after the EOI marker, it is not") {
    const std::vector<uint8_t> whole = read_bytes(k_baboon);
    INFO(k_baboon, " is ", whole.size(), " bytes");
    CHECK_FALSE(read_image_header(whole).truncated);

    for (size_t keep : {whole.size() / 2, whole.size() - 2, whole.size() - 1, size_t(300)}) {
      CAPTURE(keep);
      const std::vector<uint8_t> cut(whole.begin(), whole.begin() + keep);
      const auto header = read_image_header(cut);
      CHECK(header.format == "jpeg");
      CHECK(header.truncated);
    }
    // Cut in the middle of the scan data, the size is still known.
    const std::vector<uint8_t> half(whole.begin(), whole.begin() + whole.size() / 2);
    CHECK(read_image_header(half).width == 512);

    std::vector<uint8_t> trailing = whole;
    const std::vector<uint8_t> junk = {0x00, 0x01, 'j', 'u', 'n', 'k', 0xFF, 0xD8};
    trailing.insert(trailing.end(), junk.begin(), junk.end());
    CHECK_FALSE(read_image_header(trailing).truncated);
  }

  TEST_CASE("a PNG cut short is truncated") {
    const std::vector<uint8_t> whole = read_bytes(k_chicky);
    const std::vector<uint8_t> half(whole.begin(), whole.begin() + whole.size() / 2);
    const auto header = read_image_header(half);
    CHECK(header.format == "png");
    CHECK(header.width == 512);
    CHECK(header.truncated);
  }

  TEST_CASE("image_dim sets the short side and truncates the long side, as torchvision") {
    Preprocess pre;
    pre.image_dim = 256;
    CHECK(size_text(resized_size(640, 480, pre)) == "341x256");
    CHECK(size_text(resized_size(480, 640, pre)) == "256x341");
    CHECK(size_text(resized_size(512, 512, pre)) == "256x256");
    CHECK(size_text(resized_size(100, 50, pre)) == "512x256");  // upsizes too
    pre.image_dim = 225;
    // 225 * 300 / 200 = 337.5: truncated, not rounded.
    CHECK(size_text(resized_size(300, 200, pre)) == "337x225");
  }

  TEST_CASE("image_min_dim only upsizes and image_max_dim only downsizes") {
    Preprocess min_dim;
    min_dim.image_min_dim = 600;
    CHECK(size_text(resized_size(640, 480, min_dim)) == "800x600");
    CHECK(size_text(resized_size(1000, 800, min_dim)) == "1000x800");
    min_dim.image_min_dim = 480;
    CHECK(size_text(resized_size(640, 480, min_dim)) == "640x480");

    Preprocess max_dim;
    max_dim.image_max_dim = 320;
    CHECK(size_text(resized_size(640, 480, max_dim)) == "320x240");
    CHECK(size_text(resized_size(480, 640, max_dim)) == "240x320");
    CHECK(size_text(resized_size(200, 100, max_dim)) == "200x100");
    CHECK(size_text(resized_size(320, 100, max_dim)) == "320x100");

    Preprocess both;
    both.image_min_dim = 200;
    both.image_dim = 224;
    CHECK(size_text(resized_size(100, 50, both)) == "448x224");
  }

  TEST_CASE("image_min_dim and image_max_dim round the other side, as FiftyOne's MinResize and MaxResize") {
    // fiftyone.utils.torch.MinResize: alpha = max(min / h, min / w),
    // size = (round(alpha * h), round(alpha * w)); MaxResize likewise with min().
    Preprocess min_dim;
    min_dim.image_min_dim = 225;
    CHECK(size_text(resized_size(300, 200, min_dim)) == "338x225");  // round(1.125 * 300 = 337.5)

    Preprocess max_dim;
    max_dim.image_max_dim = 350;
    CHECK(size_text(resized_size(700, 299, max_dim)) == "350x150");  // round(0.5 * 299 = 149.5)
  }

  TEST_CASE("image_dim or image_size make image_min_dim and image_max_dim unused, as in FiftyOne") {
    // FiftyOne's _build_transforms: `if image_size: ... elif image_dim: ...
    // else: MinResize / MaxResize`, so only Resize(image_dim) applies here:
    // int(224 * 700 / 299) = 524. Resizing to 350x149 first would give 526.
    Preprocess pre;
    pre.image_max_dim = 350;
    pre.image_dim = 224;
    CHECK(size_text(resized_size(700, 299, pre)) == "524x224");

    Preprocess fixed;
    fixed.image_min_dim = 1000;
    fixed.image_size = Size{224, 224};
    CHECK(size_text(resized_size(700, 299, fixed)) == "224x224");
  }

  TEST_CASE("image_size resizes to exactly (width, height), and no option keeps the size") {
    Preprocess fixed;
    fixed.image_size = Size{300, 200};
    CHECK(size_text(resized_size(640, 480, fixed)) == "300x200");
    CHECK(size_text(resized_size(20, 900, fixed)) == "300x200");

    CHECK(size_text(resized_size(640, 480, Preprocess{})) == "640x480");
  }

  TEST_CASE("the JPEG reduction keeps the decoded image at least as large as the resize target") {
    Preprocess fixed;
    fixed.image_size = Size{224, 224};
    CHECK(reduction_for(1600, 1200, fixed) == 4);   // 1200 / 4 = 300 >= 224 > 150
    CHECK(reduction_for(4000, 3000, fixed) == 8);   // 3000 / 8 = 375
    CHECK(reduction_for(224, 224, fixed) == 1);
    CHECK(reduction_for(1600, 1200, Preprocess{}) == 1);

    Preprocess dim;
    dim.image_dim = 256;
    CHECK(reduction_for(512, 512, dim) == 2);
    CHECK(reduction_for(640, 480, dim) == 1);  // target 341x256: 480 / 2 = 240 is too small
    CHECK(reduction_for(0, 0, dim) == 1);
  }

  TEST_CASE("load_image resizes, crops and normalises exactly like OpenCV by hand") {
    Preprocess pre;
    pre.image_dim = 256;
    pre.center_crop = Size{224, 224};
    pre.mean = k_imagenet_mean;
    pre.std = k_imagenet_std;
    DecodeLimits full;
    full.reduced_decode = false;

    const DecodedImage image = load_image(k_baboon, pre, full);
    INFO(k_baboon, ": ", image.error, " tensor ", shape(image.input));
    REQUIRE(image.error.empty());
    CHECK(image.width == 512);
    CHECK(image.height == 512);
    CHECK(image.reduction == 1);
    REQUIRE(image.input.channels == 3);
    REQUIRE(image.input.height == 224);
    REQUIRE(image.input.width == 224);
    REQUIRE(image.input.data.size() == size_t(3 * 224 * 224));

    cv::Mat reference = cv::imread(k_baboon, cv::IMREAD_COLOR);
    REQUIRE(!reference.empty());
    cv::resize(reference, reference, cv::Size(256, 256), 0, 0, cv::INTER_AREA);
    const cv::Mat crop = reference(cv::Rect(16, 16, 224, 224));

    // One pixel by hand: tensor channel 1 (green) at row 100, column 50.
    const int green = crop.at<cv::Vec3b>(100, 50)[1];
    const float expected = (green / 255.0f - 0.456f) / 0.224f;
    CHECK(std::fabs(at(image.input, 1, 100, 50) - expected) < 1e-5f);

    const Difference d = compare(image.input, crop, pre);
    CHECK_MESSAGE(d.max < 1e-5f, "largest difference ", d.max, " at c=", d.c, " y=", d.y, " x=", d.x);
  }

  TEST_CASE("load_image shrinks by a non-integer factor with area averaging") {
    // 512 -> 200 (2.56x): bilinear would differ from area averaging here,
    // unlike an exact 2x shrink where both give the 2x2 mean.
    Preprocess pre;
    pre.image_dim = 200;
    pre.center_crop = Size{180, 180};
    pre.mean = k_imagenet_mean;
    pre.std = k_imagenet_std;
    DecodeLimits full;
    full.reduced_decode = false;

    const DecodedImage image = load_image(k_baboon, pre, full);
    INFO(k_baboon, ": ", image.error, " tensor ", shape(image.input));
    REQUIRE(image.error.empty());
    REQUIRE(image.input.channels == 3);
    REQUIRE(image.input.height == 180);
    REQUIRE(image.input.width == 180);

    cv::Mat reference = cv::imread(k_baboon, cv::IMREAD_COLOR);
    REQUIRE(!reference.empty());
    cv::resize(reference, reference, cv::Size(200, 200), 0, 0, cv::INTER_AREA);
    const Difference d = compare(image.input, reference(cv::Rect(10, 10, 180, 180)), pre);
    CHECK_MESSAGE(d.max < 1e-5f, "largest difference ", d.max, " at c=", d.c, " y=", d.y, " x=", d.x);
  }

  TEST_CASE("load_image with reduced decoding matches OpenCV's reduced decode") {
    Preprocess pre;
    pre.image_dim = 256;
    pre.center_crop = Size{224, 224};
    pre.mean = k_imagenet_mean;
    pre.std = k_imagenet_std;

    const DecodedImage image = load_image(k_baboon, pre, DecodeLimits{});
    INFO(k_baboon, ": ", image.error, " tensor ", shape(image.input));
    REQUIRE(image.error.empty());
    CHECK(image.reduction == 2);
    CHECK(image.width == 512);  // the original size, not the reduced one
    CHECK(image.height == 512);
    REQUIRE(image.input.channels == 3);
    REQUIRE(image.input.height == 224);
    REQUIRE(image.input.width == 224);

    const cv::Mat reference = cv::imread(k_baboon, cv::IMREAD_REDUCED_COLOR_2);
    REQUIRE(reference.cols == 256);
    const Difference d = compare(image.input, reference(cv::Rect(16, 16, 224, 224)), pre);
    CHECK_MESSAGE(d.max < 1e-5f, "largest difference ", d.max, " at c=", d.c, " y=", d.y, " x=", d.x);
  }

  TEST_CASE("a non-square image keeps its aspect: fruits.jpg with image_dim 240 is 3x240x256") {
    Preprocess pre;
    pre.image_dim = 240;
    const DecodedImage image = load_image(k_fruits, pre, DecodeLimits{});
    INFO(k_fruits, ": ", image.error, " tensor ", shape(image.input));
    REQUIRE(image.error.empty());
    CHECK(image.width == 512);
    CHECK(image.height == 480);
    CHECK(image.reduction == 2);
    CHECK(image.input.channels == 3);
    CHECK(image.input.height == 240);
    CHECK(image.input.width == 256);
  }

  TEST_CASE("grayscale preprocessing gives one channel") {
    Preprocess pre;
    pre.image_dim = 256;
    pre.center_crop = Size{224, 224};
    pre.channels = 1;
    pre.mean = {0.5f, 0.5f, 0.5f};
    pre.std = {0.25f, 0.25f, 0.25f};
    DecodeLimits full;
    full.reduced_decode = false;

    const DecodedImage image = load_image(k_baboon, pre, full);
    INFO(k_baboon, ": ", image.error, " tensor ", shape(image.input));
    REQUIRE(image.error.empty());
    CHECK(image.input.channels == 1);
    CHECK(image.input.height == 224);
    CHECK(image.input.width == 224);
    REQUIRE(image.input.data.size() == size_t(224 * 224));

    cv::Mat reference = cv::imread(k_baboon, cv::IMREAD_GRAYSCALE);
    cv::resize(reference, reference, cv::Size(256, 256), 0, 0, cv::INTER_AREA);
    const Difference d = compare(image.input, reference(cv::Rect(16, 16, 224, 224)), pre);
    CHECK_MESSAGE(d.max < 1e-5f, "largest difference ", d.max, " at y=", d.y, " x=", d.x);

    // An RGBA PNG read as RGB drops the alpha channel.
    const DecodedImage png = load_image(k_chicky, Preprocess{}, DecodeLimits{});
    INFO(k_chicky, ": ", png.error, " tensor ", shape(png.input));
    REQUIRE(png.error.empty());
    CHECK(png.input.channels == 3);
    CHECK(png.input.height == 512);
  }

  TEST_CASE("the centre crop rounds half to even and the tensor is RGB") {
    // A lossless 227x225 image: blue = column, green = row, red = 200.
    TempDir dir("image-crop");
    cv::Mat image(225, 227, CV_8UC3);
    for (int y = 0; y < image.rows; ++y) {
      for (int x = 0; x < image.cols; ++x) image.at<cv::Vec3b>(y, x) = cv::Vec3b(uint8_t(x), uint8_t(y), 200);
    }
    const std::string path = (dir / "ramp.png").string();
    REQUIRE(cv::imwrite(path, image));

    Preprocess pre;
    pre.center_crop = Size{224, 224};
    const DecodedImage decoded = load_image(path, pre, DecodeLimits{});
    INFO(path, ": ", decoded.error, " tensor ", shape(decoded.input));
    REQUIRE(decoded.error.empty());
    REQUIRE(decoded.input.height == 224);
    REQUIRE(decoded.input.width == 224);
    // left = round(3 / 2) = 2, top = round(1 / 2) = 0 (half to even).
    CHECK(at(decoded.input, 0, 0, 0) == doctest::Approx(200 / 255.0f));
    CHECK(at(decoded.input, 1, 0, 0) == doctest::Approx(0 / 255.0f));
    CHECK(at(decoded.input, 2, 0, 0) == doctest::Approx(2 / 255.0f));
    CHECK(at(decoded.input, 1, 223, 223) == doctest::Approx(223 / 255.0f));
    CHECK(at(decoded.input, 2, 223, 223) == doctest::Approx(225 / 255.0f));
  }

  TEST_CASE("a centre crop larger than the image pads with black before normalising") {
    TempDir dir("image-pad");
    cv::Mat image(32, 64, CV_8UC3, cv::Scalar(255, 255, 255));
    const std::string path = (dir / "white.png").string();
    REQUIRE(cv::imwrite(path, image));

    Preprocess pre;
    pre.center_crop = Size{64, 64};
    pre.mean = {0.5f, 0.5f, 0.5f};
    pre.std = {0.5f, 0.5f, 0.5f};
    const DecodedImage decoded = load_image(path, pre, DecodeLimits{});
    INFO(path, ": ", decoded.error, " tensor ", shape(decoded.input));
    REQUIRE(decoded.error.empty());
    REQUIRE(decoded.input.height == 64);
    REQUIRE(decoded.input.width == 64);
    CHECK(at(decoded.input, 0, 0, 10) == doctest::Approx(-1.0f));   // padding: (0 - 0.5) / 0.5
    CHECK(at(decoded.input, 0, 15, 10) == doctest::Approx(-1.0f));
    CHECK(at(decoded.input, 0, 16, 10) == doctest::Approx(1.0f));   // image: (1 - 0.5) / 0.5
    CHECK(at(decoded.input, 2, 47, 63) == doctest::Approx(1.0f));
    CHECK(at(decoded.input, 2, 48, 63) == doctest::Approx(-1.0f));
  }

  TEST_CASE("bad files give an error and no image") {
    TempDir dir("image-errors");
    const std::vector<uint8_t> baboon = read_bytes(k_baboon);

    std::filesystem::create_directories(dir / "folder.jpg");
    write_file(dir / "empty.jpg", "");
    write_file(dir / "text.jpg", "hello, this is not an image\n");
    write_bytes(dir / "half.jpg", std::vector<uint8_t>(baboon.begin(), baboon.begin() + baboon.size() / 2));
    write_bytes(dir / "corrupt.jpg", {0xFF, 0xD8, 0xFF, 0xD9});
    std::vector<uint8_t> huge = baboon;
    const size_t sof = find_sof(huge);
    REQUIRE(sof > 0);
    huge[sof + 4] = 60000 >> 8;  // height
    huge[sof + 5] = 60000 & 0xFF;
    huge[sof + 6] = 60000 >> 8;  // width
    huge[sof + 7] = 60000 & 0xFF;
    write_bytes(dir / "huge.jpg", huge);
    const auto huge_header = read_image_header(huge);
    CHECK(huge_header.width == 60000);
    CHECK(huge_header.height == 60000);

    struct Case {
      std::string name;
      std::string expected;  // a part of the error message
    };
    const std::vector<Case> cases = {
        {"missing.jpg", "no such file"},
        {"folder.jpg", "is a directory"},
        {"empty.jpg", "empty file"},
        {"text.jpg", "not a supported image format"},
        {"half.jpg", "truncated JPEG"},
        {"corrupt.jpg", "corrupt jpeg"},
        {"huge.jpg", "too large"},
    };
    Preprocess pre;
    pre.image_dim = 256;
    for (const auto& c : cases) {
      const std::string path = (dir / c.name).string();
      const DecodedImage image = load_image(path, pre, DecodeLimits{});
      INFO(path, ": error \"", image.error, "\", tensor ", shape(image.input));
      CHECK_MESSAGE(contains(image.error, c.expected), "expected \"", c.expected, "\"");
      CHECK(image.width == 0);
      CHECK(image.input.data.empty());
    }
  }

  TEST_CASE("max_pixels refuses larger images and accepts one exactly at the limit") {
    DecodeLimits limits;
    limits.max_pixels = 512 * 512 - 1;
    const DecodedImage refused = load_image(k_baboon, Preprocess{}, limits);
    CHECK_MESSAGE(contains(refused.error, "too large"), refused.error);

    limits.max_pixels = 512 * 512;
    const DecodedImage accepted = load_image(k_baboon, Preprocess{}, limits);
    CHECK_MESSAGE(accepted.error.empty(), accepted.error);
    CHECK(accepted.width == 512);
  }

  TEST_CASE("a PNG with bytes after the IEND chunk is not truncated and loads") {
    // Decoders (libpng, PIL) stop at IEND; some tools append data after it.
    TempDir dir("image-png-trailing");
    std::vector<uint8_t> bytes = read_bytes(k_chicky);
    bytes.insert(bytes.end(), 100, uint8_t(0));
    CHECK_FALSE(read_image_header(bytes).truncated);
    const std::string path = (dir / "trailing.png").string();
    write_bytes(path, bytes);
    const DecodedImage image = load_image(path, Preprocess{}, DecodeLimits{});
    INFO(path, ": ", image.error);
    CHECK(image.error.empty());
    CHECK(image.width == 512);
  }

  TEST_CASE("a JPEG with bytes after the EOI marker loads") {
    TempDir dir("image-trailing");
    std::vector<uint8_t> bytes = read_bytes(k_baboon);
    const std::string junk = "trailing junk";
    bytes.insert(bytes.end(), junk.begin(), junk.end());
    const std::string path = (dir / "trailing.jpg").string();
    write_bytes(path, bytes);
    const DecodedImage image = load_image(path, Preprocess{}, DecodeLimits{});
    INFO(path, ": ", image.error);
    CHECK(image.error.empty());
    CHECK(image.width == 512);
    CHECK(image.height == 512);
  }

  TEST_CASE("EXIF orientation 6 (rotate 90 clockwise) is applied: a 64x32 JPEG loads as 32x64") {
    TempDir dir("image-exif");
    const std::vector<uint8_t> plain = red_blue_jpeg(64, 32);
    const std::vector<uint8_t> rotated = with_exif_orientation(plain, 6);
    // The EXIF segment does not disturb the header parser.
    const auto header = read_image_header(rotated);
    CHECK(header.width == 64);
    CHECK(header.height == 32);
    CHECK_FALSE(header.truncated);

    const std::string path = (dir / "exif6.jpg").string();
    write_bytes(path, rotated);
    const DecodedImage image = load_image(path, Preprocess{}, DecodeLimits{});
    INFO(path, ": ", image.error, " tensor ", shape(image.input));
    REQUIRE(image.error.empty());
    CHECK(image.width == 32);
    CHECK(image.height == 64);
    REQUIRE(image.input.height == 64);
    REQUIRE(image.input.width == 32);
    // Turned clockwise, the red left half becomes the top half.
    CHECK(at(image.input, 0, 16, 16) > 0.9f);  // red at the top
    CHECK(at(image.input, 2, 16, 16) < 0.1f);
    CHECK(at(image.input, 0, 48, 16) < 0.1f);  // blue at the bottom
    CHECK(at(image.input, 2, 48, 16) > 0.9f);

    // Without the EXIF segment the same JPEG stays 64x32.
    const std::string plain_path = (dir / "plain.jpg").string();
    write_bytes(plain_path, plain);
    const DecodedImage upright = load_image(plain_path, Preprocess{}, DecodeLimits{});
    CHECK(upright.width == 64);
    CHECK(upright.height == 32);
  }

  TEST_CASE("EXIF orientation is applied with reduced decoding and the original size is reported rotated") {
    TempDir dir("image-exif-reduced");
    const std::string path = (dir / "exif6-640x320.jpg").string();
    write_bytes(path, with_exif_orientation(red_blue_jpeg(640, 320), 6));

    Preprocess pre;
    pre.image_dim = 40;  // 640x320 -> 80x40 before rotation: a reduced decode is enough
    const int expected_reduction = reduction_for(640, 320, pre);
    REQUIRE(expected_reduction > 1);
    const DecodedImage image = load_image(path, pre, DecodeLimits{});
    INFO(path, ": ", image.error, " tensor ", shape(image.input));
    REQUIRE(image.error.empty());
    CHECK(image.reduction == expected_reduction);
    CHECK(image.width == 320);
    CHECK(image.height == 640);
    CHECK(image.input.width == 40);
    CHECK(image.input.height == 80);
    if (image.input.height == 80 && image.input.width == 40) {
      CHECK(at(image.input, 0, 20, 20) > 0.9f);  // red at the top
      CHECK(at(image.input, 2, 60, 20) > 0.9f);  // blue at the bottom
    }
  }
}

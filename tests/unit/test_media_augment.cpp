#include <doctest/doctest.h>

#include <cmath>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "config/model_config.hpp"
#include "media/image.hpp"
#include "test_support.hpp"

using namespace zoo;
using zoo::test::TempDir;

namespace {

const std::string k_photo = "/usr/share/doc/opencv-doc/examples/data/fruits.jpg";

config::Augment every_augmentation() {
  config::Augment a;
  a.random_resized_crop = true;
  a.crop_scale = {0.5, 1.0};
  a.hflip = true;
  a.rotate = 15;
  a.elastic_alpha = 10;
  a.brightness = a.contrast = a.saturation = 0.3;
  return a;
}

double max_diff(const media::Tensor3& a, const media::Tensor3& b) {
  REQUIRE(a.data.size() == b.data.size());
  double worst = 0;
  for (size_t i = 0; i < a.data.size(); ++i) worst = std::max(worst, double(std::abs(a.data[i] - b.data[i])));
  return worst;
}

// Writes `img` as a PNG at `path`; returns the path.
std::string write_png(const std::filesystem::path& path, const cv::Mat& img) {
  REQUIRE(cv::imwrite(path.string(), img));
  return path.string();
}

// The image moments of a 1-channel tensor.
cv::Moments moments_of(const media::Tensor3& t) {
  const cv::Mat m(t.height, t.width, CV_32F, const_cast<float*>(t.data.data()));
  return cv::moments(m);
}

}  // namespace

TEST_SUITE("media::augment") {
  TEST_CASE("the same seed gives the same augmented image, another seed another one") {
    config::Preprocess pre;
    pre.center_crop = config::Size{96, 64};
    const auto augment = every_augmentation();
    const auto a = media::load_image(k_photo, pre, {}, &augment, 42);
    const auto b = media::load_image(k_photo, pre, {}, &augment, 42);
    const auto c = media::load_image(k_photo, pre, {}, &augment, 43);
    REQUIRE_MESSAGE(a.error.empty(), a.error);
    CHECK(a.input.width == 96);  // random_resized_crop outputs the model's input size
    CHECK(a.input.height == 64);
    CHECK(a.input.channels == 3);
    CHECK(max_diff(a.input, b.input) == 0.0);
    CHECK(max_diff(a.input, c.input) > 0.1);
    // The original size is still the file's.
    CHECK(a.width == 512);
    CHECK(a.height == 480);
  }

  TEST_CASE("without augmentation the seed does not matter") {
    config::Preprocess pre;
    pre.image_size = config::Size{64, 64};
    const auto a = media::load_image(k_photo, pre, {}, nullptr, 1);
    const auto b = media::load_image(k_photo, pre, {}, nullptr, 2);
    CHECK(max_diff(a.input, b.input) == 0.0);
  }

  TEST_CASE("hflip alone mirrors the image or leaves it, by seed") {
    config::Preprocess pre;
    pre.image_size = config::Size{32, 24};
    config::Augment flip;
    flip.hflip = true;
    const auto plain = media::load_image(k_photo, pre, {}, nullptr, 0);
    int mirrored = 0, same = 0;
    for (uint64_t seed = 0; seed < 20; ++seed) {
      const auto out = media::load_image(k_photo, pre, {}, &flip, seed);
      if (max_diff(out.input, plain.input) == 0.0) {
        ++same;
        continue;
      }
      // Mirrored: pixel (x, y) equals the plain image's (w-1-x, y).
      double worst = 0;
      const int w = out.input.width, h = out.input.height;
      for (int c = 0; c < 3; ++c)
        for (int y = 0; y < h; ++y)
          for (int x = 0; x < w; ++x)
            worst = std::max(worst, double(std::abs(out.input.data[(c * h + y) * w + x] -
                                                     plain.input.data[(c * h + y) * w + (w - 1 - x)])));
      CHECK(worst == 0.0);
      ++mirrored;
    }
    CHECK(mirrored > 3);
    CHECK(same > 3);
  }

  TEST_CASE("deskew removes the slant of a sheared stroke") {
    TempDir dir("deskew");
    // A slanted bar: x = 10 + 0.4 * (y - 10).
    cv::Mat img(20, 20, CV_8UC1, cv::Scalar(0));
    for (int y = 3; y < 17; ++y) {
      const int x = static_cast<int>(std::lround(10 + 0.4 * (y - 10)));
      img(cv::Rect(x - 1, y, 3, 1)).setTo(255);
    }
    const std::string path = write_png(dir / "bar.png", img);
    config::Preprocess pre;
    pre.channels = 1;
    auto slant = [](const media::Tensor3& t) {
      const cv::Moments mo = moments_of(t);
      return mo.mu11 / mo.mu02;
    };
    const auto before = media::load_image(path, pre, {});
    pre.deskew = true;
    const auto after = media::load_image(path, pre, {});
    REQUIRE(after.error.empty());
    CAPTURE(slant(before.input));
    CAPTURE(slant(after.input));
    CHECK(std::abs(slant(before.input)) > 0.3);
    CHECK(std::abs(slant(after.input)) < 0.05);
  }

  TEST_CASE("random_affine shifts, scales and shears within its ranges") {
    TempDir dir("affine");
    // A 6x14 bright bar at the centre of a 40x40 black image.
    cv::Mat img(40, 40, CV_8UC1, cv::Scalar(0));
    img(cv::Rect(17, 13, 6, 14)).setTo(255);
    const std::string path = write_png(dir / "bar.png", img);
    config::Preprocess pre;
    pre.channels = 1;
    const cv::Moments plain = moments_of(media::load_image(path, pre, {}).input);
    const double x0 = plain.m10 / plain.m00, y0 = plain.m01 / plain.m00;

    config::Augment shift;
    shift.random_affine = true;
    shift.affine_translate = {0.25, 0.0};
    double largest = 0;
    for (uint64_t seed = 0; seed < 20; ++seed) {
      const cv::Moments m = moments_of(media::load_image(path, pre, {}, &shift, seed).input);
      const double dx = m.m10 / m.m00 - x0, dy = m.m01 / m.m00 - y0;
      CAPTURE(dx);
      CHECK(std::abs(dx) <= 10.01);  // 0.25 of the width
      CHECK(std::abs(dy) < 0.01);
      largest = std::max(largest, std::abs(dx));
    }
    CHECK(largest > 3);

    config::Augment shrink;
    shrink.random_affine = true;
    shrink.affine_scale = {0.5, 0.5};
    const cv::Moments half = moments_of(media::load_image(path, pre, {}, &shrink, 1).input);
    CHECK(half.m00 / plain.m00 == doctest::Approx(0.25).epsilon(0.1));
    CHECK(std::abs(half.m10 / half.m00 - x0) < 0.3);

    config::Augment shear;
    shear.random_affine = true;
    shear.affine_shear = 30;
    double steepest = 0;
    for (uint64_t seed = 0; seed < 20; ++seed) {
      const cv::Moments m = moments_of(media::load_image(path, pre, {}, &shear, seed).input);
      const double slant = std::abs(m.mu11 / m.mu02);  // x shift per row: tan(shear)
      CHECK(slant <= std::tan(30 * CV_PI / 180) + 0.02);
      steepest = std::max(steepest, slant);
    }
    CHECK(steepest > 0.2);
  }
}

TEST_SUITE("config::Augment") {
  TEST_CASE("augment keys are read, and unknown ones are errors with a suggestion") {
    const auto config = config::parse_model_config(
        "entrypoint: small_cnn\n"
        "deskew: true\n"
        "augment:\n"
        "  random_resized_crop: {scale: [0.8, 1.0], ratio: [0.9, 1.1]}\n"
        "  hflip: true\n"
        "  rotate: 12.5\n"
        "  elastic: {alpha: 20, sigma: 3}\n"
        "  random_affine: {degrees: 10, translate: [0.1, 0.2], scale: [0.9, 1.1], shear: 5}\n"
        "  color_jitter: {brightness: 0.1, contrast: 0.2, saturation: 0.3}\n",
        "m.yaml", ".");
    const auto& a = config.augment;
    CHECK(config.preprocess.deskew);
    CHECK(a.random_resized_crop);
    CHECK(a.crop_scale[0] == doctest::Approx(0.8));
    CHECK(a.crop_ratio[1] == doctest::Approx(1.1));
    CHECK(a.hflip);
    CHECK(a.rotate == doctest::Approx(12.5));
    CHECK(a.elastic_alpha == doctest::Approx(20));
    CHECK(a.elastic_sigma == doctest::Approx(3));
    CHECK(a.saturation == doctest::Approx(0.3));
    CHECK(a.random_affine);
    CHECK(a.affine_degrees == doctest::Approx(10));
    CHECK(a.affine_translate[1] == doctest::Approx(0.2));
    CHECK(a.affine_scale[0] == doctest::Approx(0.9));
    CHECK(a.affine_shear == doctest::Approx(5));
    CHECK(a.any());
    CHECK_FALSE(config::Augment{}.any());

    try {
      config::parse_model_config("entrypoint: r\naugment:\n  rotat: 3\n", "m.yaml", ".");
      FAIL("no error for augment.rotat");
    } catch (const Error& e) {
      CHECK(std::string(e.what()) == "m.yaml:3:3: unknown key \"augment.rotat\"; did you mean \"rotate\"?");
    }
    try {
      config::parse_model_config("entrypoint: r\naugment:\n  random_resized_crop: {scale: [0.9, 0.5]}\n", "m.yaml",
                                 ".");
      FAIL("no error for an inverted range");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("augment.random_resized_crop.scale") != std::string::npos);
    }
    try {
      config::parse_model_config("entrypoint: r\naugment:\n  random_affine: {degree: 3}\n", "m.yaml", ".");
      FAIL("no error for random_affine.degree");
    } catch (const Error& e) {
      CHECK(std::string(e.what()) ==
            "m.yaml:3:19: unknown key \"augment.random_affine.degree\"; did you mean \"degrees\"?");
    }
    try {
      config::parse_model_config("entrypoint: r\naugment:\n  random_affine: {translate: [0.1, 2]}\n", "m.yaml", ".");
      FAIL("no error for a translation over 1");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("augment.random_affine.translate") != std::string::npos);
    }
  }

  TEST_CASE("to_yaml writes a config that reads back equal") {
    TempDir dir("to-yaml");
    zoo::test::write_file(dir / "labels.txt", "a\nb\n");
    zoo::test::write_file(dir / "w.pt", "x");
    const std::string text =
        "name: m\nentrypoint: small_cnn\nentrypoint_args: {num_classes: 2, dropout: 0.5}\nweights: w.pt\n"
        "labels_path: labels.txt\nimage_size: [28, 32]\ncenter_crop: 24\nimage_mean: [0.485, 0.456, 0.406]\n"
        "image_std: [0.229, 0.224, 0.225]\nimage_channels: 1\ndeskew: true\n";
    const auto config = config::parse_model_config(text, "m.yaml", dir.path().string());
    const std::string yaml = config::to_yaml(config, dir.path().string());
    INFO(yaml);
    CHECK(yaml.find("weights: w.pt") != std::string::npos);
    // One value per channel: a grayscale model uses the first.
    CHECK(yaml.find("image_mean: [0.485]\n") != std::string::npos);
    const auto back = config::parse_model_config(yaml, "back.yaml", dir.path().string());
    CHECK(back.entrypoint == config.entrypoint);
    CHECK(back.entrypoint_args == config.entrypoint_args);
    CHECK(back.weights == config.weights);
    CHECK(back.classes == config.classes);
    CHECK(back.preprocess.image_size == config.preprocess.image_size);
    CHECK(back.preprocess.center_crop == config.preprocess.center_crop);
    CHECK(back.preprocess.mean[0] == config.preprocess.mean[0]);
    CHECK(back.preprocess.std[0] == config.preprocess.std[0]);
    CHECK(back.preprocess.channels == 1);
    CHECK(back.preprocess.deskew);
  }
}

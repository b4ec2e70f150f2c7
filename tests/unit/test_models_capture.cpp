#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "config/model_config.hpp"
#include "models/model.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

using zoo::ErrorKind;
using zoo::models::LoadOptions;
using zoo::models::Model;
using zoo::models::OutputLayer;
using zoo::test::catch_error;

namespace {

// The built-in small CNN (1x28x28 in, random weights): features (a
// Sequential of 14: conv, bn, relu, ..., pool), adaptive pool to 3x3,
// classifier (dropout, linear 576->128, relu, dropout, linear 128->10).
zoo::config::ModelConfig small_cnn() {
  return zoo::config::parse_model_config("entrypoint: small_cnn\nimage_size: 28\nimage_channels: 1\n", "cnn.yaml", ".");
}

std::vector<float> noise(size_t n) {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<float> values(n);
  for (auto& v : values) v = dist(rng);
  return values;
}

zoo::models::Output run(const std::string& layer, bool optimize, const std::vector<float>& input) {
  auto model = Model::load(small_cnn(), LoadOptions{optimize, zoo::models::Precision::fp32}, OutputLayer{layer, "--layer"});
  return model->forward(input.data(), 3, 1, 28, 28);
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, double(std::fabs(a[i] - b[i])));
  return worst;
}

}  // namespace

TEST_SUITE("models::capture") {
  TEST_CASE("a layer's output or input replaces the model's output, optimised or not") {
    const auto input = noise(3 * 28 * 28);
    for (bool optimize : {false, true}) {
      INFO("optimize: ", optimize);
      const auto full = run("", optimize, input);
      REQUIRE(full.shape == std::vector<int64_t>{3, 10});

      // The last layer's output is the model's output.
      const auto last = run("classifier.4", optimize, input);
      CHECK(last.shape == std::vector<int64_t>{3, 10});
      CHECK(max_diff(last.values, full.values) < 1e-5);

      // The input of classifier.1 is the output of classifier.0 (dropout, an
      // identity in eval): the pooled, flattened features.
      const auto before_linear = run("<classifier.1", optimize, input);
      CHECK(before_linear.shape == std::vector<int64_t>{3, 576});
      const auto dropout_out = run("classifier.0", optimize, input);
      CHECK(max_diff(before_linear.values, dropout_out.values) < 1e-6);

      // Nested layers keep their spatial shape.
      const auto features = run("features.13", optimize, input);
      CHECK(features.shape == std::vector<int64_t>{3, 64, 7, 7});
      const auto block = run("features", optimize, input);
      CHECK(max_diff(block.values, features.values) < 1e-6);
      const auto first_conv = run("features.0", optimize, input);
      CHECK(first_conv.shape == std::vector<int64_t>{3, 32, 28, 28});
    }
  }

  TEST_CASE("an unknown layer is a config error naming its source and listing the layers") {
    const auto caught = catch_error([] {
      Model::load(small_cnn(), LoadOptions{}, OutputLayer{"<clasifier.1", "cnn.yaml: embeddings_layer"});
    });
    REQUIRE_MESSAGE(caught.thrown, caught.foreign);
    CHECK(caught.kind == ErrorKind::config);
    CHECK_MESSAGE(caught.message.rfind("cnn.yaml: embeddings_layer: unknown layer \"clasifier.1\"; did you mean "
                                       "\"classifier.1\"",
                                       0) == 0,
                  caught.message);
    CHECK_MESSAGE(caught.message.find("The model's layers: features, features.0, features.1,") != std::string::npos,
                  caught.message);
    CHECK(caught.message.find("classifier.4") != std::string::npos);

    const auto empty = catch_error([] { Model::load(small_cnn(), LoadOptions{}, OutputLayer{"<", "--layer"}); });
    REQUIRE_MESSAGE(empty.thrown, empty.foreign);
    CHECK(empty.kind == ErrorKind::config);
    CHECK_MESSAGE(empty.message.find("--layer: empty layer name") == 0, empty.message);
  }

  TEST_CASE("layers() lists every submodule with its class, parameters and shapes for a dry input") {
    auto model = Model::load(small_cnn(), LoadOptions{false, zoo::models::Precision::fp32});
    CHECK(model->input_name() == "x");
    const auto layers = model->layers(1, 28, 28);
    REQUIRE(layers.size() == 3 + 14 + 5);  // features, avgpool, classifier and their children
    CHECK(layers[0].name == "features");
    CHECK(layers[0].kind == "Sequential");
    CHECK(layers[0].output_shape == std::vector<int64_t>{1, 64, 7, 7});
    CHECK(layers[15].name == "avgpool");
    CHECK(layers[15].kind == "AdaptiveAvgPool2d");
    CHECK(layers[15].output_shape == std::vector<int64_t>{1, 64, 3, 3});
    CHECK(layers[1].name == "features.0");
    CHECK(layers[1].kind == "Conv2d");
    CHECK(layers[1].parameters == 32 * 1 * 3 * 3);
    CHECK(layers[1].input_shape == std::vector<int64_t>{1, 1, 28, 28});
    CHECK(layers[1].output_shape == std::vector<int64_t>{1, 32, 28, 28});
    const auto& last = layers.back();
    CHECK(last.name == "classifier.4");
    CHECK(last.kind == "Linear");
    CHECK(last.input_shape == std::vector<int64_t>{1, 128});
    CHECK(last.output_shape == std::vector<int64_t>{1, 10});
    CHECK(last.parameters == 128 * 10 + 10);
    int64_t total = 0;
    for (const auto& layer : layers) {
      INFO("layer ", layer.name, " note ", layer.note);
      CHECK(!layer.output_shape.empty());
      if (layer.name.find('.') == std::string::npos) total += layer.parameters;
    }
    CHECK(total == model->parameter_count());
  }

  TEST_CASE("layers() of a model optimised for inference is a usage error") {
    auto model = Model::load(small_cnn(), LoadOptions{true, zoo::models::Precision::fp32});
    const auto caught = catch_error([&] { model->layers(1, 28, 28); });
    REQUIRE_MESSAGE(caught.thrown, caught.foreign);
    CHECK(caught.kind == ErrorKind::usage);
  }
}

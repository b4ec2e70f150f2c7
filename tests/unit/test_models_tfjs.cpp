#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/model_config.hpp"
#include "models/model.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

using nlohmann::json;
using zoo::ErrorKind;
using zoo::models::LoadOptions;
using zoo::models::Model;
using zoo::models::OutputLayer;
using zoo::test::catch_error;
using zoo::test::contains;
using zoo::test::TempDir;
using zoo::test::write_file;

namespace {

// A TensorFlow.js graph written by hand: nodes, and weights (float32 or
// int32 values, or float16/uint8 quantized) in one shard.
struct Graph {
  json nodes = json::array();
  json specs = json::array();
  std::string data;

  void input(const std::string& name, std::vector<int> shape) {
    json dims = json::array();
    for (int d : shape) dims.push_back({{"size", std::to_string(d)}});
    nodes.push_back({{"name", name}, {"op", "Placeholder"},
                     {"attr", {{"dtype", {{"type", "DT_FLOAT"}}}, {"shape", {{"shape", {{"dim", dims}}}}}}}});
  }
  void constant(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& values,
                const std::string& quantize = "") {
    nodes.push_back({{"name", name}, {"op", "Const"}, {"attr", json::object()}});
    json spec = {{"name", name}, {"shape", shape}, {"dtype", "float32"}};
    if (quantize == "float16") {
      spec["quantization"] = {{"dtype", "float16"}, {"original_dtype", "float32"}};
      for (float v : values) {
        // Exactly representable test values only: sign, exponent, 10 bits.
        uint32_t bits = 0;
        std::memcpy(&bits, &v, 4);
        const uint16_t h = uint16_t(((bits >> 16) & 0x8000u) | ((((bits >> 23) & 0xffu) - 127 + 15) << 10) |
                                    ((bits >> 13) & 0x3ffu));
        data.append(reinterpret_cast<const char*>(&h), 2);
      }
    } else if (quantize == "uint8") {
      spec["quantization"] = {{"dtype", "uint8"}, {"scale", 0.5}, {"min", -1.0}};
      for (float v : values) data += char(uint8_t(std::lround((v + 1.0) / 0.5)));
    } else {
      data.append(reinterpret_cast<const char*>(values.data()), values.size() * 4);
    }
    specs.push_back(spec);
  }
  void ints(const std::string& name, const std::vector<int32_t>& values) {
    nodes.push_back({{"name", name}, {"op", "Const"}, {"attr", json::object()}});
    specs.push_back({{"name", name}, {"shape", {values.size()}}, {"dtype", "int32"}});
    data.append(reinterpret_cast<const char*>(values.data()), values.size() * 4);
  }
  void op(const std::string& name, const std::string& kind, std::vector<std::string> inputs, json attr = json::object()) {
    nodes.push_back({{"name", name}, {"op", kind}, {"input", inputs}, {"attr", attr}});
  }
  std::string write(const TempDir& dir, const std::string& output) const {
    json doc = {{"format", "graph-model"},
                {"modelTopology", {{"node", nodes}}},
                {"signature", {{"inputs", {{"x", {{"name", "x"}, {"dtype", "DT_FLOAT"}}}}},
                               {"outputs", {{output, {{"name", output}, {"dtype", "DT_FLOAT"}}}}}}},
                {"weightsManifest", {{{"paths", {"w.bin"}}, {"weights", specs}}}}};
    write_file(dir / "model.json", doc.dump());
    write_file(dir / "w.bin", data);
    return (dir / "model.json").string();
  }
};

json ints_attr(std::vector<int> values) {
  json list = json::array();
  for (int v : values) list.push_back(std::to_string(v));
  return {{"list", {{"i", list}}}};
}
json string_attr(const std::string& base64) { return {{"s", base64}}; }
const std::string k_same = "U0FNRQ==";   // "SAME"
const std::string k_valid = "VkFMSUQ=";  // "VALID"

zoo::models::Output run(const std::string& model_json, const std::vector<float>& nchw, int c, int h, int w,
                        bool optimize = true) {
  const auto config = zoo::config::parse_model_config("entrypoint: tfjs\nweights: " + model_json + "\n", "m.yaml", ".");
  auto model = Model::load(config, LoadOptions{optimize, zoo::models::Precision::fp32}, OutputLayer{});
  return model->forward(nchw.data(), 1, c, h, w);
}

std::vector<float> ramp(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = float(i % 7) - 2.5f + 0.1f * float(i);
  return v;
}

}  // namespace

TEST_SUITE("models::tfjs") {
  TEST_CASE("SAME padding at stride 2 pads the bottom and right more, as TensorFlow does") {
    for (bool optimize : {false, true}) {
      TempDir dir("tfjs-same");
      Graph g;
      g.input("x", {1, 6, 6, 1});
      std::vector<float> filter(9);
      for (int i = 0; i < 9; ++i) filter[size_t(i)] = float(i + 1);
      g.constant("w", {3, 3, 1, 1}, filter);
      g.op("y", "Conv2D", {"x", "w"}, {{"strides", ints_attr({1, 2, 2, 1})}, {"padding", string_attr(k_same)}});
      const auto x = ramp(36);
      const auto out = run(g.write(dir, "y"), x, 1, 6, 6, optimize);
      REQUIRE(out.shape == std::vector<int64_t>{1, 3, 3, 1});
      // 6 -> 3 at stride 2 with a 3-tap filter: 1 pad in total, after.
      for (int i = 0; i < 3; ++i) {
        for (int j = 0; j < 3; ++j) {
          double want = 0;
          for (int a = 0; a < 3; ++a) {
            for (int b = 0; b < 3; ++b) {
              const int r = 2 * i + a, c = 2 * j + b;
              if (r < 6 && c < 6) want += double(x[size_t(r * 6 + c)]) * filter[size_t(a * 3 + b)];
            }
          }
          CHECK(out.values[size_t(i * 3 + j)] == doctest::Approx(want).epsilon(1e-5));
        }
      }
    }
  }

  TEST_CASE("depthwise filters with a multiplier, a fused bias and Relu6; MaxPool pads with -inf") {
    TempDir dir("tfjs-depthwise");
    Graph g;
    g.input("x", {1, 3, 3, 2});
    g.constant("w", {1, 1, 2, 2}, {1.f, -1.f, 2.f, 0.5f});  // [H, W, C, m]
    g.constant("b", {4}, {0.f, 0.f, 1.f, 3.f});
    g.op("d", "FusedDepthwiseConv2dNative", {"x", "w", "b"},
         {{"strides", ints_attr({1, 1, 1, 1})}, {"padding", string_attr(k_valid)},
          {"fused_ops", {{"list", {{"s", {"Qmlhc0FkZA==", "UmVsdTY="}}}}}}});  // BiasAdd, Relu6
    g.op("p", "MaxPool", {"d"},
         {{"ksize", ints_attr({1, 2, 2, 1})}, {"strides", ints_attr({1, 2, 2, 1})}, {"padding", string_attr(k_same)}});
    // NCHW input: channel 0 all -1 (so Relu6 gives 0 or the bias), channel 1 rising.
    std::vector<float> x(18);
    for (int i = 0; i < 9; ++i) {
      x[size_t(i)] = -1.f;
      x[size_t(9 + i)] = float(i);
    }
    const auto out = run(g.write(dir, "p"), x, 2, 3, 3);
    REQUIRE(out.shape == std::vector<int64_t>{1, 2, 2, 4});
    // Output channel c*m + k = relu6(x_c * w[c][k] + b). At [1][1] the window
    // holds only pixel (2, 2): channel-1 value 8.
    const float* last = out.values.data() + 3 * 4;
    CHECK(last[0] == doctest::Approx(0.f));            // relu6(-1 * 1 + 0)
    CHECK(last[1] == doctest::Approx(1.f));            // relu6(-1 * -1 + 0)
    CHECK(last[2] == doctest::Approx(6.f));            // relu6(8 * 2 + 1) clipped
    CHECK(last[3] == doctest::Approx(6.f));            // relu6(8 * 0.5 + 3) = 7 -> 6
    const float* first = out.values.data();          // window (0..1, 0..1): max of 0, 1, 3, 4 for channel 1
    CHECK(first[3] == doctest::Approx(std::min(6.f, 4 * 0.5f + 3)));
  }

  TEST_CASE("ResizeBilinear: the legacy corner-aligned mode and half-pixel centres") {
    for (bool half : {false, true}) {
      TempDir dir("tfjs-resize");
      Graph g;
      g.input("x", {1, 2, 2, 1});
      g.ints("size", {3, 3});
      g.op("r", "ResizeBilinear", {"x", "size"},
           {{"align_corners", {{"b", false}}}, {"half_pixel_centers", {{"b", half}}}});
      const std::vector<float> x = {0.f, 3.f, 6.f, 9.f};
      const auto out = run(g.write(dir, "r"), x, 1, 2, 2);
      REQUIRE(out.shape == std::vector<int64_t>{1, 3, 3, 1});
      auto sample = [&](double sy, double sx) {
        sy = std::clamp(sy, 0.0, 1.0);
        sx = std::clamp(sx, 0.0, 1.0);
        const int y0 = int(std::floor(sy)), x0 = int(std::floor(sx));
        const int y1 = std::min(y0 + 1, 1), x1 = std::min(x0 + 1, 1);
        const double fy = sy - y0, fx = sx - x0;
        auto at = [&](int y, int xx) { return double(x[size_t(y * 2 + xx)]); };
        const double top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * fx;
        const double bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * fx;
        return top + (bottom - top) * fy;
      };
      for (int i = 0; i < 3; ++i) {
        for (int j = 0; j < 3; ++j) {
          // Legacy: source = destination * 2/3; half-pixel: (d + 0.5) * 2/3 - 0.5.
          const double sy = half ? (i + 0.5) * 2 / 3 - 0.5 : i * 2.0 / 3;
          const double sx = half ? (j + 0.5) * 2 / 3 - 0.5 : j * 2.0 / 3;
          CHECK(out.values[size_t(i * 3 + j)] == doctest::Approx(sample(sy, sx)).epsilon(1e-5));
        }
      }
    }
  }

  TEST_CASE("float16 and uint8 quantized weights are dequantized") {
    TempDir dir("tfjs-quantized");
    Graph g;
    g.input("x", {1, 1, 1, 2});
    g.constant("h", {2}, {0.5f, -3.f}, "float16");
    g.constant("q", {2}, {1.5f, -0.5f}, "uint8");  // stored as (v + 1) / 0.5 = 5, 1
    g.op("m", "Mul", {"x", "h"});
    g.op("y", "AddV2", {"m", "q"});
    const auto out = run(g.write(dir, "y"), {2.f, 4.f}, 2, 1, 1);
    REQUIRE(out.values.size() == 2);
    CHECK(out.values[0] == doctest::Approx(2 * 0.5 + 1.5));
    CHECK(out.values[1] == doctest::Approx(4 * -3.0 - 0.5));
  }

  TEST_CASE("a graph zoo cannot run is refused naming the file, the node and the op") {
    TempDir dir("tfjs-refused");
    Graph g;
    g.input("x", {1, 2, 2, 1});
    g.op("weird", "NonMaxSuppressionV5", {"x"});
    const std::string path = g.write(dir, "weird");
    auto error = catch_error([&] { run(path, std::vector<float>(4), 1, 2, 2); });
    CHECK(error.kind == ErrorKind::model);
    CHECK(contains(error.message, "model.json: node \"weird\": NonMaxSuppressionV5 is not an op zoo supports"));

    // A shard shorter than its manifest, and longer.
    Graph w;
    w.input("x", {1, 1, 1, 2});
    w.constant("c", {2}, {1.f, 2.f});
    w.op("y", "Mul", {"x", "c"});
    const std::string model = w.write(dir, "y");
    write_file(dir / "w.bin", w.data.substr(0, 6));
    error = catch_error([&] { run(model, {1.f, 1.f}, 2, 1, 1); });
    CHECK(contains(error.message, "the weight shards end before weight \"c\" (8 bytes, 6 left): truncated"));
    write_file(dir / "w.bin", w.data + "xxxx");
    error = catch_error([&] { run(model, {1.f, 1.f}, 2, 1, 1); });
    CHECK(contains(error.message, "hold 4 bytes more than the manifest's weights"));
    std::filesystem::remove(dir / "w.bin");
    error = catch_error([&] { run(model, {1.f, 1.f}, 2, 1, 1); });
    CHECK(contains(error.message, "w.bin is missing"));

    write_file(dir / "model.json", "{ not json");
    error = catch_error([&] { run(model, {1.f, 1.f}, 2, 1, 1); });
    CHECK(error.kind == ErrorKind::model);
    CHECK(contains(error.message, "model.json: not a TensorFlow.js model.json"));
  }

  TEST_CASE("a node is a layer: forward() returns it and runs only what it needs") {
    TempDir dir("tfjs-layer");
    Graph g;
    g.input("x", {1, 1, 1, 2});
    g.constant("c", {2}, {3.f, 5.f});
    g.op("inner/mul", "Mul", {"x", "c"});
    g.op("y", "Relu", {"inner/mul"});
    const std::string path = g.write(dir, "y");
    const auto config = zoo::config::parse_model_config("entrypoint: tfjs\nweights: " + path + "\n", "m.yaml", ".");
    const std::vector<float> x = {-1.f, 2.f};
    auto model = Model::load(config, LoadOptions{}, OutputLayer{"inner/mul", "--layer"});
    const auto out = model->forward(x.data(), 1, 2, 1, 1);
    CHECK(out.values == std::vector<float>{-3.f, 10.f});
    CHECK(run(path, x, 2, 1, 1).values == std::vector<float>{0.f, 10.f});
    const auto unknown = catch_error([&] { Model::load(config, LoadOptions{}, OutputLayer{"inner/mull", "--layer"}); });
    CHECK(unknown.kind == ErrorKind::config);
    CHECK(contains(unknown.message, "--layer: no node \"inner/mull\""));
  }

  TEST_CASE("entrypoint_args.outputs joins outputs with concat along TensorFlow's axes") {
    TempDir dir("tfjs-concat");
    Graph g;
    g.input("x", {1, 1, 1, 2});
    g.constant("c", {2}, {3.f, 5.f});
    g.op("a", "Mul", {"x", "c"});
    g.op("b", "Relu", {"x"});
    const std::string path = g.write(dir, "a");
    auto load = [&](const std::string& outputs) {
      const auto config = zoo::config::parse_model_config(
          "entrypoint: tfjs\nweights: " + path + "\nentrypoint_args: {outputs: " + outputs + "}\n", "m.yaml", ".");
      return Model::load(config, LoadOptions{}, OutputLayer{});
    };
    const std::vector<float> x = {-1.f, 2.f};
    // [1, 1, 1, 2] each: joined on the channels (NHWC's last axis), then
    // the two results on the width.
    auto joined = load("[{concat: [{concat: [a, b], axis: 3}, {concat: [b, a], axis: -1}], axis: 2}]");
    const auto out = joined->forward(x.data(), 1, 2, 1, 1);
    CHECK(out.shape == std::vector<int64_t>{1, 1, 2, 4});
    CHECK(out.values == std::vector<float>{-3.f, 10.f, 0.f, 2.f, 0.f, 2.f, -3.f, 10.f});
    const auto no_axis = catch_error([&] { load("[{concat: [a, b]}]"); });
    CHECK(no_axis.kind == ErrorKind::config);
    CHECK(contains(no_axis.message, "a concat needs \"axis\""));
    const auto unknown = catch_error([&] { load("[{concat: [a, nope], axis: 1}]"); });
    CHECK(contains(unknown.message, "entrypoint_args.outputs: no node \"nope\""));
    const auto wrong = catch_error([&] { load("[{join: [a, b], axis: 1}]"); });
    CHECK(contains(wrong.message, "expected a node name or {concat: [NODE, ...], axis: N}"));
  }

  TEST_CASE("MobileNetV3's hard_swish and hard_sigmoid as the graph spells them, its 1/6 as it is") {
    TempDir dir("tfjs-hard");
    Graph g;
    g.input("x", {1, 1, 1, 4});
    g.constant("w", {1, 1, 4, 4}, {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1});  // a 1x1 identity convolution
    g.op("conv", "Conv2D", {"x", "w"}, {{"strides", ints_attr({1, 1, 1, 1})}, {"padding", string_attr(k_valid)}});
    g.constant("three", {}, {3.f});
    g.constant("sixth", {}, {0.16668701f});  // float16's 1/6
    g.op("add", "AddV2", {"conv", "three"});
    g.op("relu6", "Relu6", {"add"});
    g.op("mul", "Mul", {"sixth", "conv"});
    g.op("swish", "Mul", {"mul", "relu6"});
    g.op("sigmoid", "Mul", {"sixth", "relu6"});
    g.op("y", "Sub", {"swish", "sigmoid"});
    const std::string path = g.write(dir, "y");
    const std::vector<float> x = {-4.f, -1.5f, 0.5f, 7.f};
    const auto out = run(path, x, 4, 1, 1);
    REQUIRE(out.values.size() == 4);
    for (size_t i = 0; i < 4; ++i) {
      const double r6 = std::min(std::max(double(x[i]) + 3.0, 0.0), 6.0);
      CHECK(out.values[i] == doctest::Approx(0.16668701 * x[i] * r6 - 0.16668701 * r6).epsilon(1e-6));
    }
  }
}

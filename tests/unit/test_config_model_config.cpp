#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include "config/model_config.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

using namespace zoo::config;
using zoo::ErrorKind;
using zoo::test::catch_error;
using zoo::test::contains;
using zoo::test::TempDir;
using zoo::test::write_file;

namespace {

// Parses `yaml` as "model.yaml" with relative paths under `base_dir` and
// returns what it threw.
zoo::test::Caught parse_error(const std::string& yaml, const std::string& base_dir = "/nonexistent-zoo-base") {
  return catch_error([&] { parse_model_config(yaml, "model.yaml", base_dir); });
}

std::string normal(const std::filesystem::path& path) { return path.lexically_normal().string(); }

}  // namespace

TEST_SUITE("config::ModelConfig") {
  TEST_CASE("a config with every zoo key is read into every field") {
    TempDir dir("config-all");
    write_file(dir / "weights.pt", "not really weights");
    write_file(dir / "labels.txt", "cat\r\ndog\r\nbird\r\n\r\n");
    write_file(dir / "model.yaml",
               "name: my-resnet\n"
               "description: a small test model\n"
               "entrypoint: torchvision.models.resnet18\n"
               "entrypoint_args:\n"
               "  num_classes: 3\n"
               "  pretrained: false\n"
               "  width: 0.5\n"
               "  tag: \"7\"\n"
               "  nothing: null\n"
               "weights: weights.pt\n"
               "weights_key: state_dict\n"
               "strict: false\n"
               "output_processor: classifier\n"
               "output_processor_args:\n"
               "  store_logits: true\n"
               "confidence_thresh: 0.25\n"
               "labels_path: labels.txt\n"
               "image_dim: 256\n"
               "image_min_dim: 100\n"
               "image_max_dim: 1000\n"
               "center_crop: [224, 200]\n"
               "image_mean: [0.485, 0.456, 0.406]\n"
               "image_std: [0.229, 0.224, 0.225]\n"
               "image_channels: 1\n"
               "embeddings_layer: avgpool\n"
               "device: cpu\n"
               "use_half_precision: false\n"
               "cudnn_benchmark: true\n");
    const std::string file = (dir / "model.yaml").string();
    INFO("config: ", file);

    const ModelConfig config = load_model_config(file);
    CHECK(config.source == file);
    CHECK(config.name == "my-resnet");
    CHECK(config.entrypoint == "torchvision.models.resnet18");
    CHECK(config.entrypoint_where == file + ":3:13");
    const nlohmann::json expected_args = {
        {"num_classes", 3}, {"pretrained", false}, {"width", 0.5}, {"tag", "7"}, {"nothing", nullptr}};
    CHECK_MESSAGE(config.entrypoint_args == expected_args, config.entrypoint_args.dump());
    CHECK(config.entrypoint_args["num_classes"].is_number_integer());
    CHECK(config.entrypoint_args["tag"].is_string());
    CHECK(config.weights == normal(dir / "weights.pt"));
    CHECK(config.weights_key == "state_dict");
    CHECK(config.strict == false);
    CHECK(config.output_processor == "classifier");
    CHECK(config.store_logits == true);
    REQUIRE(config.confidence_thresh.has_value());
    CHECK(*config.confidence_thresh == doctest::Approx(0.25));
    CHECK(config.labels_path == normal(dir / "labels.txt"));
    CHECK(config.classes == std::vector<std::string>{"cat", "dog", "bird"});
    const Preprocess& pre = config.preprocess;
    CHECK_FALSE(pre.image_size.has_value());
    CHECK(pre.image_dim == 256);
    CHECK(pre.image_min_dim == 100);
    CHECK(pre.image_max_dim == 1000);
    REQUIRE(pre.center_crop.has_value());
    CHECK(*pre.center_crop == Size{200, 224});  // [height, width] in YAML
    CHECK(pre.mean[0] == doctest::Approx(0.485f));
    CHECK(pre.mean[1] == doctest::Approx(0.456f));
    CHECK(pre.mean[2] == doctest::Approx(0.406f));
    CHECK(pre.std[0] == doctest::Approx(0.229f));
    CHECK(pre.std[1] == doctest::Approx(0.224f));
    CHECK(pre.std[2] == doctest::Approx(0.225f));
    CHECK(pre.channels == 1);
    CHECK(config.embeddings_layer == "avgpool");
  }

  TEST_CASE("a minimal config gets the documented defaults") {
    const ModelConfig config = parse_model_config("entrypoint: resnet18\n", "model.yaml", ".");
    CHECK(config.source == "model.yaml");
    CHECK(config.entrypoint == "resnet18");
    CHECK(config.entrypoint_args == nlohmann::json::object());
    CHECK(config.weights.empty());
    CHECK(config.strict == true);
    CHECK(config.output_processor == "classifier");
    CHECK(config.store_logits == false);
    CHECK_FALSE(config.confidence_thresh.has_value());
    CHECK(config.classes.empty());
    CHECK(config.labels_path.empty());
    CHECK_FALSE(config.preprocess.image_size.has_value());
    CHECK(config.preprocess.image_dim == 0);
    CHECK_FALSE(config.preprocess.center_crop.has_value());
    CHECK(config.preprocess.mean == std::array<float, 3>{0.f, 0.f, 0.f});
    CHECK(config.preprocess.std == std::array<float, 3>{1.f, 1.f, 1.f});
    CHECK(config.preprocess.channels == 3);
  }

  TEST_CASE("FiftyOne's key names are read as their zoo equivalents") {
    TempDir dir("config-fiftyone");
    write_file(dir / "model.pt", "weights");
    const std::string yaml =
        "entrypoint_fcn: torchvision.models.resnet50\n"
        "entrypoint_args:\n"
        "  weights: null\n"
        "output_processor_cls: fiftyone.utils.torch.ClassifierOutputProcessor\n"
        "weights_path: model.pt\n"
        "labels_string: cat,dog,bird\n"
        "image_size: [224, 224]\n";
    const ModelConfig config = parse_model_config(yaml, "fo.yaml", dir.path().string());
    CHECK(config.entrypoint == "torchvision.models.resnet50");
    CHECK(config.entrypoint_where == "fo.yaml:1:17");
    CHECK(config.entrypoint_args == nlohmann::json{{"weights", nullptr}});
    CHECK(config.output_processor == "classifier");
    CHECK(config.weights == normal(dir / "model.pt"));
    CHECK(config.classes == std::vector<std::string>{"cat", "dog", "bird"});
    CHECK(config.labels_path.empty());

    // model_path is FiftyOne's older name for the weights.
    const ModelConfig older = parse_model_config("entrypoint: resnet18\nmodel_path: model.pt\n", "fo.yaml",
                                                 dir.path().string());
    CHECK(older.weights == normal(dir / "model.pt"));

    // The short FiftyOne class name is accepted too.
    const ModelConfig short_name = parse_model_config(
        "entrypoint: resnet18\noutput_processor_cls: ClassifierOutputProcessor\n", "fo.yaml", ".");
    CHECK(short_name.output_processor == "classifier");

    for (const char* key : {"entrypoint_fcn", "output_processor_cls", "weights_path", "labels_string", "labels_path",
                            "image_min_dim", "image_max_dim"}) {
      CAPTURE(key);
      CHECK(std::find(known_config_keys().begin(), known_config_keys().end(), key) != known_config_keys().end());
    }
  }

  TEST_CASE("a key given under both its zoo and its FiftyOne name is an error naming both places") {
    const auto caught = parse_error("entrypoint: resnet18\nentrypoint_fcn: resnet50\n");
    REQUIRE_MESSAGE(caught.thrown, caught.foreign);
    CHECK(caught.kind == ErrorKind::config);
    CHECK(caught.message ==
          "model.yaml:2:1: key \"entrypoint_fcn\" given twice (also as \"entrypoint\" at model.yaml:1:13)");
  }

  TEST_CASE("paths in a config are relative to the config file's folder") {
    TempDir dir("config-paths");
    write_file(dir / "models/a/model.yaml",
               "entrypoint: resnet18\n"
               "weights: ../shared/w.pt\n"
               "labels_path: labels/names.txt\n");
    write_file(dir / "models/shared/w.pt", "w");
    write_file(dir / "models/a/labels/names.txt", "zero\none\n");
    const std::string file = (dir / "models/a/model.yaml").string();
    INFO("config: ", file);

    const ModelConfig config = load_model_config(file);
    CHECK(config.weights == normal(dir / "models/shared/w.pt"));
    CHECK(config.labels_path == normal(dir / "models/a/labels/names.txt"));
    CHECK(config.classes == std::vector<std::string>{"zero", "one"});

    // An absolute path is taken as is.
    const std::string absolute = normal(dir / "models/shared/w.pt");
    const ModelConfig with_absolute =
        parse_model_config("entrypoint: resnet18\nweights: " + absolute + "\n", "model.yaml", "/nonexistent");
    CHECK(with_absolute.weights == absolute);
  }

  TEST_CASE("a missing weights file is an error naming the key, its place and the resolved path") {
    TempDir dir("config-missing-weights");
    const auto caught = parse_error("entrypoint: resnet18\nweights: sub/missing.pt\n", dir.path().string());
    REQUIRE_MESSAGE(caught.thrown, caught.foreign);
    CHECK(caught.kind == ErrorKind::config);
    CHECK(caught.message ==
          "model.yaml:2:10: key \"weights\": file not found: " + normal(dir / "sub/missing.pt"));

    std::filesystem::create_directories(dir / "folder.pt");
    const auto folder = parse_error("entrypoint: resnet18\nweights: folder.pt\n", dir.path().string());
    REQUIRE_MESSAGE(folder.thrown, folder.foreign);
    CHECK_MESSAGE(contains(folder.message, "is a directory"), folder.message);
  }

  TEST_CASE("a directory argument loads DIR/model.yaml") {
    TempDir dir("config-dir");
    write_file(dir / "model.yaml", "entrypoint: resnet18\nlabels_path: labels.txt\n");
    write_file(dir / "labels.txt", "a\nb\n");

    const ModelConfig config = load_model_config(dir.path().string());
    CHECK(config.source == (dir / "model.yaml").string());
    CHECK(config.entrypoint == "resnet18");
    CHECK(config.classes == std::vector<std::string>{"a", "b"});

    TempDir empty("config-empty-dir");
    const auto caught = catch_error([&] { load_model_config(empty.path().string()); });
    REQUIRE_MESSAGE(caught.thrown, caught.foreign);
    CHECK(caught.kind == ErrorKind::config);
    CHECK(caught.message == (empty / "model.yaml").string() + ": cannot read model config: no such file");
  }

  TEST_CASE("an unknown key names file:line:col and suggests the closest known key") {
    const auto caught = parse_error("entrypoint: resnet18\nimage_dim: 256\nimge_size: 224\n");
    REQUIRE_MESSAGE(caught.thrown, caught.foreign);
    CHECK(caught.kind == ErrorKind::config);
    CHECK(caught.message == "model.yaml:3:1: unknown key \"imge_size\"; did you mean \"image_size\"?");

    // From a file, the message names the file's path.
    TempDir dir("config-unknown");
    write_file(dir / "model.yaml", "entrypoint: resnet18\n\nlabels_pth: x.txt\n");
    const auto from_file = catch_error([&] { load_model_config((dir / "model.yaml").string()); });
    REQUIRE_MESSAGE(from_file.thrown, from_file.foreign);
    CHECK(from_file.message ==
          (dir / "model.yaml").string() + ":3:1: unknown key \"labels_pth\"; did you mean \"labels_path\"?");

    // Inside output_processor_args, at the nested key's position.
    const auto nested = parse_error("entrypoint: resnet18\noutput_processor_args:\n  store_logit: true\n");
    REQUIRE_MESSAGE(nested.thrown, nested.foreign);
    CHECK(nested.message ==
          "model.yaml:3:3: unknown key \"output_processor_args.store_logit\"; did you mean \"store_logits\"?");

    // Nothing close: no suggestion.
    const auto far = parse_error("entrypoint: resnet18\nzzzzzzzzzzzz: 1\n");
    REQUIRE_MESSAGE(far.thrown, far.foreign);
    CHECK(far.message == "model.yaml:2:1: unknown key \"zzzzzzzzzzzz\"");
  }

  TEST_CASE("a key that is not a plain string is a config error, not a YAML exception") {
    // Flow collections are valid YAML keys; yaml-cpp cannot convert them to a
    // string, and its exception must not leave the config module.
    const std::vector<std::string> yamls = {
        "entrypoint: resnet18\n[a, b]: 1\n",
        "entrypoint: resnet18\noutput_processor_args:\n  {x: 1}: true\n",
        "entrypoint: resnet18\nentrypoint_args:\n  [a, b]: 1\n",
    };
    for (const auto& yaml : yamls) {
      CAPTURE(yaml);
      const auto caught = parse_error(yaml);
      CHECK_MESSAGE(caught.thrown, caught.foreign);
      if (caught.thrown) {
        CHECK(caught.kind == ErrorKind::config);
        CHECK_MESSAGE(caught.message.rfind("model.yaml:", 0) == 0, caught.message);
      }
    }
  }

  TEST_CASE("FiftyOne options zoo does not implement are named as such, not as unknown") {
    const auto caught = parse_error("entrypoint: resnet18\ntransforms_fcn: my.transforms\n");
    REQUIRE_MESSAGE(caught.thrown, caught.foreign);
    CHECK(caught.kind == ErrorKind::config);
    CHECK(caught.message == "model.yaml:2:1: key \"transforms_fcn\": this FiftyOne option is not supported by zoo");
  }

  TEST_CASE("values of the wrong type are errors naming the key and the value's place") {
    struct Case {
      std::string yaml;      // after "entrypoint: resnet18\n", so the bad line is line 2
      std::string expected;  // the whole message
    };
    const std::vector<Case> cases = {
        {"image_dim: abc\n", "model.yaml:2:12: key \"image_dim\": expected a positive integer, got \"abc\""},
        {"image_dim: 2.5\n", "model.yaml:2:12: key \"image_dim\": expected a positive integer, got \"2.5\""},
        {"image_dim: 0\n", "model.yaml:2:12: key \"image_dim\": expected a positive integer, got 0"},
        {"image_dim: -3\n", "model.yaml:2:12: key \"image_dim\": expected a positive integer, got -3"},
        {"image_dim: [1, 2]\n",
         "model.yaml:2:12: key \"image_dim\": expected a positive integer, got \"a list or map\""},
        {"strict: maybe\n", "model.yaml:2:9: key \"strict\": expected true or false"},
        {"classes: cat\n", "model.yaml:2:10: key \"classes\": expected a list of strings"},
        {"classes: [cat, [dog]]\n", "model.yaml:2:16: key \"classes\": expected a string"},
        {"image_mean: [0.5, 0.5]\n",
         "model.yaml:2:13: key \"image_mean\": expected a list of 3 numbers (one per RGB channel)"},
        {"image_mean: [a, 0.5, 0.5]\n", "model.yaml:2:14: key \"image_mean\": expected a number, got \"a\""},
        {"image_std: [0.2, 0, 0.2]\n", "model.yaml:2:12: key \"image_std\": every value must be > 0"},
        {"confidence_thresh: 1.5\n",
         "model.yaml:2:20: key \"confidence_thresh\": expected a number between 0 and 1"},
        {"image_channels: 2\n", "model.yaml:2:17: key \"image_channels\": expected 1 (grayscale) or 3 (RGB)"},
        {"image_size: [224, 224, 3]\n",
         "model.yaml:2:13: key \"image_size\": expected an integer or a list [height, width]"},
        {"center_crop: {w: 1}\n",
         "model.yaml:2:14: key \"center_crop\": expected an integer or a list [height, width]"},
        {"entrypoint_args: [1, 2]\n",
         "model.yaml:2:18: key \"entrypoint_args\": expected a map of argument names to values"},
        {"output_processor: segmentor\n",
         "model.yaml:2:19: key \"output_processor\": unknown output processor \"segmentor\" "
         "(known: classifier, detector, instance_segmenter, keypoints, regression, segmenter); did you mean "
         "\"segmenter\"?"},
        {"input: lists\n",
         "model.yaml:2:8: key \"input\": expected batch (one NCHW tensor) or list (a list of CHW images), got \"lists\""},
        {"input: list\nimage_size: 224\n",
         "model.yaml:3:13: key \"image_size\": an input: list model takes the images at their own size (it resizes "
         "them itself); remove the key"},
        {"input: list\nimage_mean: [0.5, 0.5, 0.5]\n",
         "model.yaml:2:8: an input: list model takes 0-1 RGB images (it normalises them itself): remove image_mean, "
         "image_std and image_channels"},
        {"output_processor_args: {mask_thresh: 2}\n",
         "model.yaml:2:38: key \"output_processor_args.mask_thresh\": expected a number between 0 and 1"},
        {"nms_thresh: -0.1\n", "model.yaml:2:13: key \"nms_thresh\": expected a number between 0 and 1"},
        {"output_processor: keypoints\nimage_size: 256\noutput_processor_args: {anchors: {strides: [16, 32], per_cell: [2]}}\n",
         "model.yaml:4:34: key \"output_processor_args.anchors\": strides and per_cell need one count each per feature "
         "map (got 2 and 1)"},
        {"output_processor: keypoints\nimage_size: 256\noutput_processor_args: {anchors: {strides: [0]}}\n",
         "model.yaml:4:45: key \"output_processor_args.anchors.strides\": expected a positive integer, got 0"},
        {"output_processor: keypoints\noutput_processor_args: {anchors: {strides: [16], per_cell: [2]}}\n",
         "model.yaml: output_processor_args.anchors is for a detector or keypoints model whose input size the config "
         "fixes (image_size): the anchors tile that input"},
        {"output_processor_args:\n  store_logits: 3\n",
         "model.yaml:3:17: key \"output_processor_args.store_logits\": expected true or false"},
        {"device: cuda\n", "model.yaml:2:9: key \"device\": device \"cuda\" is not available: zoo runs on cpu"},
        {"use_half_precision: true\n",
         "model.yaml:2:21: key \"use_half_precision\": half precision is not supported on cpu"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.yaml);
      const auto caught = parse_error("entrypoint: resnet18\n" + c.yaml);
      REQUIRE_MESSAGE(caught.thrown, caught.foreign);
      CHECK(caught.kind == ErrorKind::config);
      CHECK(caught.message == c.expected);
    }

    // The entrypoint itself must be a string.
    const auto entrypoint = parse_error("entrypoint: [resnet18]\n");
    REQUIRE_MESSAGE(entrypoint.thrown, entrypoint.foreign);
    CHECK(entrypoint.message == "model.yaml:1:13: key \"entrypoint\": expected a string");
  }

  TEST_CASE("image_size and center_crop take an int N (N x N) or a list [height, width], as torchvision") {
    const ModelConfig square = parse_model_config("entrypoint: r\nimage_size: 224\ncenter_crop: 200\n", "m.yaml", ".");
    REQUIRE(square.preprocess.image_size.has_value());
    CHECK(*square.preprocess.image_size == Size{224, 224});
    REQUIRE(square.preprocess.center_crop.has_value());
    CHECK(*square.preprocess.center_crop == Size{200, 200});

    const ModelConfig wide =
        parse_model_config("entrypoint: r\nimage_size: [320, 240]\ncenter_crop: [300, 200]\n", "m.yaml", ".");
    REQUIRE(wide.preprocess.image_size.has_value());
    CHECK(wide.preprocess.image_size->width == 240);
    CHECK(wide.preprocess.image_size->height == 320);
    REQUIRE(wide.preprocess.center_crop.has_value());
    CHECK(wide.preprocess.center_crop->width == 200);
    CHECK(wide.preprocess.center_crop->height == 300);

    // A single mean or std value applies to every channel.
    const ModelConfig one_value = parse_model_config("entrypoint: r\nimage_mean: [0.5]\n", "m.yaml", ".");
    CHECK(one_value.preprocess.mean == std::array<float, 3>{0.5f, 0.5f, 0.5f});
  }

  TEST_CASE("image_size and image_dim together are an error") {
    const auto caught = parse_error("entrypoint: r\nimage_size: 224\nimage_dim: 256\n");
    REQUIRE_MESSAGE(caught.thrown, caught.foreign);
    CHECK(caught.kind == ErrorKind::config);
    CHECK(caught.message == "model.yaml: give either \"image_size\" or \"image_dim\", not both");
  }

  TEST_CASE("giving the labels twice (labels_path, classes, labels_string) is an error at the second one") {
    TempDir dir("config-labels-conflict");
    write_file(dir / "labels.txt", "a\nb\n");
    const auto with_classes =
        parse_error("entrypoint: r\nlabels_path: labels.txt\nclasses: [a, b]\n", dir.path().string());
    REQUIRE_MESSAGE(with_classes.thrown, with_classes.foreign);
    CHECK(with_classes.kind == ErrorKind::config);
    CHECK(with_classes.message ==
          "model.yaml:3:10: key \"classes\": give the labels once, as labels_path, classes or labels_string "
          "(\"labels_path\" is at model.yaml:2:14)");

    const auto with_string =
        parse_error("entrypoint: r\nlabels_string: a,b\nlabels_path: labels.txt\n", dir.path().string());
    REQUIRE_MESSAGE(with_string.thrown, with_string.foreign);
    CHECK_MESSAGE(contains(with_string.message, "model.yaml:3:14: key \"labels_path\""), with_string.message);
  }

  TEST_CASE("a labels file drops carriage returns and trailing blank lines, and must not be empty") {
    TempDir dir("config-labels-file");
    write_file(dir / "labels.txt", "tench\r\n\r\ngoldfish\r\n\n\n");
    CHECK(read_labels_file((dir / "labels.txt").string()) == std::vector<std::string>{"tench", "", "goldfish"});

    write_file(dir / "empty.txt", "\n\n");
    const auto empty = catch_error([&] { read_labels_file((dir / "empty.txt").string()); });
    REQUIRE_MESSAGE(empty.thrown, empty.foreign);
    CHECK(empty.kind == ErrorKind::config);
    CHECK(empty.message == (dir / "empty.txt").string() + ": labels file is empty");

    const auto missing = catch_error([&] { read_labels_file((dir / "missing.txt").string()); });
    REQUIRE_MESSAGE(missing.thrown, missing.foreign);
    CHECK(missing.kind == ErrorKind::config);
    CHECK_MESSAGE(contains(missing.message, "missing.txt"), missing.message);
  }

  TEST_CASE("a config without an entrypoint is an error") {
    const auto caught = parse_error("name: no-network\nimage_dim: 256\n");
    REQUIRE_MESSAGE(caught.thrown, caught.foreign);
    CHECK(caught.kind == ErrorKind::config);
    CHECK(caught.message == "model.yaml: missing key \"entrypoint\" (e.g. entrypoint: resnet18, or torchscript)");
  }

  TEST_CASE("text that is not a YAML map is an error naming the source") {
    const auto list = parse_error("- entrypoint: resnet18\n");
    REQUIRE_MESSAGE(list.thrown, list.foreign);
    CHECK(list.kind == ErrorKind::config);
    CHECK(list.message == "model.yaml: expected a map of config keys at the top level");

    const auto invalid = parse_error("entrypoint: resnet18\nimage_size: [224, 224\n");
    REQUIRE_MESSAGE(invalid.thrown, invalid.foreign);
    CHECK(invalid.kind == ErrorKind::config);
    CHECK_MESSAGE(invalid.message.rfind("model.yaml:", 0) == 0, invalid.message);
    CHECK_MESSAGE(contains(invalid.message, "invalid YAML"), invalid.message);
  }

  TEST_CASE("anchors read and written back") {
    const ModelConfig config = parse_model_config(
        "entrypoint: tfjs\noutput_processor: keypoints\nimage_size: 256\n"
        "output_processor_args: {anchors: {strides: [16, 32], per_cell: [2, 6]}}\n", "model.yaml", ".");
    REQUIRE(config.anchors);
    CHECK(config.anchors->strides == std::vector<int>{16, 32});
    CHECK(config.anchors->per_cell == std::vector<int>{2, 6});
    const ModelConfig back = parse_model_config(to_yaml(config, "."), "again.yaml", ".");
    REQUIRE(back.anchors);
    CHECK(back.anchors->strides == config.anchors->strides);
    CHECK(back.anchors->per_cell == config.anchors->per_cell);
  }

  TEST_CASE("to_yaml writes a config that reads back equal, nested entrypoint_args and floats included") {
    TempDir dir("config-yaml");
    write_file(dir / "w.pt", "x");
    const ModelConfig config = parse_model_config(
        "name: det\n"
        "entrypoint: opencv_haar_cascade\n"
        "entrypoint_args: {cascade: \"a b.xml\", scale_factor: 1.1, step: 1.0, tiny: 1.0e-7, min_size: [30, 24],\n"
        "                  nested: {flag: true, list: [0.5, 2]}, count: 3}\n"
        "weights: w.pt\n"
        "output_processor: detector\n"
        "classes: [face, \"two words\"]\n"
        "image_size: [48, 64]\n",
        "model.yaml", dir.path().string());
    const std::string yaml = to_yaml(config, dir.path().string());
    const ModelConfig back = parse_model_config(yaml, "again.yaml", dir.path().string());
    CHECK_MESSAGE(back.entrypoint_args == config.entrypoint_args, yaml);
    CHECK(back.entrypoint_args["step"].is_number_float());
    CHECK(back.entrypoint_args["scale_factor"].get<double>() == 1.1);
    CHECK(back.entrypoint_args["min_size"] == nlohmann::json::array({30, 24}));
    CHECK(back.classes == config.classes);
    CHECK(back.weights == config.weights);
    CHECK(back.preprocess.image_size == config.preprocess.image_size);
    CHECK(back.output_processor == "detector");
    CHECK_MESSAGE(!contains(yaml, "1.1000000000000001"), yaml);
  }

  TEST_CASE("to_yaml writes one mean and std value per channel: a grayscale model's read back equal") {
    TempDir dir("config-gray");
    const ModelConfig gray = parse_model_config(
        "entrypoint: small_cnn\nimage_channels: 1\nimage_mean: [0.25]\nimage_std: [0.5]\n", "model.yaml",
        dir.path().string());
    const std::string yaml = to_yaml(gray, dir.path().string());
    CHECK_MESSAGE(contains(yaml, "image_mean: [0.25]\n"), yaml);
    CHECK_MESSAGE(contains(yaml, "image_std: [0.5]\n"), yaml);
    const ModelConfig back = parse_model_config(yaml, "again.yaml", dir.path().string());
    CHECK(back.preprocess.channels == 1);
    CHECK(back.preprocess.mean == gray.preprocess.mean);
    CHECK(back.preprocess.std == gray.preprocess.std);
    const ModelConfig rgb = parse_model_config("entrypoint: resnet18\nimage_mean: [0.485, 0.456, 0.406]\n",
                                               "model.yaml", dir.path().string());
    CHECK_MESSAGE(contains(to_yaml(rgb, dir.path().string()), "image_mean: [0.485, 0.456, 0.406]\n"),
                  to_yaml(rgb, dir.path().string()));
  }

  TEST_CASE("an input: list config with FiftyOne's instance segmenter and its thresholds reads back equal") {
    TempDir dir("config-list");
    write_file(dir / "m.pt", "x");
    const ModelConfig config = parse_model_config(
        "entrypoint: torchscript\n"
        "weights: m.pt\n"
        "input: list\n"
        "output_processor_cls: fiftyone.utils.torch.InstanceSegmenterOutputProcessor\n"
        "output_processor_args: {mask_thresh: 0.25}\n"
        "keypoint_thresh: 0.75\n",
        "model.yaml", dir.path().string());
    CHECK(config.input_list);
    CHECK(config.output_processor == "instance_segmenter");
    CHECK(config.mask_thresh == 0.25);
    CHECK(config.keypoint_thresh == 0.75);
    const std::string yaml = to_yaml(config, dir.path().string());
    const ModelConfig back = parse_model_config(yaml, "again.yaml", dir.path().string());
    CHECK_MESSAGE(back.input_list, yaml);
    CHECK(back.mask_thresh == 0.25);
    CHECK(back.keypoint_thresh == 0.75);
    CHECK(back.output_processor == "instance_segmenter");
    CHECK(!parse_model_config("entrypoint: torchscript\n", "m.yaml", dir.path().string()).input_list);
  }
}

TEST_SUITE("config::ModelConfig train:") {
  TEST_CASE("the train: section holds zoo train's options, checked as the flags check them") {
    const auto config = parse_model_config(
        "entrypoint: small_cnn\n"
        "train:\n"
        "  data: ../digits/train\n"
        "  val: /abs/test\n"
        "  val_split: 0\n"
        "  seed: 7\n"
        "  epochs: 45\n"
        "  batch_size: 32\n"
        "  lr: 0.003\n"
        "  optimizer: sgd\n"
        "  schedule: step\n"
        "  label_smoothing: 0.2\n"
        "  freeze: true\n"
        "  freeze_until: layer3\n",
        "model.yaml", "/base/configs");
    const auto& t = config.train;
    CHECK(t["data"] == "/base/digits/train");  // relative to the config's folder
    CHECK(t["val"] == "/abs/test");
    CHECK(t["val_split"] == 0.0);
    CHECK(t["seed"] == 7);
    CHECK(t["epochs"] == 45);
    CHECK(t["batch_size"] == 32);
    CHECK(t["lr"].get<double>() == doctest::Approx(0.003));
    CHECK(t["optimizer"] == "sgd");
    CHECK(t["schedule"] == "step");
    CHECK(t["freeze"] == true);
    CHECK(t["freeze_until"] == "layer3");
    CHECK_FALSE(t.contains("momentum"));  // only the keys given
    // Not part of what the model computes: the trained model's config and
    // its digest leave it out.
    CHECK(to_yaml(config, "/base").find("train") == std::string::npos);
    CHECK(parse_model_config("entrypoint: small_cnn\n", "m.yaml", "/base").train.empty());
    CHECK(model_digest(config) == model_digest(parse_model_config("entrypoint: small_cnn\n", "m.yaml", "/base")));
  }

  TEST_CASE("a bad train: key or value names its line") {
    auto error = parse_error("entrypoint: small_cnn\ntrain:\n  epoch: 3\n");
    CHECK(error.kind == ErrorKind::config);
    CHECK(contains(error.message, "model.yaml:3:3: unknown key \"train.epoch\"; did you mean \"epochs\""));
    error = parse_error("entrypoint: small_cnn\ntrain:\n  epochs: 0\n");
    CHECK(contains(error.message, "model.yaml:3:11: key \"train.epochs\": expected an integer >= 1"));
    error = parse_error("entrypoint: small_cnn\ntrain:\n  val_split: 0.95\n");
    CHECK(contains(error.message, "key \"train.val_split\": expected a number in [0, 0.9]"));
    error = parse_error("entrypoint: small_cnn\ntrain:\n  lr: 0\n");
    CHECK(contains(error.message, "key \"train.lr\": expected a number > 0"));
    error = parse_error("entrypoint: small_cnn\ntrain:\n  optimizer: adagrad\n");
    CHECK(contains(error.message, "expected one of sgd, adam, adamw, got \"adagrad\""));
    error = parse_error("entrypoint: small_cnn\ntrain:\n  lr: .nan\n");
    CHECK(contains(error.message, "expected a finite number"));
    error = parse_error("entrypoint: small_cnn\ntrain: [1, 2]\n");
    CHECK(contains(error.message, "key \"train\": expected a map"));
  }
}

#include <doctest/doctest.h>

#include <cstdlib>
#include <map>
#include <string>

#include "catalog/cache.hpp"
#include "catalog/manifest.hpp"
#include "config/model_config.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

using namespace zoo::catalog;
using zoo::ErrorKind;
using zoo::test::catch_error;
using zoo::test::contains;

namespace {

const std::map<std::string, std::string> k_labels = {{"three.txt", "a\nb\nc\n"}};

const char* k_entry = R"(models:
  - name: tiny
    task: classification
    description: a test entry
    licence: CC0-1.0
    files:
      - url: https://example.com/models/tiny-0a1b2c3d.pth
        sha256_prefix: 0a1b2c3d
      - {url: "https://example.com/extra.bin?x=1", sha256: 6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b, size: 1}
    config:
      entrypoint: resnet18
      entrypoint_args: {num_classes: 3}
      weights: tiny-0a1b2c3d.pth
      labels_path: three.txt
      image_dim: 256
      center_crop: 224
      interpolation: bicubic
)";

zoo::test::Caught parse_error(const std::string& text) {
  return catch_error([&] { parse_manifest(text, "m.yaml", "/base", k_labels); });
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_SUITE("catalog::manifest") {
  TEST_CASE("an entry is read: files named after their URLs, the config checked, built-in labels by name") {
    const auto entries = parse_manifest(k_entry, "m.yaml", "/base", k_labels);
    REQUIRE(entries.size() == 1);
    const Entry& e = entries[0];
    CHECK(e.name == "tiny");
    CHECK(e.where == "m.yaml:2");
    REQUIRE(e.files.size() == 2);
    CHECK(e.files[0].name == "tiny-0a1b2c3d.pth");
    CHECK(e.files[0].sha256_prefix == "0a1b2c3d");
    CHECK(e.files[1].name == "extra.bin");  // the query is not part of the name
    CHECK(e.files[1].size == 1);
    CHECK(e.total_size() == -1);  // one file's size is not published
    CHECK(e.weights_file == "tiny-0a1b2c3d.pth");
    CHECK(e.labels_name == "three.txt");
    CHECK(e.config.classes == std::vector<std::string>{"a", "b", "c"});
    CHECK(e.config.preprocess.bicubic);
    CHECK(e.config.weights == "/base/tiny-0a1b2c3d.pth");
    CHECK(contains(e.config_yaml, "interpolation: bicubic"));
  }

  TEST_CASE("mistakes name the manifest's line and the key") {
    auto c = parse_error(replaced(k_entry, "    licence: CC0-1.0\n", ""));
    CHECK(c.kind == ErrorKind::config);
    CHECK(contains(c.message, "m.yaml:2: entry \"tiny\" has no \"licence\""));

    c = parse_error(replaced(k_entry, "sha256_prefix: 0a1b2c3d", "sha265_prefix: 0a1b2c3d"));
    CHECK(contains(c.message, "m.yaml:8: unknown key \"files.sha265_prefix\"; did you mean \"sha256_prefix\""));

    c = parse_error(replaced(k_entry, "        sha256_prefix: 0a1b2c3d\n", ""));
    CHECK(contains(c.message, "m.yaml:7: key \"files\": give the file's sha256"));

    c = parse_error(replaced(k_entry, "weights: tiny-0a1b2c3d.pth", "weights: other.pth"));
    CHECK(contains(c.message, "m.yaml:13: key \"config.weights\": \"other.pth\" is not one of the entry's files"));

    c = parse_error(replaced(k_entry, "center_crop: 224", "center_crop: -1"));
    CHECK(contains(c.message, "m.yaml:16:20: key \"center_crop\""));

    c = parse_error(replaced(k_entry, "interpolation: bicubic", "interpolation: lanczos"));
    CHECK(contains(c.message, "expected bilinear or bicubic"));

    c = parse_error(replaced(k_entry, "task: classification", "task: clasification"));
    CHECK(contains(c.message, "m.yaml:3: key \"task\": unknown task \"clasification\""));

    c = parse_error(replaced(k_entry, "name: tiny", "name: Tiny:1"));
    CHECK(contains(c.message, "is not a model name"));

    c = parse_error(replaced(k_entry, "https://example.com/models/tiny", "ftp://example.com/models/tiny"));
    CHECK(contains(c.message, "expected an http:// or https:// URL"));
  }

  TEST_CASE("an npm entry's files are paths in the package") {
    std::string npm = replaced(k_entry, "    files:\n", "    npm: \"@scope/pkg@1.2.3\"\n    files:\n");
    auto c = parse_error(npm);
    CHECK(contains(c.message, "an npm entry's files are paths inside the package"));
    npm = replaced(npm, "url: https://example.com/models/tiny-0a1b2c3d.pth", "path: package/models/tiny-0a1b2c3d.pth");
    npm = replaced(npm, "url: \"https://example.com/extra.bin?x=1\"", "path: package/extra.bin");
    const auto entries = parse_manifest(npm, "m.yaml", "/base", k_labels);
    CHECK(entries[0].npm == "@scope/pkg@1.2.3");
    CHECK(entries[0].files[0].package_path == "package/models/tiny-0a1b2c3d.pth");
    CHECK(entries[0].files[0].name == "tiny-0a1b2c3d.pth");

    c = parse_error(replaced(npm, "@scope/pkg@1.2.3", "@scope/pkg"));
    CHECK(contains(c.message, "expected PACKAGE@VERSION"));
  }

  TEST_CASE("a name defined twice in one manifest names both places") {
    std::string twice = k_entry;
    twice += std::string(k_entry).substr(std::string("models:\n").size());
    const auto c = parse_error(twice);
    CHECK(contains(c.message, "model \"tiny\" is already defined at m.yaml:2"));
  }

  TEST_CASE("the built-in manifest parses, and every config names one of its files") {
    const auto& entries = manifest();
    CHECK(entries.size() >= 32);
    const Entry* resnet = find_entry("resnet50-imagenet-torch");
    REQUIRE(resnet);
    CHECK(resnet->files[0].url == "https://download.pytorch.org/models/resnet50-0676ba61.pth");
    CHECK(resnet->config.classes.size() == 1000);
    const Entry* centernet = find_entry("centernet-coco");
    REQUIRE(centernet);
    CHECK(centernet->config.classes.size() == 80);
    CHECK(centernet->files.size() == 2);
  }

  TEST_CASE("ZOO_MODELS_MIRROR replaces the scheme and host") {
    setenv("ZOO_MODELS_MIRROR", "http://mirror.internal:8080/", 1);
    CHECK(mirrored_url("https://download.pytorch.org/models/x.pth") == "http://mirror.internal:8080/models/x.pth");
    unsetenv("ZOO_MODELS_MIRROR");
    CHECK(mirrored_url("https://download.pytorch.org/models/x.pth") == "https://download.pytorch.org/models/x.pth");
  }
}

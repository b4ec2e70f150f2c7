#include <doctest/doctest.h>

#include <filesystem>
#include <set>
#include <thread>
#include <vector>

#include "store/oci.hpp"
#include "store/store.hpp"
#include "test_support.hpp"
#include "util/sha256.hpp"

using namespace zoo::store;
using zoo::ErrorKind;
using zoo::test::catch_error;
using zoo::test::contains;
using zoo::test::TempDir;

namespace {

Descriptor blob_of(const std::string& bytes, const std::string& media_type, const std::string& title = "") {
  Descriptor d{media_type, digest_of(bytes), static_cast<int64_t>(bytes.size()), {}};
  if (!title.empty()) d.annotations[k_title_annotation] = title;
  return d;
}

// Publishes a version of `name` whose one file holds `content`.
VersionEntry publish_text(Store& store, const std::string& name, const std::string& content) {
  const Descriptor file = blob_of(content, k_config_media_type, "model.yaml");
  store.put_blob(name, file, nullptr, &content);
  return store.publish(name, 0, [&](int version) {
    const std::string card = "{\"version\":" + std::to_string(version) + "}";
    Manifest m;
    m.config = blob_of(card, k_card_media_type);
    store.put_blob(name, m.config, nullptr, &card);
    m.layers = {file};
    return m.serialize();
  });
}

}  // namespace

TEST_SUITE("store::oci") {
  TEST_CASE("manifests serialise canonically and parse back") {
    Manifest m;
    m.config = blob_of("{}", k_card_media_type);
    m.layers = {blob_of("a", k_config_media_type, "model.yaml"), blob_of("b", k_weights_media_type, "w.pt")};
    m.annotations = {{"z", "1"}, {"a", "2"}};
    const std::string bytes = m.serialize();
    CHECK(bytes.find(' ') == std::string::npos);
    CHECK(bytes.find("\"a\":\"2\",\"z\":\"1\"") != std::string::npos);  // sorted keys
    const Manifest back = Manifest::parse(bytes, "test");
    CHECK(back.serialize() == bytes);
    CHECK(back.layers[1].title() == "w.pt");
  }

  TEST_CASE("manifests that are not zoo's, or whose titles could escape the folder, are refused") {
    Manifest m;
    m.config = blob_of("{}", k_card_media_type);
    for (const char* title : {"../x", "a/b", ".hidden", ""}) {
      m.layers = {blob_of("a", k_config_media_type, title)};
      const auto caught = catch_error([&] { Manifest::parse(m.serialize(), "m"); });
      CHECK_MESSAGE(caught.thrown, title);
      CHECK(caught.kind == ErrorKind::store);
    }
    m.layers = {blob_of("a", k_config_media_type, "x"), blob_of("b", k_config_media_type, "x")};
    CHECK(contains(catch_error([&] { Manifest::parse(m.serialize(), "m"); }).message, "two layers named x"));
    m.layers.clear();
    m.config.media_type = "application/vnd.oci.image.config.v1+json";
    CHECK(contains(catch_error([&] { Manifest::parse(m.serialize(), "m"); }).message, "not a zoo model"));
    CHECK(catch_error([] { Manifest::parse("{not json", "m"); }).thrown);
    CHECK(catch_error([] { Manifest::parse("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"sha256:12\","
                                           "\"size\":1},\"layers\":[]}", "m"); }).thrown);
  }
}

TEST_SUITE("store::LocalStore") {
  TEST_CASE("versions count up per name and resolve by number, digest or latest") {
    TempDir dir("store");
    auto store = open_local_store((dir / "s").string());
    CHECK(store->names().empty());
    const auto a1 = publish_text(*store, "a", "one");
    const auto a2 = publish_text(*store, "a", "two");
    const auto b1 = publish_text(*store, "b", "three");
    CHECK(a1.version == 1);
    CHECK(a2.version == 2);
    CHECK(b1.version == 1);
    CHECK(store->names() == std::vector<std::string>{"a", "b"});
    CHECK(store->versions("a").size() == 2);
    CHECK(std::filesystem::exists(dir / "s/oci-layout"));
    CHECK(store->resolve(parse_reference("a")).version == 2);
    CHECK(store->resolve(parse_reference("a:1")).digest == a1.digest);
    CHECK(store->resolve(parse_reference("a@" + a1.digest)).version == 1);
    const auto missing = catch_error([&] { store->resolve(parse_reference("a:3")); });
    CHECK(missing.kind == ErrorKind::store);
    CHECK(contains(missing.message, "versions 1 to 2"));
    CHECK(contains(catch_error([&] { store->resolve(parse_reference("aa")); }).message, "did you mean"));
  }

  TEST_CASE("a copy keeps its version; the same version with other content is refused") {
    TempDir dir("store");
    auto store = open_local_store((dir / "s").string());
    const auto v1 = publish_text(*store, "a", "one");
    const auto resolved = store->resolve(parse_reference("a:1"));
    CHECK(store->publish("a", 1, [&](int) { return resolved.manifest_bytes; }).digest == v1.digest);
    Manifest other = resolved.manifest;
    other.annotations["x"] = "y";
    const auto caught = catch_error([&] { store->publish("a", 1, [&](int) { return other.serialize(); }); });
    CHECK(contains(caught.message, "versions never change"));
  }

  TEST_CASE("a blob whose bytes changed is reported as corrupt and not returned") {
    TempDir dir("store");
    auto store = open_local_store((dir / "s").string());
    publish_text(*store, "a", "precious content");
    const auto resolved = store->resolve(parse_reference("a"));
    const Descriptor file = resolved.manifest.layers[0];
    zoo::test::write_file(dir / ("s/blobs/sha256/" + digest_hex(file.digest)), "precious CONTENT");
    const auto caught = catch_error([&] { store->get_blob("a", file, (dir / "out").string()); });
    CHECK(caught.kind == ErrorKind::store);
    CHECK(contains(caught.message, "is corrupt"));
    CHECK(!std::filesystem::exists(dir / "out"));
    CHECK(catch_error([&] { store->read_blob("a", file, 1000); }).thrown);
    // Saving the same content again repairs the blob.
    const std::string good = "precious content";
    store->put_blob("a", file, nullptr, &good);
    CHECK(store->read_blob("a", file, 1000) == good);
  }

  TEST_CASE("a file that changed since it was hashed is not stored") {
    TempDir dir("store");
    auto store = open_local_store((dir / "s").string());
    zoo::test::write_file(dir / "w.bin", "version A");
    const Descriptor d{k_weights_media_type, "sha256:" + zoo::util::sha256_file((dir / "w.bin").string()), 9, {}};
    zoo::test::write_file(dir / "w.bin", "version B");
    const std::string path = (dir / "w.bin").string();
    CHECK(contains(catch_error([&] { store->put_blob("a", d, &path, nullptr); }).message, "changed"));
    CHECK(!store->has_blob("a", d));
  }

  TEST_CASE("concurrent publishers each get their own version") {
    TempDir dir("store");
    const std::string root = (dir / "s").string();
    std::vector<std::thread> threads;
    std::vector<int> versions(8);
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([&, i] {
        auto store = open_local_store(root);  // each its own handle, as separate processes have
        versions[i] = publish_text(*store, "race", "content " + std::to_string(i)).version;
      });
    }
    for (auto& t : threads) t.join();
    CHECK(std::set<int>(versions.begin(), versions.end()).size() == 8);
    CHECK(open_local_store(root)->versions("race").size() == 8);
  }

  TEST_CASE("a folder that is not a store is refused rather than written into") {
    TempDir dir("store");
    zoo::test::write_file(dir / "photos/cat.jpg", "x");
    CHECK(contains(catch_error([&] { open_local_store((dir / "photos").string()); }).message, "not a model store"));
    CHECK(catch_error([&] { open_local_store((dir / "photos/cat.jpg").string()); }).thrown);
  }
}

// Manifests and descriptors as canonical JSON.
#include "store/oci.hpp"

#include <nlohmann/json.hpp>

#include "store/reference.hpp"
#include "util/error.hpp"
#include "util/sha256.hpp"

using nlohmann::json;

namespace zoo::store {
namespace {

json descriptor_json(const Descriptor& d) {
  json j = {{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  return j;
}

Descriptor parse_descriptor(const json& j, const std::string& what) {
  auto bad = [&](const std::string& why) { return Error(ErrorKind::store, "{}: {}", what, why); };
  if (!j.is_object()) throw bad("descriptor is not an object");
  Descriptor d;
  if (!j.contains("mediaType") || !j["mediaType"].is_string()) throw bad("descriptor without mediaType");
  if (!j.contains("digest") || !j["digest"].is_string()) throw bad("descriptor without digest");
  if (!j.contains("size") || !j["size"].is_number_integer()) throw bad("descriptor without size");
  d.media_type = j["mediaType"].get<std::string>();
  d.digest = j["digest"].get<std::string>();
  d.size = j["size"].get<int64_t>();
  if (!is_sha256_digest(d.digest)) throw bad("digest \"" + d.digest + "\" is not sha256:<64 hex>");
  if (d.size < 0) throw bad("negative size");
  if (j.contains("annotations")) {
    if (!j["annotations"].is_object()) throw bad("annotations is not an object");
    for (const auto& [key, value] : j["annotations"].items()) {
      if (!value.is_string()) throw bad("annotation " + key + " is not a string");
      d.annotations[key] = value.get<std::string>();
    }
  }
  return d;
}

}  // namespace

std::string Descriptor::title() const {
  const auto it = annotations.find(k_title_annotation);
  return it == annotations.end() ? "" : it->second;
}

std::string Manifest::serialize() const {
  json j = {{"schemaVersion", 2}, {"mediaType", k_manifest_media_type}, {"artifactType", k_artifact_type},
            {"config", descriptor_json(config)}};
  j["layers"] = json::array();
  for (const auto& layer : layers) j["layers"].push_back(descriptor_json(layer));
  if (!annotations.empty()) j["annotations"] = annotations;
  return j.dump();
}

Manifest Manifest::parse(const std::string& bytes, const std::string& what) {
  json j;
  try {
    j = json::parse(bytes);
  } catch (const json::exception& e) {
    throw Error(ErrorKind::store, "{}: manifest is not JSON: {}", what, e.what());
  }
  auto bad = [&](const std::string& why) { return Error(ErrorKind::store, "{}: {}", what, why); };
  if (!j.is_object() || j.value("schemaVersion", 0) != 2) throw bad("not an OCI manifest (schemaVersion 2)");
  if (j.contains("mediaType") && j["mediaType"] != k_manifest_media_type) {
    throw bad("unsupported manifest mediaType " + j["mediaType"].dump());
  }
  if (!j.contains("config")) throw bad("manifest without config");
  Manifest m;
  m.config = parse_descriptor(j["config"], what + ": config");
  if (m.config.media_type != k_card_media_type) {
    throw bad("not a zoo model: config mediaType is " + m.config.media_type + ", expected " + k_card_media_type);
  }
  if (!j.contains("layers") || !j["layers"].is_array()) throw bad("manifest without layers");
  for (const auto& layer : j["layers"]) {
    Descriptor d = parse_descriptor(layer, what + ": layer");
    if (!is_safe_file_name(d.title())) throw bad("layer " + d.digest + " has an unsafe file name \"" + d.title() + "\"");
    for (const auto& other : m.layers) {
      if (other.title() == d.title()) throw bad("two layers named " + d.title());
    }
    m.layers.push_back(std::move(d));
  }
  if (j.contains("annotations") && j["annotations"].is_object()) {
    for (const auto& [key, value] : j["annotations"].items()) {
      if (value.is_string()) m.annotations[key] = value.get<std::string>();
    }
  }
  return m;
}

std::string digest_of(const std::string& bytes) { return "sha256:" + util::sha256_hex(bytes); }

std::string digest_hex(const std::string& digest) { return digest.substr(digest.find(':') + 1); }

bool is_safe_file_name(const std::string& title) {
  if (title.empty() || title.size() > 255 || title[0] == '.') return false;
  for (unsigned char c : title) {
    if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace zoo::store

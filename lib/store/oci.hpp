// The OCI pieces a model version is made of: descriptors, the image
// manifest (config blob = the model card, layers = the files) and the media
// types zoo gives them. Serialisation is canonical (sorted keys, no
// whitespace), so the same content always gives the same digest.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace zoo::store {

inline constexpr const char* k_manifest_media_type = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* k_index_media_type = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* k_artifact_type = "application/vnd.zoo.model.v1";
inline constexpr const char* k_card_media_type = "application/vnd.zoo.model.card.v1+json";
inline constexpr const char* k_config_media_type = "application/vnd.zoo.model.config.v1+yaml";
inline constexpr const char* k_labels_media_type = "application/vnd.zoo.model.labels.v1+text";
inline constexpr const char* k_weights_media_type = "application/vnd.zoo.model.weights.v1";
inline constexpr const char* k_file_media_type = "application/vnd.zoo.model.file.v1";
inline constexpr const char* k_title_annotation = "org.opencontainers.image.title";
inline constexpr const char* k_created_annotation = "org.opencontainers.image.created";
inline constexpr const char* k_ref_name_annotation = "org.opencontainers.image.ref.name";
inline constexpr const char* k_name_annotation = "dev.zoo.model.name";
inline constexpr const char* k_version_annotation = "dev.zoo.model.version";

// A pointer to a blob: what it is, its digest and size.
struct Descriptor {
  std::string media_type;
  std::string digest;  // "sha256:<hex>"
  int64_t size = 0;
  std::map<std::string, std::string> annotations;

  // The org.opencontainers.image.title annotation ("" if none).
  std::string title() const;
};

// An image manifest holding one model version.
struct Manifest {
  Descriptor config;               // the model card
  std::vector<Descriptor> layers;  // the files, each titled with its file name
  std::map<std::string, std::string> annotations;

  // Canonical JSON bytes.
  std::string serialize() const;
  // Parses and validates manifest bytes (schema version, media types,
  // digests, sizes, titles that are plain file names). `what` names the
  // manifest in errors. Throws zoo::Error(store).
  static Manifest parse(const std::string& bytes, const std::string& what);
};

// "sha256:" + the hex SHA-256 of `bytes`.
std::string digest_of(const std::string& bytes);

// The hex part of a "sha256:<hex>" digest.
std::string digest_hex(const std::string& digest);

// True if `title` is a plain file name a layer may be written to (no
// slashes, not "." or "..", no leading dot, printable, at most 255 bytes).
bool is_safe_file_name(const std::string& title);

}  // namespace zoo::store

// The zoo's manifest: well-known models by name. Each entry says what the
// model is (task, description, licence, tags), where its files come from
// (URLs, or paths inside an npm package fetched with `npm pack`), how to
// check them (sha256, or the sha256 prefix torch.hub checks), and the
// model config that runs them. The project's own manifests are compiled
// into the binary (configs/zoo/*.yaml); a user adds entries in the same
// format through $ZOO_MANIFEST (paths separated by ':'), else
// ~/.config/zoo/models.yaml ($XDG_CONFIG_HOME honoured).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config/model_config.hpp"

namespace zoo::catalog {

// One file of an entry, stored in its cache folder under `name`.
struct SourceFile {
  std::string name;           // the file name in the cache folder
  std::string url;            // where an http(s) file comes from ("" for npm)
  std::string package_path;   // the path inside the npm package ("" for url)
  std::string sha256;         // 64 hex digits, or "" when only a prefix is published
  std::string sha256_prefix;  // the prefix of the digest a file name carries (torch.hub's check), or ""
  int64_t size = -1;          // bytes, -1 = not published
  std::string where;          // "manifest:line" of the entry in its files list
};

struct Entry {
  std::string name;
  std::string task;         // classification, detection, keypoints, embeddings, regression, ...
  std::string description;
  std::string licence;
  std::string homepage;
  std::vector<std::string> tags;
  int64_t parameters = 0;   // 0 = not given
  std::string npm;          // "PACKAGE@VERSION" when the files come from an npm package
  std::vector<SourceFile> files;
  std::string weights_file;        // the file the config's weights name
  std::string labels_name;         // a built-in labels file the config names ("" = none)
  std::string labels_file;         // a labels file on disk the config names (absolute; "" = none)
  config::ModelConfig config;      // checked; weights = the manifest folder / weights_file
  std::string config_yaml;         // the config section as YAML (labels and weights by file name)
  std::string manifest;            // the manifest it came from
  std::string where;               // "manifest:line"

  // The bytes of every file, when each is published; -1 otherwise.
  int64_t total_size() const;
};

// Reads a manifest's text. `named_labels` are labels files the configs may
// name without a path (the built-ins'). Throws zoo::Error(config) naming
// `source`:line and the key of a malformed entry.
std::vector<Entry> parse_manifest(const std::string& text, const std::string& source, const std::string& base_dir,
                                  const std::map<std::string, std::string>& named_labels);

// The built-in entries, then the user's manifests' ($ZOO_MANIFEST, else
// ~/.config/zoo/models.yaml when it exists). A name defined twice is an
// error naming both places.
const std::vector<Entry>& manifest();

// The entry called `name`, or nullptr.
const Entry* find_entry(const std::string& name);

// "; did you mean ..." for the entry names closest to `name`, or "".
std::string closest_entries(const std::string& name);

// The entry called `name` (a leading "zoo:" allowed). Throws
// zoo::Error(usage) naming the closest names when there is none.
const Entry& require_entry(const std::string& name);

// The built-in files compiled into the binary (manifests and labels), by
// file name (generated from configs/ by cmake/embed.cmake).
const std::map<std::string, std::string>& embedded_files();

// The user manifests in effect (paths), for messages.
std::vector<std::string> user_manifest_paths();

}  // namespace zoo::catalog

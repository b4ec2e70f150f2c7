// What zoo save, zoo upload, zoo load, zoo ls and MODEL-argument
// resolution do with a store (store/store.hpp, which only stores): package
// a model (config, weights, labels) with its model card as a new version,
// copy a version between stores, and unpack a version into a runnable
// folder (model.yaml, weights, labels.txt, card.json). It sits above
// inference: saving dry-runs the model (inference::inspect) for its
// contract.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/cache.hpp"
#include "store/store.hpp"

namespace zoo::packaging {

struct SaveOptions {
  std::string model;       // a config file, a folder holding model.yaml (zoo train's OUTDIR), or a reference
  std::string name;        // the name to save under ("" = the reference's name when copying; else required)
  std::string store;       // where to save ("" = the default local store)
  std::string from_store;  // where a reference in `model` is resolved ("" = the default local store)
  std::vector<std::string> meta;  // "key=value" (value read as JSON when it parses, else a string)
  std::string meta_file;   // a JSON or YAML object merged into the metadata
  store::RemoteOptions remote;
  int threads = 0;         // Torch threads for the dry run (0 = all cores)
};

struct SaveResult {
  std::string name;
  int version = 0;
  std::string digest;      // the manifest digest
  int64_t bytes = 0;       // the card and files
  std::string location;    // the store
  bool copied = false;     // copied as is from another store (same digest)
  bool existed = false;    // the destination already had this exact version
};

// zoo save. A config or folder becomes version last+1 of `name`: the model
// is loaded and run on one dry input first (its contract goes in the card),
// so a model that does not load is refused and nothing is stored. A
// reference is copied blob for blob with the same version and digest; with
// a different `name` it is repackaged as a new version of that name.
// Metadata: framework and zoo versions, the git commit of the config's
// folder, train.json and metrics.json when the folder has them, then
// meta_file, then meta. Throws zoo::Error.
SaveResult save_model(const SaveOptions& options);

struct UploadOptions {
  std::vector<std::string> files;  // one weights file (TorchScript, state dict, safetensors); optional .yaml config and .txt labels
  std::string config;              // the config giving entrypoint and preprocessing (else one in `files`)
  std::string name;
  std::string store;
  std::vector<std::string> meta;
  std::string meta_file;
  store::RemoteOptions remote;
  int threads = 0;
};

// zoo upload: external files become a new version of `name`, as save_model
// does for a config, with the config's weights (and labels) replaced by the
// files given. Without a config, a TorchScript file gets a default one
// (224x224 RGB, ImageNet mean/std, classifier) and a warning says so.
SaveResult upload_model(const UploadOptions& options);

struct LoadOptions {
  std::string reference;  // NAME, NAME:VERSION or NAME@sha256:...
  std::string store;
  std::string out_dir;    // must not exist, or be an empty folder
  store::RemoteOptions remote;
};

struct LoadResult {
  std::string name;
  int version = 0;
  std::string digest;
  std::vector<std::string> files;  // written, in manifest order, then card.json
};

// zoo load: writes the version's files and card.json into out_dir, every
// blob digest-checked; the folder appears complete or not at all.
LoadResult load_model(const LoadOptions& options);

// A MODEL argument, resolved in this order:
// 1. a path that exists (or has a '/' or a .yaml ending) is returned as is;
// 2. zoo:NAME is the zoo's model NAME (downloaded once, verified on every
//    use; see catalog::ensure_downloaded) and its folder is returned;
// 3. a store reference (NAME, NAME:VERSION, NAME@sha256:...) is unpacked
//    (once, verified on every use) under the cache ($ZOO_CACHE_DIR, else
//    $XDG_CACHE_HOME/zoo, else ~/.cache/zoo) and that folder is returned;
// 4. a NAME the store does not have, but the zoo's manifest does, is the
//    zoo's model. A NAME both have is refused (usage), naming both.
// Anything else is returned as is (and loading it reports the missing file).
std::string resolve_model(const std::string& model, const std::string& store, const store::RemoteOptions& remote = {},
                          const catalog::FetchOptions& fetch = catalog::fetch_options_from_env());

// The versions in a store for zoo ls, oldest first per name, with each
// version's card and total size (`name` "" = every name).
nlohmann::ordered_json list_models(const std::string& store, const std::string& name, const store::RemoteOptions& remote);

}  // namespace zoo::packaging

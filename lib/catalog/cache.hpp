// The download cache of named models: $ZOO_CACHE_DIR (else
// $XDG_CACHE_HOME/zoo, else ~/.cache/zoo) / zoo / NAME holds an entry's
// files, its model.yaml and source.json (where each file came from, and its
// full sha256). A folder with model.yaml is complete: model.yaml is written
// last. Downloads go to NAME/FILE.part and resume from there (HTTP Range);
// a file is renamed to NAME/FILE only after its checksum matched, so a file
// placed there by hand is used once it verifies. One process at a time
// fetches a name (a lock per name); the others wait and reuse its result.
#pragma once

#include <cstdint>
#include <string>

#include "catalog/manifest.hpp"
#include "util/progress.hpp"

namespace zoo::catalog {

// The cache root: $ZOO_CACHE_DIR, else $XDG_CACHE_HOME/zoo, else ~/.cache/zoo.
std::string cache_root();

// Where `entry` lives in the cache (whether it is there or not).
std::string model_dir(const Entry& entry);

// True when the entry's folder is complete (files are not re-hashed here).
bool is_downloaded(const Entry& entry);

struct FetchOptions {
  util::ProgressMode progress = util::ProgressMode::automatic;
  // Never touch the network (also $ZOO_OFFLINE=1): a missing file is an
  // error naming its URL and the path to place it at.
  bool offline = false;
  long stall_seconds = 30;  // a transfer moving no bytes this long is abandoned ($ZOO_DOWNLOAD_STALL_SECONDS)
};

// FetchOptions from the environment (ZOO_OFFLINE, ZOO_DOWNLOAD_STALL_SECONDS).
FetchOptions fetch_options_from_env();

// The entry's folder, complete and verified: every file's size and sha256
// checked against source.json (a modified file is fetched again), or, when
// the folder is not complete, each missing file downloaded (resumed),
// checked and moved in, then model.yaml written. Throws zoo::Error(store)
// naming the URL (or npm package), the file and the expected and actual
// digest on a mismatch; nothing unchecked is left under its final name.
std::string ensure_downloaded(const Entry& entry, const FetchOptions& options);

// Deletes the entry's folder (and any partial download). Returns false when
// there was nothing to delete.
bool remove_download(const Entry& entry);

// `url` with its scheme and host replaced by $ZOO_MODELS_MIRROR when set
// ("http://mirror.internal:8080" + "/models/resnet50-0676ba61.pth").
std::string mirrored_url(const std::string& url);

}  // namespace zoo::catalog

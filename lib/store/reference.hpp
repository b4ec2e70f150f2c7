// Model names, version references (NAME, NAME:VERSION, NAME@sha256:HEX) and
// store locations (a local folder or oci://HOST[:PORT]/NAMESPACE).
#pragma once

#include <optional>
#include <string>

namespace zoo::store {

// A reference to one model version. `version` 0 and an empty `digest` mean
// the latest version of `name`.
struct Reference {
  std::string name;
  int version = 0;     // NAME:VERSION (1, 2, ...)
  std::string digest;  // NAME@sha256:HEX (the manifest digest)

  // "name", "name:3" or "name@sha256:..."
  std::string str() const;
};

// Throws zoo::Error(usage) unless `name` matches [a-z0-9][a-z0-9._-]* with
// at most 128 characters and no "..". `what` names the argument in the error.
void validate_name(const std::string& name, const std::string& what = "name");

// Parses NAME, NAME:VERSION (VERSION a positive integer or "latest") or
// NAME@sha256:<64 hex>. Throws zoo::Error(usage) with the reason.
Reference parse_reference(const std::string& text);

// Parses `text` as a reference if it has a reference's shape, else nothing
// (used to tell a store reference from a config path on the command line).
std::optional<Reference> try_parse_reference(const std::string& text);

// True if `digest` is "sha256:" followed by 64 lowercase hex digits.
bool is_sha256_digest(const std::string& digest);

// Where a store lives.
struct Location {
  bool remote = false;
  std::string path;       // local: the store folder
  std::string host;       // remote: "host" or "host:port" (as in the URL)
  std::string hostname;   // remote: host without the port
  std::string ns;         // remote: the namespace ("" = none); repositories are NS/NAME

  std::string str() const;
};

// `spec` is oci://HOST[:PORT][/NAMESPACE] for a registry, anything else a
// folder. "" means the default local store: $ZOO_STORE, else
// $XDG_DATA_HOME/zoo/store, else ~/.local/share/zoo/store.
Location parse_location(const std::string& spec);

}  // namespace zoo::store

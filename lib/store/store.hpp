// Store: where model versions live. Two implementations share this
// interface: the local store (an OCI image layout folder, the default) and
// a remote one (an OCI distribution registry). A version is an OCI image
// manifest tagged NAME:VERSION; its blobs are content addressed.
//
// Versions are immutable and numbered 1, 2, ... per name; publish() picks
// last+1 atomically for the local store (a file lock) and as safely as the
// distribution API allows for a registry (see registry.cpp).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "store/oci.hpp"
#include "store/reference.hpp"

namespace zoo::store {

// One version in a listing.
struct VersionEntry {
  std::string name;
  int version = 0;
  std::string digest;  // the manifest's
  int64_t size = 0;    // the manifest's own size (the sum of blobs comes from the manifest)
};

// A resolved reference: which version, and its verified manifest bytes.
struct Resolved {
  std::string name;
  int version = 0;  // 0 when resolved by digest and no tag names it
  std::string digest;
  std::string manifest_bytes;
  Manifest manifest;
};

// Connection settings for registries (ignored by the local store).
struct RemoteOptions {
  std::string ca_file;    // PEM bundle to verify the registry's certificate ("" = system CAs)
  bool insecure = false;  // plain http; refused unless the host is loopback
};

class Store {
 public:
  virtual ~Store() = default;

  // "PATH" or "oci://HOST/NS", for messages.
  virtual std::string location() const = 0;

  // The names that have versions, sorted.
  virtual std::vector<std::string> names() = 0;

  // The versions of `name`, oldest first; empty if the name is unknown.
  virtual std::vector<VersionEntry> versions(const std::string& name) = 0;

  // Finds the version `ref` names (latest when it names none) and returns
  // its manifest, digest-checked. Throws zoo::Error(store) when there is no
  // such name or version (listing what exists).
  virtual Resolved resolve(const Reference& ref) = 0;

  // True if the store holds the blob (for a registry: in NAME's repository).
  virtual bool has_blob(const std::string& name, const Descriptor& blob) = 0;

  // Stores a blob from a file or from bytes (exactly one of `path`, `bytes`
  // non-null). The content must hash to blob.digest: a file that changed
  // since it was hashed is an error, and nothing is stored.
  virtual void put_blob(const std::string& name, const Descriptor& blob, const std::string* path,
                        const std::string* bytes) = 0;

  // Writes a blob to `path` (temp + rename), verifying size and digest;
  // a mismatch is an error naming the blob and nothing is left at `path`.
  virtual void get_blob(const std::string& name, const Descriptor& blob, const std::string& path) = 0;

  // A blob's bytes (at most `max_size`), verified.
  virtual std::string read_blob(const std::string& name, const Descriptor& blob, int64_t max_size) = 0;

  // Adds a version of `name`. With `version` 0 the store picks last+1 and
  // calls make_manifest(version) to get the manifest (whose blobs must be
  // stored already); with `version` > 0 (a copy from another store) that
  // version is used: if it exists with the same digest nothing changes, with
  // another digest it is an error. Returns the version and manifest digest.
  virtual VersionEntry publish(const std::string& name, int version,
                               const std::function<std::string(int version)>& make_manifest) = 0;
};

// Opens the store at `spec` (see parse_location). The local store's folder
// is created on first write; a missing folder lists as empty.
std::unique_ptr<Store> open_store(const std::string& spec, const RemoteOptions& remote = {});

std::unique_ptr<Store> open_local_store(const std::string& path);
std::unique_ptr<Store> open_registry_store(const Location& location, const RemoteOptions& options);

}  // namespace zoo::store

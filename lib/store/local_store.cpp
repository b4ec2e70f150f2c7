// The local store: a folder in the OCI image layout (oci-layout, index.json,
// blobs/sha256/<hex>). Blobs are written to a temp file beside their final
// name, fsynced and renamed; index.json is replaced the same way, under an
// exclusive flock on STORE/.lock, so concurrent saves each get their own
// version and a kill at any moment leaves a store that loads (at worst an
// orphaned blob or temp file).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "store/store.hpp"
#include "util/error.hpp"
#include "util/file_lock.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/sha256.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace zoo::store {
namespace {

// Copies `in` to a new file at `tmp` while hashing it; returns the digest
// and size. Throws zoo::Error(io).
std::pair<std::string, int64_t> copy_hashing(std::istream& in, const std::string& tmp, const std::string& what) {
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(ErrorKind::io, "{}: cannot write: {}", tmp, std::strerror(errno));
  util::Sha256 hash;
  int64_t size = 0;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto n = in.gcount();
    if (n <= 0) break;
    hash.update(buffer.data(), static_cast<size_t>(n));
    size += n;
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(fd, buffer.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        const int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        throw Error(ErrorKind::io, "{}: cannot write: {}", tmp, std::strerror(err));
      }
      done += w;
    }
  }
  if (in.bad()) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw Error(ErrorKind::io, "{}: read error", what);
  }
  ::fsync(fd);
  ::close(fd);
  return {"sha256:" + hash.hex_digest(), size};
}

class LocalStore final : public Store {
 public:
  explicit LocalStore(fs::path root) : m_root(std::move(root)) {}

  std::string location() const override { return m_root.string(); }

  std::vector<std::string> names() override {
    std::set<std::string> out;
    for (const auto& entry : entries()) out.insert(entry.name);
    return {out.begin(), out.end()};
  }

  std::vector<VersionEntry> versions(const std::string& name) override {
    std::vector<VersionEntry> out;
    for (auto& entry : entries()) {
      if (entry.name == name) out.push_back(std::move(entry));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
    return out;
  }

  Resolved resolve(const Reference& ref) override {
    const auto all = versions(ref.name);
    if (all.empty()) {
      const auto known = names();
      std::string hint = known.empty() ? " (the store is empty)" : util::did_you_mean(ref.name, known);
      if (hint.empty()) hint = fmt::format(" (it has: {})", util::join(known, ", "));
      throw Error(ErrorKind::store, "no model named \"{}\" in store {}{}", ref.name, location(), hint);
    }
    const VersionEntry* found = nullptr;
    for (const auto& entry : all) {
      if ((!ref.digest.empty() && entry.digest == ref.digest) || (ref.digest.empty() && ref.version == entry.version)) {
        found = &entry;
      }
    }
    if (ref.digest.empty() && ref.version == 0) found = &all.back();
    if (!found) {
      throw Error(ErrorKind::store, "{}: no such version in store {}; {} has versions 1 to {}", ref.str(), location(),
                  ref.name, all.back().version);
    }
    Resolved out;
    out.name = found->name;
    out.version = found->version;
    out.digest = found->digest;
    Descriptor blob{k_manifest_media_type, found->digest, found->size, {}};
    out.manifest_bytes = read_blob(found->name, blob, 64 << 20);
    out.manifest = Manifest::parse(out.manifest_bytes, fmt::format("{}:{}", found->name, found->version));
    return out;
  }

  bool has_blob(const std::string&, const Descriptor& blob) override {
    std::error_code ec;
    return fs::file_size(blob_path(blob.digest), ec) == static_cast<uintmax_t>(blob.size) && !ec;
  }

  void put_blob(const std::string&, const Descriptor& blob, const std::string* path,
                const std::string* bytes) override {
    ensure_layout();
    const std::string final_path = blob_path(blob.digest);
    // An existing blob is trusted only if it still hashes right; a tampered
    // one is replaced.
    if (has_blob("", blob) && util::sha256_file(final_path) == digest_hex(blob.digest)) return;
    const std::string tmp = util::temp_path_beside(final_path);
    std::pair<std::string, int64_t> got;
    const std::string what = path ? *path : blob.digest;
    if (path) {
      std::ifstream in(*path, std::ios::binary);
      if (!in) throw Error(ErrorKind::io, "{}: cannot read: {}", *path, std::strerror(errno));
      got = copy_hashing(in, tmp, what);
    } else {
      std::istringstream in(*bytes);
      got = copy_hashing(in, tmp, what);
    }
    if (got.first != blob.digest || got.second != blob.size) {
      ::unlink(tmp.c_str());
      throw Error(ErrorKind::store, "{}: changed while it was being saved (now {} bytes, {}); nothing was stored", what,
                  got.second, got.first);
    }
    if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
      const int err = errno;
      ::unlink(tmp.c_str());
      throw Error(ErrorKind::io, "{}: cannot write: {}", final_path, std::strerror(err));
    }
    util::fsync_path((m_root / "blobs" / "sha256").string());
  }

  void get_blob(const std::string& name, const Descriptor& blob, const std::string& path) override {
    std::ifstream in(blob_path(blob.digest), std::ios::binary);
    if (!in) throw missing_blob(name, blob);
    const std::string tmp = util::temp_path_beside(path);
    const auto got = copy_hashing(in, tmp, blob_path(blob.digest));
    if (got.first != blob.digest || got.second != blob.size) {
      ::unlink(tmp.c_str());
      throw corrupt_blob(name, blob, got.first, got.second);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      const int err = errno;
      ::unlink(tmp.c_str());
      throw Error(ErrorKind::io, "{}: cannot write: {}", path, std::strerror(err));
    }
  }

  std::string read_blob(const std::string& name, const Descriptor& blob, int64_t max_size) override {
    std::error_code ec;
    const auto size = fs::file_size(blob_path(blob.digest), ec);
    if (ec) throw missing_blob(name, blob);
    if (static_cast<int64_t>(size) > max_size) {
      throw Error(ErrorKind::store, "store {}: blob {} of {} is {} bytes, more than the {} allowed", location(),
                  blob.digest, name, size, max_size);
    }
    const std::string bytes = util::read_file(blob_path(blob.digest));
    const std::string got = digest_of(bytes);
    if (got != blob.digest || static_cast<int64_t>(bytes.size()) != blob.size) {
      throw corrupt_blob(name, blob, got, static_cast<int64_t>(bytes.size()));
    }
    return bytes;
  }

  VersionEntry publish(const std::string& name, int version,
                       const std::function<std::string(int)>& make_manifest) override {
    ensure_layout();
    util::FileLock lock((m_root / ".lock").string());
    remove_stale_temp_files();
    json index = read_index();
    int last = 0;
    for (const auto& entry : parse_entries(index)) {
      if (entry.name != name) continue;
      last = std::max(last, entry.version);
      if (version > 0 && entry.version == version) {
        const std::string bytes = make_manifest(version);
        if (digest_of(bytes) == entry.digest) return entry;
        throw Error(ErrorKind::store, "{}:{} already exists in store {} with different content ({}); versions never change",
                    name, version, location(), entry.digest);
      }
    }
    VersionEntry out;
    out.name = name;
    out.version = version > 0 ? version : last + 1;
    const std::string bytes = make_manifest(out.version);
    out.digest = digest_of(bytes);
    out.size = static_cast<int64_t>(bytes.size());
    put_blob(name, Descriptor{k_manifest_media_type, out.digest, out.size, {}}, nullptr, &bytes);
    json entry = {{"mediaType", k_manifest_media_type},
                  {"artifactType", k_artifact_type},
                  {"digest", out.digest},
                  {"size", out.size},
                  {"annotations",
                   {{k_ref_name_annotation, fmt::format("{}:{}", name, out.version)},
                    {k_name_annotation, name},
                    {k_version_annotation, std::to_string(out.version)}}}};
    index["manifests"].push_back(entry);
    if (out.version > last) point_latest(index, entry);
    util::write_file_atomic((m_root / "index.json").string(), index.dump(2) + "\n");
    return out;
  }

 private:
  // The ref NAME (no version) names the latest version, as the tag latest
  // does in a registry, so OCI tools find it: `skopeo inspect --raw
  // oci:STORE:NAME`. It carries no version annotation, so it is no version.
  static void point_latest(json& index, const json& version_entry) {
    const std::string& name = version_entry["annotations"][k_name_annotation].get_ref<const std::string&>();
    json& manifests = index["manifests"];
    for (auto it = manifests.begin(); it != manifests.end();) {
      const bool latest = it->is_object() && it->contains("annotations") && (*it)["annotations"].is_object() &&
                          (*it)["annotations"].value(k_ref_name_annotation, "") == name;
      it = latest ? manifests.erase(it) : it + 1;
    }
    json latest = version_entry;
    latest["annotations"] = {{k_ref_name_annotation, name}};
    manifests.push_back(std::move(latest));
  }

  // Removes the temporary files (.NAME.tmp.PID.N) of saves killed mid-write:
  // those untouched for 10 minutes. A save writing one touches it as it
  // writes and renames it at once, so an old one is dead, whatever host
  // (on a shared folder) made it.
  void remove_stale_temp_files() const {
    const auto cutoff = fs::file_time_type::clock::now() - std::chrono::minutes(10);
    size_t removed = 0;
    for (const fs::path folder : {m_root, m_root / "blobs" / "sha256"}) {
      std::error_code ec;
      for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code stat_ec;
        if (it->path().filename().string().find(".tmp.") == std::string::npos || !it->is_regular_file(stat_ec) ||
            it->last_write_time(stat_ec) > cutoff || stat_ec) {
          continue;
        }
        if (fs::remove(it->path(), stat_ec)) ++removed;
      }
    }
    if (removed > 0) {
      util::info(fmt::format("store {}: removed {} left by interrupted saves", location(),
                             util::count_of(static_cast<long long>(removed), "temporary file")));
    }
  }

  std::string blob_path(const std::string& digest) const {
    return (m_root / "blobs" / "sha256" / digest_hex(digest)).string();
  }

  Error missing_blob(const std::string& name, const Descriptor& blob) const {
    return Error(ErrorKind::store, "store {}: blob {} of {} is missing ({})", location(), blob.digest, name,
                 blob_path(blob.digest));
  }

  Error corrupt_blob(const std::string& name, const Descriptor& blob, const std::string& got, int64_t size) const {
    return Error(ErrorKind::store,
                 "store {}: blob {}{} of {} is corrupt: its content ({} bytes) hashes to {}; it was not used",
                 location(), blob.digest, blob.title().empty() ? "" : " (" + blob.title() + ")", name, size, got);
  }

  void ensure_layout() {
    std::error_code ec;
    fs::create_directories(m_root / "blobs" / "sha256", ec);
    if (ec) throw Error(ErrorKind::store, "{}: cannot create the store: {}", m_root.string(), ec.message());
    if (!fs::exists(m_root / "oci-layout")) {
      util::write_file_atomic((m_root / "oci-layout").string(), "{\"imageLayoutVersion\":\"1.0.0\"}");
    }
  }

  json read_index() const {
    const fs::path path = m_root / "index.json";
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      return {{"schemaVersion", 2}, {"mediaType", k_index_media_type}, {"manifests", json::array()}};
    }
    try {
      json index = json::parse(util::read_file(path.string()));
      if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array()) {
        throw Error(ErrorKind::store, "{}: not an OCI image index (no manifests list)", path.string());
      }
      return index;
    } catch (const json::exception& e) {
      throw Error(ErrorKind::store, "{}: not valid JSON: {}", path.string(), e.what());
    }
  }

  // The zoo versions in an index; other manifests (not ours) are skipped.
  static std::vector<VersionEntry> parse_entries(const json& index) {
    std::vector<VersionEntry> out;
    for (const auto& m : index["manifests"]) {
      if (!m.is_object() || !m.contains("annotations") || !m["annotations"].is_object()) continue;
      const auto& a = m["annotations"];
      if (!a.contains(k_name_annotation) || !a.contains(k_version_annotation)) continue;
      VersionEntry entry;
      entry.name = a[k_name_annotation].get<std::string>();
      try {
        entry.version = std::stoi(a[k_version_annotation].get<std::string>());
      } catch (const std::exception&) {
        continue;
      }
      entry.digest = m.value("digest", "");
      entry.size = m.value("size", int64_t{0});
      if (entry.version > 0 && is_sha256_digest(entry.digest)) out.push_back(std::move(entry));
    }
    return out;
  }

  std::vector<VersionEntry> entries() const { return parse_entries(read_index()); }

  fs::path m_root;
};

}  // namespace

std::unique_ptr<Store> open_local_store(const std::string& path) {
  std::error_code ec;
  if (fs::exists(path, ec) && !fs::is_directory(path, ec)) {
    throw Error(ErrorKind::store, "{}: is not a folder, so it cannot be a model store", path);
  }
  // blobs/ is made before oci-layout, so a store another process is
  // creating right now has one of them.
  if (fs::is_directory(path, ec) && !fs::is_empty(path, ec) && !fs::exists(fs::path(path) / "oci-layout", ec) &&
      !fs::exists(fs::path(path) / "blobs", ec)) {
    throw Error(ErrorKind::store, "{}: is not a model store (no oci-layout file) and not empty", path);
  }
  return std::make_unique<LocalStore>(fs::path(path));
}

std::unique_ptr<Store> open_store(const std::string& spec, const RemoteOptions& remote) {
  const Location location = parse_location(spec);
  if (location.remote) return open_registry_store(location, remote);
  return open_local_store(location.path);
}

}  // namespace zoo::store

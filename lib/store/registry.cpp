// The registry store: the OCI distribution API over HTTP(S). A version is a
// manifest tagged with its number (and `latest`); blobs are pushed
// check-then-push (HEAD, then POST + PUT with the digest, or POST + PATCH
// chunks + PUT for large blobs) before the manifest, so an interrupted push
// leaves no tag. Credentials come from ZOO_REGISTRY_USER and
// ZOO_REGISTRY_PASSWORD or ~/.docker/config.json; basic and bearer-token
// auth. They are sent only in Authorization headers, never printed.
//
// The distribution API has no compare-and-swap on tags, so two pushes that
// race for the same new version number are told apart only by checking the
// tag just before writing it; the local store, with its lock, has no such
// window.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "store/http.hpp"
#include "store/store.hpp"
#include "util/base64.hpp"
#include "util/env.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/sha256.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

// Requests are written with designated initializers; the fields left out
// take their defaults, which is the point, not an oversight.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace zoo::store {
namespace {


struct Credentials {
  std::string user;
  std::string password;
  std::string source;  // where they came from, for messages
  bool empty() const { return user.empty(); }
};

Credentials find_credentials(const Location& location) {
  Credentials c;
  if (!util::env("ZOO_REGISTRY_USER").empty()) {
    c.user = util::env("ZOO_REGISTRY_USER");
    c.password = util::env("ZOO_REGISTRY_PASSWORD");
    c.source = "ZOO_REGISTRY_USER";
    return c;
  }
  std::string dir = util::env("DOCKER_CONFIG");
  if (dir.empty() && !util::env("HOME").empty()) dir = util::env("HOME") + "/.docker";
  const fs::path path = fs::path(dir) / "config.json";
  std::error_code ec;
  if (dir.empty() || !fs::exists(path, ec)) return c;
  try {
    const json config = json::parse(util::read_file(path.string()));
    const json& auths = config.value("auths", json::object());
    for (const std::string& key : {location.host, "https://" + location.host, "http://" + location.host}) {
      if (!auths.contains(key)) continue;
      const json& entry = auths[key];
      if (entry.contains("auth")) {
        const std::optional<std::string> decoded = util::base64_decode(entry["auth"].get<std::string>());
        if (!decoded) throw Error(ErrorKind::store, "invalid base64");
        const std::string& pair = *decoded;
        const auto colon = pair.find(':');
        if (colon == std::string::npos) continue;
        c.user = pair.substr(0, colon);
        c.password = pair.substr(colon + 1);
      } else {
        c.user = entry.value("username", "");
        c.password = entry.value("password", "");
      }
      c.source = path.string();
      return c;
    }
  } catch (const std::exception& e) {
    util::warn(fmt::format("{}: ignored, unreadable: {}", path.string(), e.what()));
  }
  return c;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// key="value" pairs of a WWW-Authenticate challenge.
std::map<std::string, std::string> challenge_params(const std::string& header) {
  std::map<std::string, std::string> out;
  size_t i = header.find(' ');
  while (i != std::string::npos && i < header.size()) {
    while (i < header.size() && (header[i] == ' ' || header[i] == ',')) ++i;
    const auto eq = header.find('=', i);
    if (eq == std::string::npos) break;
    const std::string key = util::to_lower(header.substr(i, eq - i));
    std::string value;
    size_t j = eq + 1;
    if (j < header.size() && header[j] == '"') {
      const auto close = header.find('"', j + 1);
      value = header.substr(j + 1, close == std::string::npos ? std::string::npos : close - j - 1);
      j = close == std::string::npos ? header.size() : close + 1;
    } else {
      const auto comma = header.find(',', j);
      value = header.substr(j, comma == std::string::npos ? std::string::npos : comma - j);
      j = comma;
    }
    out[key] = value;
    i = j;
  }
  return out;
}

// The registry's own explanation from an error response body.
std::string registry_reason(const HttpResponse& response) {
  try {
    const json body = json::parse(response.body);
    std::vector<std::string> parts;
    for (const auto& e : body.value("errors", json::array())) {
      parts.push_back(e.value("code", "") + (e.contains("message") ? ": " + e["message"].get<std::string>() : ""));
    }
    if (!parts.empty()) return util::join(parts, "; ");
  } catch (const std::exception&) {
  }
  return response.body.size() <= 200 ? response.body : response.body.substr(0, 200) + "...";
}

int64_t chunk_bytes() {
  const std::string value = util::env("ZOO_REGISTRY_CHUNK_BYTES");
  const int64_t n = value.empty() ? 0 : std::strtoll(value.c_str(), nullptr, 10);
  return n > 0 ? n : int64_t{100} << 20;
}

class RegistryStore final : public Store {
 public:
  RegistryStore(Location location, const RemoteOptions& options)
      : m_location(std::move(location)), m_http(HttpOptions{options.ca_file}) {
    if (options.insecure) {
      if (!is_loopback(m_location.hostname)) {
        throw Error(ErrorKind::usage, "--insecure (plain http) is allowed only for a registry on loopback "
                                      "(127.0.0.1, localhost, ::1), not {}", m_location.host);
      }
      m_base = "http://" + m_location.host;
    } else {
      m_base = "https://" + m_location.host;
    }
    m_credentials = find_credentials(m_location);
  }

  std::string location() const override { return m_location.str(); }

  std::vector<std::string> names() override {
    std::set<std::string> out;
    std::string url = m_base + "/v2/_catalog?n=1000";
    const std::string prefix = m_location.ns.empty() ? "" : m_location.ns + "/";
    for (int page = 0; page < 1000 && !url.empty(); ++page) {
      HttpResponse r = send({.method = "GET", .url = url}, "registry:catalog:*");
      expect(r, {200}, "list repositories");
      for (const auto& repo : json::parse(r.body).value("repositories", json::array())) {
        const std::string full = repo.get<std::string>();
        if (full.rfind(prefix, 0) != 0) continue;
        const std::string name = full.substr(prefix.size());
        if (name.find('/') == std::string::npos && try_parse_reference(name)) out.insert(name);
      }
      url = next_link(r);
    }
    std::vector<std::string> names;
    for (const auto& name : out) {
      if (!versions(name).empty()) names.push_back(name);
    }
    return names;
  }

  std::vector<VersionEntry> versions(const std::string& name) override {
    std::vector<VersionEntry> out;
    for (int version : version_tags(name)) {
      HttpResponse r = send({.method = "HEAD", .url = manifest_url(name, std::to_string(version)),
                             .headers = {std::string("Accept: ") + k_manifest_media_type}},
                            scope(name, "pull"));
      if (r.status == 404) continue;  // deleted between the listing and now
      expect(r, {200}, fmt::format("look up {}:{}", name, version));
      VersionEntry entry{name, version, r.header("docker-content-digest"), 0};
      entry.size = std::strtoll(r.header("content-length").c_str(), nullptr, 10);
      if (!is_sha256_digest(entry.digest)) {
        // Registries should send the digest; if not, fetch and hash.
        entry.digest = digest_of(get_manifest(name, std::to_string(version)).body);
      }
      out.push_back(entry);
    }
    return out;
  }

  Resolved resolve(const Reference& ref) override {
    Resolved out;
    out.name = ref.name;
    std::string tag;
    if (!ref.digest.empty()) {
      tag = ref.digest;
    } else {
      const auto tags = version_tags(ref.name);
      if (tags.empty()) {
        throw Error(ErrorKind::store, "no model named \"{}\" in store {}", ref.name, location());
      }
      out.version = ref.version > 0 ? ref.version : tags.back();
      if (std::find(tags.begin(), tags.end(), out.version) == tags.end()) {
        throw Error(ErrorKind::store, "{}: no such version in store {}; {} has versions {}", ref.str(), location(),
                    ref.name, fmt::join(tags, ", "));
      }
      tag = std::to_string(out.version);
    }
    HttpResponse r = get_manifest(ref.name, tag);
    if (r.status == 404) throw Error(ErrorKind::store, "{}: not found in store {}", ref.str(), location());
    expect(r, {200}, fmt::format("fetch the manifest of {}", ref.str()));
    out.manifest_bytes = std::move(r.body);
    out.digest = digest_of(out.manifest_bytes);
    if (!ref.digest.empty() && out.digest != ref.digest) {
      throw Error(ErrorKind::store, "{}: the registry sent a manifest that hashes to {}; it was not used", ref.str(),
                  out.digest);
    }
    out.manifest = Manifest::parse(out.manifest_bytes, ref.str());
    if (out.version == 0) {
      const auto it = out.manifest.annotations.find(k_version_annotation);
      if (it != out.manifest.annotations.end()) out.version = std::atoi(it->second.c_str());
    }
    return out;
  }

  bool has_blob(const std::string& name, const Descriptor& blob) override {
    HttpResponse r = send({.method = "HEAD", .url = blob_url(name, blob.digest)}, scope(name, "pull,push"));
    return r.status == 200;
  }

  void put_blob(const std::string& name, const Descriptor& blob, const std::string* path,
                const std::string* bytes) override {
    std::FILE* file = nullptr;
    if (path) {
      // Hash what will be sent: a file that changed since it was hashed is refused.
      if ("sha256:" + util::sha256_file(*path) != blob.digest) {
        throw Error(ErrorKind::store, "{}: changed while it was being saved; nothing was pushed", *path);
      }
      file = std::fopen(path->c_str(), "rb");
      if (!file) throw Error(ErrorKind::io, "{}: cannot read", *path);
    } else if (digest_of(*bytes) != blob.digest) {
      throw Error(ErrorKind::store, "blob {} does not match its content", blob.digest);
    }
    struct Closer {
      std::FILE* f;
      ~Closer() {
        if (f) std::fclose(f);
      }
    } closer{file};
    const std::string what = fmt::format("push {} ({} bytes) to {}", blob.title().empty() ? blob.digest : blob.title(),
                                         blob.size, repository(name));
    HttpResponse r = send({.method = "POST", .url = m_base + "/v2/" + repository(name) + "/blobs/uploads/"},
                          scope(name, "pull,push"));
    expect(r, {202}, what);
    std::string upload = absolute(r.header("location"));
    const int64_t chunk = chunk_bytes();
    if (blob.size > chunk) {
      for (int64_t offset = 0; offset < blob.size; offset += chunk) {
        const int64_t n = std::min(chunk, blob.size - offset);
        HttpRequest patch{.method = "PATCH", .url = upload,
                          .headers = {"Content-Type: application/octet-stream",
                                      fmt::format("Content-Range: {}-{}", offset, offset + n - 1)}};
        std::string part;
        if (file) {
          patch.file = file;
          patch.file_offset = offset;
          patch.file_size = n;
        } else {
          part = bytes->substr(offset, n);
          patch.body = &part;
        }
        // A chunk is not retried blindly: the upload's offset moved.
        r = send(patch, scope(name, "pull,push"), false);
        expect(r, {202}, what);
        upload = absolute(r.header("location"));
      }
      const std::string empty;
      r = send({.method = "PUT", .url = with_digest(upload, blob.digest), .body = &empty}, scope(name, "pull,push"),
               false);
    } else {
      HttpRequest put{.method = "PUT", .url = with_digest(upload, blob.digest),
                      .headers = {"Content-Type: application/octet-stream"}};
      if (file) {
        put.file = file;
        put.file_size = blob.size;
      } else {
        put.body = bytes;
      }
      r = send(put, scope(name, "pull,push"), false);
    }
    expect(r, {201}, what);
  }

  void get_blob(const std::string& name, const Descriptor& blob, const std::string& path) override {
    const std::string tmp = util::temp_path_beside(path);
    for (int attempt = 0;; ++attempt) {
      std::FILE* out = std::fopen(tmp.c_str(), "wb");
      if (!out) throw Error(ErrorKind::io, "{}: cannot write", tmp);
      util::Sha256 hash;
      int64_t size = 0;
      bool write_failed = false;
      HttpRequest request{.method = "GET", .url = blob_url(name, blob.digest)};
      request.sink = [&](const char* data, size_t n) {
        size += static_cast<int64_t>(n);
        if (size > blob.size) return false;
        hash.update(data, n);
        if (std::fwrite(data, 1, n, out) != n) write_failed = true;
        return !write_failed;
      };
      HttpResponse r;
      try {
        r = send(request, scope(name, "pull"), false);
      } catch (const HttpTransportError& e) {
        std::fclose(out);
        std::remove(tmp.c_str());
        if (size > blob.size) {
          throw Error(ErrorKind::store, "store {}: blob {} of {} is corrupt: the registry sent more than its {} bytes; "
                      "it was not used", location(), blob.digest, name, blob.size);
        }
        if (write_failed) throw Error(ErrorKind::io, "{}: cannot write", path);
        if (e.transient() && attempt < 3) {
          backoff(attempt, e.what());
          continue;
        }
        throw;
      }
      std::fflush(out);
      ::fsync(fileno(out));
      std::fclose(out);
      if (r.status >= 500 && attempt < 3) {
        std::remove(tmp.c_str());
        backoff(attempt, fmt::format("HTTP {}", r.status));
        continue;
      }
      if (r.status != 200) {
        std::remove(tmp.c_str());
        expect(r, {200}, fmt::format("fetch {} of {}", blob.title().empty() ? blob.digest : blob.title(), name));
      }
      const std::string got = "sha256:" + hash.hex_digest();
      if (write_failed || size != blob.size || got != blob.digest) {
        std::remove(tmp.c_str());
        if (write_failed) throw Error(ErrorKind::io, "{}: cannot write", path);
        throw Error(ErrorKind::store, "store {}: blob {} of {} is corrupt: the registry sent {} bytes hashing to {}; "
                    "it was not used", location(), blob.digest, name, size, got);
      }
      if (std::rename(tmp.c_str(), path.c_str()) != 0) throw Error(ErrorKind::io, "{}: cannot write", path);
      return;
    }
  }

  std::string read_blob(const std::string& name, const Descriptor& blob, int64_t max_size) override {
    if (blob.size > max_size) {
      throw Error(ErrorKind::store, "{}: blob {} is {} bytes, more than the {} allowed", name, blob.digest, blob.size,
                  max_size);
    }
    HttpRequest request{.method = "GET", .url = blob_url(name, blob.digest)};
    request.max_body = max_size;
    HttpResponse r = send(request, scope(name, "pull"));
    expect(r, {200}, fmt::format("fetch blob {} of {}", blob.digest, name));
    const std::string got = digest_of(r.body);
    if (got != blob.digest) {
      throw Error(ErrorKind::store, "store {}: blob {} of {} is corrupt: the registry sent content hashing to {}; it "
                  "was not used", location(), blob.digest, name, got);
    }
    return std::move(r.body);
  }

  VersionEntry publish(const std::string& name, int version,
                       const std::function<std::string(int)>& make_manifest) override {
    for (int attempt = 0; attempt < 5; ++attempt) {
      const auto tags = version_tags(name);
      VersionEntry out{name, version > 0 ? version : (tags.empty() ? 1 : tags.back() + 1), "", 0};
      const std::string bytes = make_manifest(out.version);
      out.digest = digest_of(bytes);
      out.size = static_cast<int64_t>(bytes.size());
      const std::string tag = std::to_string(out.version);
      // The manifest goes up by digest first: it is in the registry whatever
      // becomes of the tag.
      HttpRequest put{.method = "PUT", .url = manifest_url(name, out.digest),
                      .headers = {std::string("Content-Type: ") + k_manifest_media_type}, .body = &bytes};
      HttpResponse r = send(put, scope(name, "pull,push"));
      expect(r, {201}, fmt::format("push the manifest of {}:{}", name, out.version));
      // Just before writing the tag: is it still free (or, for a copy, equal)?
      const std::string existing = tag_digest(name, tag);
      if (!existing.empty()) {
        if (version > 0 && existing == out.digest) return out;
        if (version > 0) {
          throw Error(ErrorKind::store, "{}:{} already exists in store {} with different content ({}); versions never "
                      "change", name, out.version, location(), existing);
        }
        continue;  // another save took this number since the listing
      }
      put.url = manifest_url(name, tag);
      const auto tag_start = std::chrono::steady_clock::now();
      r = send(put, scope(name, "pull,push"));
      const auto tag_took = std::chrono::steady_clock::now() - tag_start;
      expect(r, {201}, fmt::format("tag the manifest of {}:{}", name, out.version));
      const std::string echoed = r.header("docker-content-digest");
      if (!echoed.empty() && echoed != out.digest) {
        throw Error(ErrorKind::store, "{}:{}: the registry stored the manifest as {}, not {}", name, out.version,
                    echoed, out.digest);
      }
      // Tags have no compare-and-swap: a save that found this tag free while
      // ours was on its way can still write it, up to its own upload's time
      // after ours landed. Wait out twice as long as ours took (at least
      // 300 ms: a slow registry is slow for both), then look again; whoever
      // lost takes the next number.
      std::this_thread::sleep_for(std::max<std::chrono::steady_clock::duration>(std::chrono::milliseconds(300),
                                                                                 2 * tag_took));
      if (tag_digest(name, tag) != out.digest) {
        if (version > 0) {
          throw Error(ErrorKind::store, "{}:{} was overwritten in store {} by a concurrent push", name, out.version,
                      location());
        }
        util::warn(fmt::format("{}:{} was taken by a concurrent save; taking the next version", name, out.version));
        continue;
      }
      // `latest` follows the highest version, for tools that read tags.
      const auto now = version_tags(name);
      if (!now.empty() && now.back() == out.version) {
        put.url = manifest_url(name, "latest");
        r = send(put, scope(name, "pull,push"));
        if (r.status != 201) util::warn(fmt::format("{}: could not move the tag latest: {}", name, registry_reason(r)));
      }
      return out;
    }
    throw Error(ErrorKind::store, "{}: no free version number after 5 attempts (many concurrent saves?)", name);
  }

 private:
  std::string repository(const std::string& name) const {
    return m_location.ns.empty() ? name : m_location.ns + "/" + name;
  }
  std::string scope(const std::string& name, const std::string& actions) const {
    return "repository:" + repository(name) + ":" + actions;
  }
  std::string blob_url(const std::string& name, const std::string& digest) const {
    return m_base + "/v2/" + repository(name) + "/blobs/" + digest;
  }
  std::string manifest_url(const std::string& name, const std::string& reference) const {
    return m_base + "/v2/" + repository(name) + "/manifests/" + reference;
  }
  std::string absolute(const std::string& location) const {
    if (location.empty()) throw Error(ErrorKind::store, "{}: upload answer without a Location header", m_location.host);
    return location.rfind("http", 0) == 0 ? location : m_base + location;
  }
  static std::string with_digest(const std::string& url, const std::string& digest) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") + "digest=" + url_encode(digest);
  }
  std::string next_link(const HttpResponse& r) const {
    const std::string link = r.header("link");
    const auto open = link.find('<');
    const auto close = link.find('>');
    if (open == std::string::npos || close == std::string::npos || link.find("rel=\"next\"") == std::string::npos) {
      return "";
    }
    return absolute(link.substr(open + 1, close - open - 1));
  }

  // The digest tag `tag` of `name` points to, "" if there is no such tag.
  std::string tag_digest(const std::string& name, const std::string& tag) {
    HttpResponse r = send({.method = "HEAD", .url = manifest_url(name, tag),
                           .headers = {std::string("Accept: ") + k_manifest_media_type}},
                          scope(name, "pull,push"));
    if (r.status == 404) return "";
    expect(r, {200}, fmt::format("look up {}:{}", name, tag));
    std::string digest = r.header("docker-content-digest");
    if (!is_sha256_digest(digest)) digest = digest_of(get_manifest(name, tag).body);
    return digest;
  }

  HttpResponse get_manifest(const std::string& name, const std::string& reference) {
    return send({.method = "GET", .url = manifest_url(name, reference),
                 .headers = {std::string("Accept: ") + k_manifest_media_type}},
                scope(name, "pull"));
  }

  // Numeric tags of `name`, sorted; empty when the repository does not exist.
  std::vector<int> version_tags(const std::string& name) {
    std::vector<int> out;
    std::string url = m_base + "/v2/" + repository(name) + "/tags/list?n=1000";
    for (int page = 0; page < 1000 && !url.empty(); ++page) {
      HttpResponse r = send({.method = "GET", .url = url}, scope(name, "pull"));
      if (r.status == 404) return {};
      expect(r, {200}, fmt::format("list the versions of {}", name));
      const json body = json::parse(r.body, nullptr, false);
      if (body.is_discarded()) throw Error(ErrorKind::store, "{}: tag list is not JSON", location());
      const json tags = body.value("tags", json::array());
      for (const auto& tag : tags.is_array() ? tags : json::array()) {
        const std::string t = tag.get<std::string>();
        if (!t.empty() && t.size() <= 9 && t[0] != '0' && std::all_of(t.begin(), t.end(), ::isdigit)) {
          out.push_back(std::stoi(t));
        }
      }
      url = next_link(r);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  void expect(const HttpResponse& r, std::initializer_list<long> ok, const std::string& what) const {
    for (long status : ok) {
      if (r.status == status) return;
    }
    if (r.status == 401 || r.status == 403) {
      throw Error(ErrorKind::store, "{}: cannot {}: access denied (HTTP {}{}){}", location(), what, r.status,
                  m_credentials.empty() ? "" : ", user " + m_credentials.user + " from " + m_credentials.source,
                  m_credentials.empty() ? "; set ZOO_REGISTRY_USER and ZOO_REGISTRY_PASSWORD" : "");
    }
    throw Error(ErrorKind::store, "{}: cannot {}: HTTP {}: {}", location(), what, r.status, registry_reason(r));
  }

  void backoff(int attempt, const std::string& why) const {
    const auto delay = std::chrono::milliseconds(500 << attempt);
    util::warn(fmt::format("{}; retrying in {:.1f} s", why, delay.count() / 1000.0));
    std::this_thread::sleep_for(delay);
  }

  // Sends with authorization, answering 401 challenges (basic, or a bearer
  // token for `scope`), and retries transport errors and 5xx/429 with
  // backoff when `retry`.
  HttpResponse send(HttpRequest request, const std::string& scope, bool retry = true) {
    const size_t base_headers = request.headers.size();
    bool authenticated_now = false;
    for (int attempt = 0;; ++attempt) {
      request.headers.resize(base_headers);
      if (!m_authorization.empty()) request.headers.push_back("Authorization: " + m_authorization);
      HttpResponse r;
      try {
        r = m_http.perform(request);
      } catch (const HttpTransportError& e) {
        if (!e.transient()) throw;
        if (retry && attempt < 3) {
          backoff(attempt, e.what());
          continue;
        }
        throw Error(ErrorKind::store, "{} (gave up after {} attempts)", e.what(), attempt + 1);
      }
      if (r.status == 401 && !authenticated_now) {
        authenticate(r.header("www-authenticate"), scope);
        authenticated_now = true;
        continue;
      }
      if (retry && attempt < 3 && (r.status >= 500 || r.status == 429)) {
        backoff(attempt, fmt::format("HTTP {}", r.status));
        continue;
      }
      return r;
    }
  }

  void authenticate(const std::string& challenge, const std::string& scope) {
    const std::string scheme = util::to_lower(challenge.substr(0, challenge.find(' ')));
    auto need_credentials = [&] {
      if (m_credentials.empty()) {
        throw Error(ErrorKind::store, "{}: the registry asks for a login: set ZOO_REGISTRY_USER and "
                    "ZOO_REGISTRY_PASSWORD (or log in with docker, ~/.docker/config.json)", location());
      }
    };
    const std::string basic = "Basic " + util::base64_encode(m_credentials.user + ":" + m_credentials.password);
    if (scheme == "basic") {
      need_credentials();
      if (m_authorization == basic) return;  // already sent: the 401 stands (expect() reports it)
      m_authorization = basic;
      return;
    }
    if (scheme != "bearer") {
      throw Error(ErrorKind::store, "{}: unsupported authentication scheme \"{}\"", location(), scheme);
    }
    const auto params = challenge_params(challenge);
    const auto realm = params.find("realm");
    if (realm == params.end()) throw Error(ErrorKind::store, "{}: bearer challenge without a realm", location());
    check_realm(realm->second);
    std::string url = realm->second + (realm->second.find('?') == std::string::npos ? "?" : "&");
    if (params.count("service")) url += "service=" + url_encode(params.at("service")) + "&";
    url += "scope=" + url_encode(params.count("scope") ? params.at("scope") : scope);
    HttpRequest token_request{.method = "GET", .url = url};
    if (!m_credentials.empty()) token_request.headers.push_back("Authorization: " + basic);
    const HttpResponse r = m_http.perform(token_request);
    if (r.status == 401 || r.status == 403) {
      need_credentials();
      throw Error(ErrorKind::store, "{}: login failed for user {} (from {})", location(), m_credentials.user,
                  m_credentials.source);
    }
    if (r.status != 200) {
      throw Error(ErrorKind::store, "{}: token service answered HTTP {}: {}", location(), r.status, registry_reason(r));
    }
    const json body = json::parse(r.body, nullptr, false);
    std::string token;
    if (body.is_object()) token = body.value("token", body.value("access_token", ""));
    if (token.empty()) throw Error(ErrorKind::store, "{}: token service sent no token", location());
    m_authorization = "Bearer " + token;
  }

  // A token service the registry names may receive the user's password:
  // it must be on the registry's own host (or one the user allows in
  // ZOO_REGISTRY_AUTH_HOSTS, comma-separated, e.g. auth.docker.io), and
  // credentials go only over https (plain http only to loopback, as
  // --insecure rules for registries). Checked before anything is sent.
  void check_realm(const std::string& realm) const {
    const size_t scheme_end = realm.find("://");
    const std::string scheme = scheme_end == std::string::npos ? "" : util::to_lower(realm.substr(0, scheme_end));
    std::string host = scheme_end == std::string::npos ? "" : realm.substr(scheme_end + 3);
    host = host.substr(0, host.find_first_of("/?#"));
    if (const size_t at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
    if (!host.empty() && host[0] == '[') {
      host = host.substr(1, host.find(']') - 1);  // [::1]:5000
    } else {
      host = host.substr(0, host.find(':'));
    }
    host = util::to_lower(host);
    if ((scheme != "https" && scheme != "http") || host.empty()) {
      throw Error(ErrorKind::store, "{}: the registry names a token service that is not an http(s) URL: {}", location(),
                  realm);
    }
    if (host != util::to_lower(m_location.hostname) && !allowed_auth_host(host)) {
      throw Error(ErrorKind::store,
                  "{}: the registry sends logins to another host, {} (realm {}); nothing was sent. If that host is "
                  "the registry's token service, allow it: ZOO_REGISTRY_AUTH_HOSTS={}",
                  location(), host, realm, host);
    }
    if (scheme == "http" && !m_credentials.empty() && !is_loopback(host)) {
      throw Error(ErrorKind::store,
                  "{}: the registry's token service {} is plain http: zoo sends a password only over https "
                  "(plain http only to loopback); nothing was sent",
                  location(), realm);
    }
  }

  static bool allowed_auth_host(const std::string& host) {
    const char* allowed = std::getenv("ZOO_REGISTRY_AUTH_HOSTS");
    if (!allowed) return false;
    std::string list = allowed;
    size_t start = 0;
    while (start <= list.size()) {
      const size_t end = std::min(list.find(',', start), list.size());
      std::string item = list.substr(start, end - start);
      while (!item.empty() && item.back() == ' ') item.pop_back();
      while (!item.empty() && item.front() == ' ') item.erase(item.begin());
      if (util::to_lower(item) == host) return true;
      start = end + 1;
    }
    return false;
  }

  Location m_location;
  HttpClient m_http;
  std::string m_base;
  Credentials m_credentials;
  std::string m_authorization;  // the current Authorization header value
};

}  // namespace

std::unique_ptr<Store> open_registry_store(const Location& location, const RemoteOptions& options) {
  return std::make_unique<RegistryStore>(location, options);
}

}  // namespace zoo::store

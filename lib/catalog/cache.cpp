#include "catalog/cache.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "store/http.hpp"
#include "util/env.hpp"
#include "util/error.hpp"
#include "util/file_lock.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/process.hpp"
#include "util/sha256.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace zoo::catalog {
namespace {


std::string expected_text(const SourceFile& file) {
  return file.sha256.empty() ? fmt::format("a sha256 starting {} (the prefix in its published name, as torch.hub "
                                           "checks)", file.sha256_prefix)
                             : "sha256 " + file.sha256;
}

bool digest_matches(const SourceFile& file, const std::string& actual) {
  return file.sha256.empty() ? actual.rfind(file.sha256_prefix, 0) == 0 : actual == file.sha256;
}

// Where a file comes from, for messages.
std::string origin(const Entry& entry, const SourceFile& file) {
  return entry.npm.empty() ? mirrored_url(file.url) : fmt::format("{} in npm package {}", file.package_path, entry.npm);
}

// Checks a fetched file; a mismatch deletes it and throws.
std::string verify_or_discard(const Entry& entry, const SourceFile& file, const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  const std::string actual = util::sha256_file(path.string());
  if (digest_matches(file, actual) && (file.size < 0 || static_cast<int64_t>(size) == file.size)) return actual;
  fs::remove(path, ec);
  throw Error(ErrorKind::store,
              "{}: file {} of model {} does not match the manifest ({}): expected {}{}, got sha256 {} ({} bytes); "
              "it was deleted, nothing was kept in the cache",
              origin(entry, file), file.name, entry.name, file.where, expected_text(file),
              file.size >= 0 ? fmt::format(" and {} bytes", file.size) : "", actual, size);
}

// source.json: where each file came from and its full digest, so later uses
// check the whole digest even where the manifest publishes a prefix.
json read_record(const fs::path& dir) {
  try {
    return json::parse(util::read_file((dir / "source.json").string()));
  } catch (const std::exception&) {
    return json();
  }
}

// True when every file the record names is there, at its size and digest.
bool intact(const Entry& entry, const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir / "model.yaml", ec)) return false;
  const json record = read_record(dir);
  if (!record.is_object() || !record.contains("files")) return false;
  for (const auto& file : entry.files) {
    const auto it = std::find_if(record["files"].begin(), record["files"].end(),
                                 [&](const json& f) { return f.value("name", "") == file.name; });
    if (it == record["files"].end()) return false;
    const fs::path path = dir / file.name;
    const std::string digest = it->value("sha256", "");
    if (!digest_matches(file, digest)) return false;  // the manifest changed since
    if (fs::file_size(path, ec) != it->value("size", uint64_t(0)) || ec) return false;
    if (util::sha256_file(path.string()) != digest) return false;
  }
  return true;
}

// HTTP status reasons for messages.
std::string status_text(long status) {
  switch (status) {
    case 401: return " Unauthorized";
    case 403: return " Forbidden";
    case 404: return " Not Found";
    case 416: return " Range Not Satisfiable";
    case 500: return " Internal Server Error";
    case 502: return " Bad Gateway";
    case 503: return " Service Unavailable";
    default: return "";
  }
}

std::string megabytes(int64_t bytes) { return fmt::format("{:.1f} MB", bytes / 1e6); }

// One attempt at the rest of `part`. Returns true when the transfer ended
// normally (the caller verifies); throws for HTTP errors; returns false with
// `problem` set when the connection failed (`progressed` says whether any
// bytes arrived).
bool transfer(store::HttpClient& client, const std::string& url, const SourceFile& file, const fs::path& part,
              util::Progress& progress, std::string& problem, bool& progressed) {
  std::error_code ec;
  int64_t offset = fs::exists(part, ec) ? static_cast<int64_t>(fs::file_size(part, ec)) : 0;
  if (file.size >= 0 && offset > file.size) offset = 0;  // longer than the file: start again
  std::FILE* out = std::fopen(part.string().c_str(), offset > 0 ? "ab" : "wb");
  if (!out) throw Error(ErrorKind::io, "{}: cannot write: {}", part.string(), std::strerror(errno));
  int64_t written = offset;
  std::string write_error;
  store::HttpRequest request;
  request.url = url;
  if (offset > 0) request.headers.push_back(fmt::format("Range: bytes={}-", offset));
  request.sink_accepts = [&](long status) {
    if (status == 200 && written > 0) {
      // The server sent the whole file instead of the range: start again.
      if (std::fflush(out) != 0 || ftruncate(fileno(out), 0) != 0 || std::fseek(out, 0, SEEK_SET) != 0) return false;
      written = 0;
    }
    return status == 200 || status == 206;
  };
  request.sink = [&](const char* data, size_t size) {
    if (std::fwrite(data, 1, size, out) != size) {
      write_error = std::strerror(errno);
      return false;
    }
    written += static_cast<int64_t>(size);
    progressed = true;
    progress.update(static_cast<size_t>(written));
    return true;
  };
  store::HttpResponse response;
  try {
    response = client.perform(request);
  } catch (const store::HttpTransportError& e) {
    std::fclose(out);
    if (!write_error.empty()) throw Error(ErrorKind::io, "{}: cannot write: {}", part.string(), write_error);
    problem = e.what();
    return false;
  }
  if (std::fclose(out) != 0 || !write_error.empty()) {
    throw Error(ErrorKind::io, "{}: cannot write: {}", part.string(), write_error.empty() ? std::strerror(errno) : write_error);
  }
  if (response.status == 206) {
    const std::string range = response.header("content-range");
    if (range.rfind(fmt::format("bytes {}-", offset), 0) != 0) {
      fs::remove(part, ec);
      throw Error(ErrorKind::store, "{}: asked for bytes {}- and got \"{}\"; the partial download was deleted, run "
                  "again to start over", url, offset, range);
    }
    return true;
  }
  if (response.status == 416 && file.size >= 0 && offset == file.size) return true;  // already whole
  if (response.status != 200) {
    if (response.status == 416) fs::remove(part, ec);
    throw Error(ErrorKind::store, "{}: HTTP {}{} for file {}", url, response.status, status_text(response.status),
                file.name);
  }
  return true;
}

// Returns the downloaded file's sha256.
std::string download_url(const Entry& entry, const SourceFile& file, const fs::path& dir, const FetchOptions& options) {
  const std::string url = mirrored_url(file.url);
  const fs::path part = dir / (file.name + ".part");
  store::HttpOptions http;
  http.stall_seconds = options.stall_seconds;
  store::HttpClient client(http);
  std::error_code ec;
  const int64_t kept = fs::exists(part, ec) ? static_cast<int64_t>(fs::file_size(part, ec)) : 0;
  util::info(fmt::format("{}: downloading {}{}{}", entry.name, url,
                         file.size >= 0 ? " (" + megabytes(file.size) + ")" : "",
                         kept > 0 ? fmt::format(", resuming at byte {}", kept) : ""));
  util::Progress progress(options.progress, file.size > 0 ? static_cast<size_t>(file.size) : 0, "B");
  // A dropped connection that delivered bytes is resumed at once, up to 3
  // tries; one that delivered nothing (refused, stalled) ends the run.
  for (int attempt = 1;; ++attempt) {
    std::string problem;
    bool progressed = false;
    if (transfer(client, url, file, part, progress, problem, progressed)) break;
    const int64_t have = fs::exists(part, ec) ? static_cast<int64_t>(fs::file_size(part, ec)) : 0;
    if (!progressed || attempt == 3) {
      progress.finish();
      throw Error(ErrorKind::store, "{}: download of {} failed after {} of {}: {}; {} kept in {}: run the command "
                  "again to resume from there", url, file.name, have > 0 ? megabytes(have) : "0 bytes",
                  file.size >= 0 ? megabytes(file.size) : "unknown size", problem,
                  have > 0 ? "the part received is" : "nothing is", part.string());
    }
    util::warn(fmt::format("{}: {}; resuming at byte {}", url, problem, have));
  }
  progress.finish();
  const std::string digest = verify_or_discard(entry, file, part);
  fs::rename(part, dir / file.name, ec);
  if (ec) throw Error(ErrorKind::io, "{}: cannot move into place: {}", (dir / file.name).string(), ec.message());
  return digest;
}

// Fetches the package's tarball with the npm client (so the user's npm
// settings - registry mirror, proxy, cache - apply) and takes the files out;
// each file's sha256 goes to `digests`.
void download_npm(const Entry& entry, const std::vector<const SourceFile*>& files, const fs::path& dir,
                  std::map<std::string, std::string>& digests) {
  util::TempFolder scratch(".npm-" + entry.name, dir.parent_path().string());
  util::info(fmt::format("{}: fetching {} with npm pack", entry.name, entry.npm));
  const auto pack = util::run_process({"npm", "pack", "--silent", "--pack-destination", scratch.path(), entry.npm},
                                      scratch.path(), scratch.path());
  std::string tarball = util::trim(pack.out);
  if (const auto newline = tarball.find_last_of('\n'); newline != std::string::npos) tarball = tarball.substr(newline + 1);
  if (pack.status != 0 || tarball.empty()) {
    throw Error(ErrorKind::store, "npm pack {} failed (exit {}): {}", entry.npm, pack.status,
                util::trim(pack.err).empty() ? "no message" : util::trim(pack.err));
  }
  std::vector<std::string> tar = {"tar", "xzf", (fs::path(scratch.path()) / tarball).string(), "-C", scratch.path()};
  for (const auto* file : files) tar.push_back(file->package_path);
  const auto unpacked = util::run_process(tar, scratch.path(), scratch.path());
  if (unpacked.status != 0) {
    throw Error(ErrorKind::store, "{} from npm package {}: tar could not extract {}: {}", tarball, entry.npm,
                files.front()->package_path, util::trim(unpacked.err));
  }
  for (const auto* file : files) {
    const fs::path from = fs::path(scratch.path()) / file->package_path;
    digests[file->name] = verify_or_discard(entry, *file, from);
    std::error_code ec;
    fs::rename(from, dir / file->name, ec);
    if (ec) throw Error(ErrorKind::io, "{}: cannot move into place: {}", (dir / file->name).string(), ec.message());
  }
}

[[noreturn]] void refuse_offline(const Entry& entry, const std::vector<const SourceFile*>& missing, const fs::path& dir,
                                 const FetchOptions& options) {
  std::vector<std::string> lines;
  for (const auto* file : missing) {
    lines.push_back(fmt::format("  {} -> {}", origin(entry, *file), (dir / file->name).string()));
  }
  throw Error(ErrorKind::store,
              "model {} is not downloaded and downloads are off ({}). Fetch each file on a connected machine and "
              "place it at the path shown (it is checked before use):\n{}",
              entry.name, options.offline && util::env("ZOO_OFFLINE").empty() ? "--offline" : "ZOO_OFFLINE=1",
              util::join(lines, "\n"));
}

// Waits for, and holds, the lock on one entry's cache folder.
util::FileLock lock_entry(const Entry& entry) {
  const fs::path locks = fs::path(cache_root()) / "zoo" / ".locks";
  std::error_code ec;
  fs::create_directories(locks, ec);
  if (ec) throw Error(ErrorKind::io, "{}: cannot create the model cache: {}", locks.string(), ec.message());
  return util::FileLock((locks / (entry.name + ".lock")).string());
}

}  // namespace

std::string cache_root() {
  if (const std::string dir = util::env("ZOO_CACHE_DIR"); !dir.empty()) return dir;
  if (const std::string xdg = util::env("XDG_CACHE_HOME"); !xdg.empty()) return xdg + "/zoo";
  if (const std::string home = util::env("HOME"); !home.empty()) return home + "/.cache/zoo";
  return "/tmp/zoo-cache";
}

std::string model_dir(const Entry& entry) { return (fs::path(cache_root()) / "zoo" / entry.name).string(); }

bool is_downloaded(const Entry& entry) {
  std::error_code ec;
  return fs::exists(fs::path(model_dir(entry)) / "model.yaml", ec);
}

std::string mirrored_url(const std::string& url) {
  std::string mirror = util::env("ZOO_MODELS_MIRROR");
  if (mirror.empty()) return url;
  while (!mirror.empty() && mirror.back() == '/') mirror.pop_back();
  const auto scheme = url.find("://");
  const auto path = scheme == std::string::npos ? std::string::npos : url.find('/', scheme + 3);
  return mirror + (path == std::string::npos ? "/" : url.substr(path));
}

FetchOptions fetch_options_from_env() {
  FetchOptions options;
  const std::string offline = util::env("ZOO_OFFLINE");
  options.offline = !offline.empty() && offline != "0" && offline != "false" && offline != "no";
  if (const std::string stall = util::env("ZOO_DOWNLOAD_STALL_SECONDS"); !stall.empty()) {
    try {
      options.stall_seconds = std::max(1L, std::stol(stall));
    } catch (const std::exception&) {
      throw Error(ErrorKind::usage, "ZOO_DOWNLOAD_STALL_SECONDS: expected a number of seconds, got \"{}\"", stall);
    }
  }
  return options;
}

std::string ensure_downloaded(const Entry& entry, const FetchOptions& options) {
  const fs::path dir = model_dir(entry);
  if (intact(entry, dir)) return dir.string();
  std::error_code ec;
  // Another process fetching the same model holds this; once it is done, the
  // folder is complete and is used as it is.
  util::FileLock lock = lock_entry(entry);
  if (intact(entry, dir)) return dir.string();
  if (fs::exists(dir / "model.yaml", ec)) {
    util::warn(fmt::format("{}: the cached copy is incomplete or was modified; checking each file", dir.string()));
    fs::remove(dir / "model.yaml", ec);
  }
  fs::create_directories(dir, ec);
  if (ec) throw Error(ErrorKind::io, "{}: cannot create: {}", dir.string(), ec.message());

  json record = {{"name", entry.name}, {"manifest", entry.manifest}, {"files", json::array()}};
  if (!entry.npm.empty()) record["npm"] = entry.npm;
  std::vector<const SourceFile*> missing;
  std::map<std::string, std::string> digests;  // file name -> sha256, each file hashed once
  for (const auto& file : entry.files) {
    const fs::path path = dir / file.name;
    if (!fs::exists(path, ec)) {
      missing.push_back(&file);
      continue;
    }
    const std::string digest = util::sha256_file(path.string());
    if (!digest_matches(file, digest) || (file.size >= 0 && static_cast<int64_t>(fs::file_size(path, ec)) != file.size)) {
      util::warn(fmt::format("{}: does not match the manifest (sha256 {}); fetching it again", path.string(), digest));
      fs::remove(path, ec);
      missing.push_back(&file);
    } else {
      digests[file.name] = digest;
    }
  }
  if (!missing.empty()) {
    try {
      if (options.offline) refuse_offline(entry, missing, dir, options);
      if (!entry.npm.empty()) {
        download_npm(entry, missing, dir, digests);
      } else {
        for (const auto* file : missing) digests[file->name] = download_url(entry, *file, dir, options);
      }
    } catch (const Error&) {
      fs::remove(dir, ec);  // only when empty: a partial download stays to be resumed
      throw;
    }
  }
  for (const auto& file : entry.files) {
    const fs::path path = dir / file.name;
    record["files"].push_back({{"name", file.name},
                               {"from", origin(entry, file)},
                               {"sha256", digests.at(file.name)},
                               {"size", fs::file_size(path)}});
  }

  config::ModelConfig config = entry.config;
  config.weights = (dir / entry.weights_file).string();
  if (!entry.labels_name.empty()) {
    const auto& files = embedded_files();
    util::write_file_atomic((dir / entry.labels_name).string(), files.at(entry.labels_name));
    config.labels_path = (dir / entry.labels_name).string();
  }
  util::write_file_atomic((dir / "source.json").string(), record.dump(2) + "\n");
  // Last: model.yaml makes the folder complete.
  util::write_file_atomic((dir / "model.yaml").string(),
                          fmt::format("# {}: written by zoo from the manifest ({})\n", entry.name, entry.where) +
                              config::to_yaml(config, dir.string()));
  return dir.string();
}

bool remove_download(const Entry& entry) {
  const fs::path dir = model_dir(entry);
  std::error_code ec;
  if (!fs::exists(dir, ec)) return false;
  util::FileLock lock = lock_entry(entry);
  fs::remove_all(dir, ec);
  if (ec) throw Error(ErrorKind::io, "{}: cannot delete: {}", dir.string(), ec.message());
  return true;
}

}  // namespace zoo::catalog

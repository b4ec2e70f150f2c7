#include "catalog/manifest.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "util/env.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace zoo::catalog {
namespace {

const std::vector<std::string>& entry_keys() {
  static const std::vector<std::string> keys = {"name",       "task",  "description", "licence", "license", "homepage",
                                                "tags",       "parameters", "npm",   "files",   "config"};
  return keys;
}

const std::vector<std::string>& file_keys() {
  static const std::vector<std::string> keys = {"name", "url", "path", "sha256", "sha256_prefix", "size"};
  return keys;
}

const std::vector<std::string>& tasks() {
  static const std::vector<std::string> known = {"classification", "detection", "keypoints", "segmentation",
                                                 "instance-segmentation", "embeddings", "regression"};
  return known;
}

std::string where(const std::string& source, const YAML::Node& node) {
  const auto mark = node.Mark();
  if (mark.line < 0) return source;
  return fmt::format("{}:{}", source, mark.line + 1);
}

[[noreturn]] void fail(const std::string& source, const YAML::Node& node, const std::string& key,
                       const std::string& what) {
  throw Error(ErrorKind::config, "{}: key \"{}\": {}", where(source, node), key, what);
}

std::string text(const std::string& source, const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar() || node.Scalar().empty()) fail(source, node, key, "expected a non-empty string");
  return node.Scalar();
}

bool is_hex(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c) && !std::isupper(c); });
}

int64_t integer(const std::string& source, const YAML::Node& node, const std::string& key) {
  long long value = 0;
  if (!node.IsScalar() || !YAML::convert<long long>::decode(node, value) || value < 0) {
    fail(source, node, key, "expected a whole number >= 0");
  }
  return value;
}

// A model name: what a store reference or a path could never be.
void check_name(const std::string& source, const YAML::Node& node, const std::string& name) {
  const bool ok = !name.empty() && name.size() <= 128 && std::isalnum(static_cast<unsigned char>(name[0])) &&
                  std::all_of(name.begin(), name.end(), [](unsigned char c) {
                    return (std::isalnum(c) && !std::isupper(c)) || c == '-' || c == '_' || c == '.';
                  });
  if (!ok) {
    fail(source, node, "name", fmt::format("\"{}\" is not a model name (lowercase letters, digits, '-', '_', '.'; "
                                           "starting with a letter or digit)", name));
  }
}

SourceFile parse_file(const std::string& source, const YAML::Node& node, bool npm) {
  if (!node.IsMap()) {
    throw Error(ErrorKind::config, "{}: key \"files\": each file is a map {{url: ..., sha256: ...}}", where(source, node));
  }
  SourceFile file;
  file.where = where(source, node);
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const YAML::Node& value = kv.second;
    if (key == "name") {
      file.name = text(source, value, key);
      if (file.name.find('/') != std::string::npos || file.name == "." || file.name == ".." ||
          file.name == "model.yaml" || file.name == "source.json") {
        fail(source, value, key, fmt::format("\"{}\" cannot be a file name in the model's folder", file.name));
      }
    } else if (key == "url") {
      file.url = text(source, value, key);
      if (file.url.rfind("https://", 0) != 0 && file.url.rfind("http://", 0) != 0) {
        fail(source, value, key, fmt::format("expected an http:// or https:// URL, got \"{}\"", file.url));
      }
    } else if (key == "path") {
      file.package_path = text(source, value, key);
    } else if (key == "sha256") {
      file.sha256 = text(source, value, key);
      if (file.sha256.size() != 64 || !is_hex(file.sha256)) fail(source, value, key, "expected 64 lowercase hex digits");
    } else if (key == "sha256_prefix") {
      file.sha256_prefix = text(source, value, key);
      if (file.sha256_prefix.size() < 8 || file.sha256_prefix.size() > 64 || !is_hex(file.sha256_prefix)) {
        fail(source, value, key, "expected 8 to 64 lowercase hex digits");
      }
    } else if (key == "size") {
      file.size = integer(source, value, key);
    } else {
      throw Error(ErrorKind::config, "{}: unknown key \"files.{}\"{} (known: {})", where(source, kv.first), key,
                  util::did_you_mean(key, file_keys()), util::join(file_keys(), ", "));
    }
  }
  if (npm) {
    if (file.package_path.empty() || !file.url.empty()) {
      throw Error(ErrorKind::config, "{}: key \"files\": an npm entry's files are paths inside the package "
                  "(path: package/...), not URLs", file.where);
    }
  } else if (file.url.empty() || !file.package_path.empty()) {
    throw Error(ErrorKind::config, "{}: key \"files\": each file needs a url (or give the entry an npm package "
                "and the file's path inside it)", file.where);
  }
  if (file.sha256.empty() && file.sha256_prefix.empty()) {
    throw Error(ErrorKind::config, "{}: key \"files\": give the file's sha256 (or, for a file whose name carries "
                "it, sha256_prefix): an unchecked download is never used", file.where);
  }
  if (!file.sha256.empty() && !file.sha256_prefix.empty() && file.sha256.rfind(file.sha256_prefix, 0) != 0) {
    throw Error(ErrorKind::config, "{}: key \"files\": sha256 and sha256_prefix disagree", file.where);
  }
  if (file.name.empty()) {
    const std::string& from = npm ? file.package_path : file.url;
    std::string base = from.substr(from.find_last_of('/') + 1);
    if (const auto query = base.find_first_of("?#"); query != std::string::npos) base.resize(query);
    if (base.empty()) {
      throw Error(ErrorKind::config, "{}: key \"files\": \"{}\" ends without a file name: give name:", file.where, from);
    }
    file.name = base;
  }
  return file;
}

// The raw value of the config's weights key (under any of its spellings).
std::optional<YAML::Node> weights_node(const YAML::Node& config) {
  for (const char* key : {"weights", "weights_path", "model_path"}) {
    if (config[key]) return config[key];
  }
  return std::nullopt;
}

Entry parse_entry(const YAML::Node& node, const std::string& source, const std::string& base_dir,
                  const std::map<std::string, std::string>& named_labels) {
  if (!node.IsMap()) throw Error(ErrorKind::config, "{}: each entry of \"models\" is a map", where(source, node));
  Entry entry;
  entry.manifest = source;
  entry.where = where(source, node);
  YAML::Node files, config;
  std::set<std::string> seen;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) throw Error(ErrorKind::config, "{}: a key must be a plain name", where(source, kv.first));
    std::string key = kv.first.Scalar();
    if (key == "license") key = "licence";
    if (!seen.insert(key).second) throw Error(ErrorKind::config, "{}: key \"{}\" given twice", where(source, kv.first), key);
    const YAML::Node& value = kv.second;
    if (key == "name") {
      entry.name = text(source, value, key);
      check_name(source, value, entry.name);
    } else if (key == "task") {
      entry.task = text(source, value, key);
      if (std::find(tasks().begin(), tasks().end(), entry.task) == tasks().end()) {
        fail(source, value, key, fmt::format("unknown task \"{}\" (known: {}){}", entry.task, util::join(tasks(), ", "),
                                             util::did_you_mean(entry.task, tasks())));
      }
    } else if (key == "description") {
      entry.description = text(source, value, key);
    } else if (key == "licence") {
      entry.licence = text(source, value, key);
    } else if (key == "homepage") {
      entry.homepage = text(source, value, key);
    } else if (key == "tags") {
      if (!value.IsSequence()) fail(source, value, key, "expected a list of strings");
      for (const auto& tag : value) entry.tags.push_back(text(source, tag, key));
    } else if (key == "parameters") {
      entry.parameters = integer(source, value, key);
    } else if (key == "npm") {
      entry.npm = text(source, value, key);
      const auto at = entry.npm.rfind('@');
      if (at == std::string::npos || at == 0 || at + 1 == entry.npm.size()) {
        fail(source, value, key, fmt::format("expected PACKAGE@VERSION (a pinned version), got \"{}\"", entry.npm));
      }
    } else if (key == "files") {
      if (!value.IsSequence() || value.size() == 0) fail(source, value, key, "expected a non-empty list of files");
      files = value;
    } else if (key == "config") {
      config = value;
    } else {
      throw Error(ErrorKind::config, "{}: unknown key \"{}\"{} (known: {})", where(source, kv.first), key,
                  util::did_you_mean(key, entry_keys()), util::join(entry_keys(), ", "));
    }
  }
  for (const char* required : {"name", "task", "description", "licence", "files", "config"}) {
    if (!seen.count(required)) {
      throw Error(ErrorKind::config, "{}: entry{} has no \"{}\"", entry.where,
                  entry.name.empty() ? "" : " \"" + entry.name + "\"", required);
    }
  }
  for (const auto& item : files) {
    entry.files.push_back(parse_file(source, item, !entry.npm.empty()));
    for (size_t i = 0; i + 1 < entry.files.size(); ++i) {
      if (entry.files[i].name == entry.files.back().name) {
        throw Error(ErrorKind::config, "{}: key \"files\": two files are named \"{}\" (give one a name:)",
                    entry.files.back().where, entry.files.back().name);
      }
    }
  }

  if (!config.IsMap()) fail(source, config, "config", "expected a map of model config keys");
  const auto weights = weights_node(config);
  if (!weights || !weights->IsScalar()) {
    throw Error(ErrorKind::config, "{}: key \"config\": give weights: one of the entry's files", where(source, config));
  }
  entry.weights_file = weights->Scalar();
  if (std::none_of(entry.files.begin(), entry.files.end(),
                   [&](const SourceFile& f) { return f.name == entry.weights_file; })) {
    std::vector<std::string> names;
    for (const auto& f : entry.files) names.push_back(f.name);
    fail(source, *weights, "config.weights",
         fmt::format("\"{}\" is not one of the entry's files ({})", entry.weights_file, util::join(names, ", ")));
  }
  config::ParseOptions options;
  options.require_weights = false;
  options.named_labels = &named_labels;
  entry.config = config::parse_model_config(config, source, base_dir, options);
  if (entry.config.name.empty()) entry.config.name = entry.name;
  if (const YAML::Node labels = config["labels_path"]; labels && labels.IsScalar()) {
    if (named_labels.count(labels.Scalar())) {
      entry.labels_name = labels.Scalar();
    } else {
      entry.labels_file = fs::absolute(entry.config.labels_path).lexically_normal().string();
    }
  }
  YAML::Emitter out;
  out << config;
  entry.config_yaml = std::string(out.c_str()) + "\n";
  return entry;
}


// Throws when `entries` already define `entry`'s name, naming both places.
void check_new_name(const std::vector<Entry>& entries, const Entry& entry) {
  for (const auto& other : entries) {
    if (other.name == entry.name) {
      throw Error(ErrorKind::config, "{}: model \"{}\" is already defined at {}", entry.where, entry.name, other.where);
    }
  }
}

}  // namespace

int64_t Entry::total_size() const {
  int64_t total = 0;
  for (const auto& file : files) {
    if (file.size < 0) return -1;
    total += file.size;
  }
  return total;
}

std::vector<Entry> parse_manifest(const std::string& text, const std::string& source, const std::string& base_dir,
                                  const std::map<std::string, std::string>& named_labels) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw Error(ErrorKind::config, "{}:{}:{}: invalid YAML: {}", source, e.mark.line + 1, e.mark.column + 1, e.msg);
  }
  if (!root.IsMap() || !root["models"] || !root["models"].IsSequence()) {
    throw Error(ErrorKind::config, "{}: expected a map with \"models\": a list of entries (name, task, description, "
                "licence, files, config)", source);
  }
  for (const auto& kv : root) {
    if (kv.first.Scalar() != "models") {
      throw Error(ErrorKind::config, "{}: unknown key \"{}\" (a manifest holds only \"models\")", where(source, kv.first),
                  kv.first.Scalar());
    }
  }
  std::vector<Entry> entries;
  for (const auto& item : root["models"]) {
    Entry entry = parse_entry(item, source, base_dir, named_labels);
    check_new_name(entries, entry);
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::vector<std::string> user_manifest_paths() {
  std::vector<std::string> paths;
  if (const std::string list = util::env("ZOO_MANIFEST"); !list.empty()) {
    std::stringstream in(list);
    std::string path;
    while (std::getline(in, path, ':')) {
      if (!path.empty()) paths.push_back(path);
    }
    return paths;
  }
  std::string config_home = util::env("XDG_CONFIG_HOME");
  if (config_home.empty() && !util::env("HOME").empty()) config_home = util::env("HOME") + "/.config";
  if (config_home.empty()) return paths;
  const std::string path = config_home + "/zoo/models.yaml";
  std::error_code ec;
  if (fs::exists(path, ec)) paths.push_back(path);
  return paths;
}

const std::vector<Entry>& manifest() {
  static const std::vector<Entry> entries = [] {
    std::map<std::string, std::string> labels;
    std::vector<std::pair<std::string, std::string>> manifests;
    for (const auto& [name, text] : embedded_files()) {
      if (name.size() > 5 && name.substr(name.size() - 5) == ".yaml") {
        manifests.emplace_back(name, text);
      } else {
        labels[name] = text;
      }
    }
    std::vector<Entry> all;
    auto add = [&](std::vector<Entry> more) {
      for (auto& entry : more) {
        check_new_name(all, entry);
        all.push_back(std::move(entry));
      }
    };
    for (const auto& [name, text] : manifests) add(parse_manifest(text, "built-in configs/zoo/" + name, "/", labels));
    for (const auto& path : user_manifest_paths()) {
      std::ifstream in(path);
      if (!in) {
        throw Error(ErrorKind::config, "{}: cannot read the model manifest{}", path,
                    util::env("ZOO_MANIFEST").empty() ? "" : " (named by ZOO_MANIFEST)");
      }
      std::stringstream text;
      text << in.rdbuf();
      std::string base = fs::absolute(path).parent_path().string();
      add(parse_manifest(text.str(), path, base, labels));
    }
    return all;
  }();
  return entries;
}

const Entry* find_entry(const std::string& name) {
  for (const auto& entry : manifest()) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

std::string closest_entries(const std::string& name) {
  std::vector<std::string> names;
  for (const auto& entry : manifest()) names.push_back(entry.name);
  return util::did_you_mean(name, names);
}

const Entry& require_entry(const std::string& name) {
  const std::string bare = name.rfind("zoo:", 0) == 0 ? name.substr(4) : name;
  if (const Entry* entry = find_entry(bare)) return *entry;
  throw Error(ErrorKind::usage, "no zoo model named \"{}\"{} (zoo models list shows them)", bare,
              closest_entries(bare));
}

}  // namespace zoo::catalog

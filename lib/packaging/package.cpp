// Packaging models as store versions, copying versions between stores, and
// unpacking them into runnable folders.
#include "packaging/package.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <optional>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "config/model_config.hpp"
#include "catalog/manifest.hpp"
#include "inference/inspect.hpp"
#include "inference/model_kinds.hpp"
#include "models/version.hpp"
#include "util/env.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/json_text.hpp"
#include "util/log.hpp"
#include "util/sha256.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

namespace zoo::packaging {

using namespace store;  // the store's types and media types, used throughout

namespace {

constexpr int64_t k_max_card_bytes = 16 << 20;

// What a card's metadata may hold (--meta, --meta-file, a training record):
// checked before anything is written, so one version's card can never be
// too large or too deep for zoo ls and zoo load to read.
constexpr int64_t k_max_metadata_bytes = 1 << 20;  // as JSON, and a --meta-file's size
constexpr int k_max_metadata_depth = 32;            // nested lists and maps
constexpr int64_t k_max_metadata_values = 100000;   // after YAML aliases are expanded

// The deepest nesting of [ and { in JSON or YAML flow text, outside quoted
// strings, counted before a parser (yaml-cpp's recurses) sees the text.
int bracket_depth(const std::string& text) {
  int depth = 0;
  int deepest = 0;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote) {
      if (c == '\\' && quote == '"') ++i;
      else if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

// Throws zoo::Error(usage) naming `what` when `value` nests deeper than
// k_max_metadata_depth (it looks no deeper than that).
void check_depth(const json& value, const std::string& what, int depth = 0) {
  if (depth > k_max_metadata_depth) {
    throw Error(ErrorKind::usage, "{}: nests more than {} levels deep, more than a model card's metadata may", what,
                k_max_metadata_depth);
  }
  if (value.is_structured()) {
    for (const auto& item : value) check_depth(item, what, depth + 1);
  }
}


// A temporary folder beside `parent` ("" = the system's), removed with
// everything in it unless released.
util::TempFolder temp_folder(const std::string& parent = "") {
  return util::TempFolder(".zoo-" + std::to_string(::getpid()), parent);
}

// `node` as JSON. `budget` bounds the values made (YAML aliases can make a
// small file expand without end) and the depth: past either, throws
// zoo::Error(usage) naming `what`.
struct YamlBudget {
  std::string what;
  int64_t values = k_max_metadata_values;
};

json yaml_to_json(const YAML::Node& node, YamlBudget& budget, int depth = 0) {
  if (--budget.values < 0) {
    throw Error(ErrorKind::usage, "{}: expands to more than {} values (YAML aliases?), more than a model card's "
                "metadata may hold", budget.what, k_max_metadata_values);
  }
  if (depth > k_max_metadata_depth) {
    throw Error(ErrorKind::usage, "{}: nests more than {} levels deep, more than a model card's metadata may",
                budget.what, k_max_metadata_depth);
  }
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& item : node) out[item.first.as<std::string>()] = yaml_to_json(item.second, budget, depth + 1);
      return out;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) out.push_back(yaml_to_json(item, budget, depth + 1));
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string text = node.Scalar();
      if (node.Tag() == "!") return text;  // quoted
      int64_t i;
      double d;
      bool b;
      if (YAML::convert<int64_t>::decode(node, i)) return i;
      if (YAML::convert<double>::decode(node, d)) return d;
      if (YAML::convert<bool>::decode(node, b)) return b;
      return text;
    }
    default:
      return nullptr;
  }
}

std::string created_now() {
  std::time_t t = std::time(nullptr);
  // Reproducible builds' convention: a fixed clock gives identical digests.
  if (const std::string epoch = util::env("SOURCE_DATE_EPOCH"); !epoch.empty()) t = std::strtoll(epoch.c_str(), nullptr, 10);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

// `git rev-parse HEAD` of a folder, "" outside a repository.
std::string git_commit(const fs::path& dir) {
  const std::string command = fmt::format("git -C '{}' rev-parse HEAD 2>/dev/null", dir.string());
  if (dir.string().find('\'') != std::string::npos) return "";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return "";
  char buffer[128] = {};
  std::string out;
  if (std::fgets(buffer, sizeof buffer, pipe)) out = buffer;
  ::pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out.size() == 40 ? out : "";
}

json read_json_or_yaml(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (const auto bytes = fs::file_size(path, ec); !ec && bytes > uint64_t(k_max_metadata_bytes)) {
    throw Error(ErrorKind::usage, "{} {}: {} bytes, more than the {} a model card's metadata may hold", what, path,
                bytes, k_max_metadata_bytes);
  }
  const std::string text = util::read_file(path);
  if (const int depth = bracket_depth(text); depth > k_max_metadata_depth) {
    throw Error(ErrorKind::usage, "{} {}: nests {} levels deep, more than the {} a model card's metadata may", what,
                path, depth, k_max_metadata_depth);
  }
  try {
    return json::parse(text);
  } catch (const json::exception&) {
  }
  try {
    YamlBudget budget{fmt::format("{} {}", what, path)};
    json j = yaml_to_json(YAML::Load(text), budget);
    if (!j.is_object()) throw Error(ErrorKind::usage, "{} {}: expected a JSON or YAML object", what, path);
    return j;
  } catch (const YAML::Exception& e) {
    throw Error(ErrorKind::usage, "{} {}: neither JSON nor YAML: {}", what, path, e.what());
  }
}

// The metadata a card carries: what zoo knows, then the user's.
json collect_metadata(const fs::path& source_dir, const std::vector<std::string>& meta, const std::string& meta_file) {
  json m = {{"framework", {{"name", "torch"}, {"version", models::torch_version()}}}};
  if (const std::string commit = git_commit(source_dir); !commit.empty()) m["git_commit"] = commit;
  std::error_code ec;
  if (fs::exists(source_dir / "train.json", ec)) {
    const json train = read_json_or_yaml((source_dir / "train.json").string(), "training record");
    m["training"] = train;
    if (train.contains("options")) {
      const auto& o = train["options"];
      if (o.contains("data")) m["dataset"] = o["data"];
      if (o.contains("seed")) m["seed"] = o["seed"];
    }
  }
  if (fs::exists(source_dir / "metrics.json", ec)) {
    m["metrics"] = read_json_or_yaml((source_dir / "metrics.json").string(), "metrics");
  }
  if (!meta_file.empty()) {
    m.merge_patch(read_json_or_yaml(meta_file, "--meta-file"));
  }
  for (const auto& item : meta) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw Error(ErrorKind::usage, "--meta \"{}\": expected KEY=VALUE", item);
    }
    const std::string key = item.substr(0, eq);
    const std::string value = item.substr(eq + 1);
    json parsed = json::parse(value, nullptr, false);
    m[key] = parsed.is_discarded() ? json(value) : parsed;
  }
  check_depth(m, "the metadata");
  if (const size_t bytes = m.dump().size(); bytes > size_t(k_max_metadata_bytes)) {
    throw Error(ErrorKind::usage, "the metadata (--meta, --meta-file, the training record) is {} bytes as JSON, more "
                "than the {} a model card may hold", bytes, k_max_metadata_bytes);
  }
  return m;
}

// One file of a package: where it is now and what it will be called.
struct PackFile {
  std::string title;
  std::string path;
  std::string media_type;
  Descriptor descriptor;
};

std::string weights_media_type(const std::string& format) {
  if (format == "torchscript") return std::string(k_weights_media_type) + ".torchscript";
  if (format == "tfjs") return std::string(k_weights_media_type) + ".tfjs";
  if (format == "safetensors") return std::string(k_weights_media_type) + ".safetensors";
  return std::string(k_weights_media_type) + ".pytorch";
}

// A file name for a staged file: its own name when it is safe and not one
// of the package's fixed names (or `taken`), else `fallback`.
std::string staged_title(const fs::path& file, const std::string& taken, const std::string& fallback) {
  const std::string title = file.filename().string();
  if (!is_safe_file_name(title) || title == "model.yaml" || title == "labels.txt" || title == "card.json" ||
      title == taken) {
    return fallback;
  }
  return title;
}

// A config staged as a package: model.yaml, labels.txt, links to the
// weights and to the files its entrypoint_args name (and a tfjs model's
// weight shards).
struct Staged {
  config::ModelConfig config;   // pointing at the staged files
  std::string yaml;             // model.yaml's text
  std::string weights_title;    // "" = no weights
  std::vector<std::pair<std::string, std::string>> extra;  // (title, staged path) of the other files
};

// Links `file` into the stage as `title`; returns the staged path.
std::string stage_link(const fs::path& file, const fs::path& stage, const std::string& title) {
  std::error_code ec;
  fs::create_symlink(fs::absolute(file), stage / title, ec);
  if (ec) throw Error(ErrorKind::io, "{}: cannot stage: {}", file.string(), ec.message());
  return (stage / title).string();
}


// The weight shards a TensorFlow.js model.json names, beside it.
std::vector<std::string> tfjs_shard_names(const std::string& model_json) {
  json doc;
  try {
    doc = util::parse_json<json>(util::read_file(model_json));
  } catch (const json::exception& e) {
    throw Error(ErrorKind::model, "{}: not a TensorFlow.js model.json: {}", model_json, e.what());
  }
  std::vector<std::string> names;
  if (!doc.is_object() || !doc.contains("weightsManifest") || !doc["weightsManifest"].is_array()) {
    throw Error(ErrorKind::model, "{}: not a TensorFlow.js graph model (no weightsManifest)", model_json);
  }
  for (const auto& group : doc["weightsManifest"]) {
    if (!group.is_object() || !group.contains("paths") || !group["paths"].is_array()) continue;
    for (const auto& item : group["paths"]) names.push_back(item.is_string() ? item.get<std::string>() : "");
  }
  return names;
}

// A TensorFlow.js model.json's weight shards, staged beside it under the
// names its manifest gives them, so the staged model.json finds them.
void stage_tfjs_shards(const std::string& model_json, const fs::path& stage, Staged& staged) {
  for (const auto& shard : tfjs_shard_names(model_json)) {
    if (shard.empty() || staged_title(fs::path(shard), staged.weights_title, "") != shard) {
      throw Error(ErrorKind::model, "{}: weight shard \"{}\" is not a plain file name beside it, so it cannot be "
                  "stored", model_json, shard);
    }
    const fs::path file = fs::path(model_json).parent_path() / shard;
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) {
      throw Error(ErrorKind::model, "{}: weight shard {} is missing", model_json, file.string());
    }
    if (std::any_of(staged.extra.begin(), staged.extra.end(), [&](const auto& e) { return e.first == shard; })) continue;
    staged.extra.emplace_back(shard, stage_link(file, stage, shard));
  }
}

// Stages `config` as NAME's package in `stage`. A file named in
// entrypoint_args (the model kind's file_args: an OpenCV cascade) next to
// the config travels with it; a bare name found only in OpenCV's own folder
// stays a name, since every machine with opencv-data has it.
Staged stage_config(config::ModelConfig config, const std::string& name, const fs::path& stage) {
  Staged staged;
  const std::string original_weights = config.weights;
  if (!config.weights.empty()) {
    staged.weights_title = staged_title(config.weights, "", "weights" + fs::path(config.weights).extension().string());
    config.weights = stage_link(config.weights, stage, staged.weights_title);
  }
  if (config.entrypoint == "tfjs" && !config.weights.empty()) stage_tfjs_shards(original_weights, stage, staged);
  for (const std::string_view key : inference::model_kind(config).file_args) {
    const std::string arg(key);
    if (!config.entrypoint_args.contains(arg) || !config.entrypoint_args[arg].is_string()) continue;
    fs::path file = config.entrypoint_args[arg].get<std::string>();
    if (file.is_relative() && !config.source.empty()) file = fs::path(config.source).parent_path() / file;
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) continue;
    const std::string title = staged_title(file, staged.weights_title, arg + file.extension().string());
    staged.extra.emplace_back(title, stage_link(file, stage, title));
    config.entrypoint_args[arg] = title;
  }
  if (!config.classes.empty()) {
    std::string labels;
    for (const auto& label : config.classes) labels += label + "\n";
    util::write_file_atomic((stage / "labels.txt").string(), labels);
    config.labels_path = (stage / "labels.txt").string();
  }
  config.name = name;
  staged.yaml = config::to_yaml(config, stage.string());
  util::write_file_atomic((stage / "model.yaml").string(), staged.yaml);
  staged.config = std::move(config);
  return staged;
}

// The dry run: the packaged model must load and run; it gives the
// contract. Its warnings and errors name the user's files, not their
// staged copies.
inference::ModelReport dry_run(const Staged& staged, const config::ModelConfig& original, const fs::path& stage,
                               int threads) {
  inference::InspectOptions inspect;
  inspect.model = stage.string();
  inspect.threads = threads;
  const std::string user_config = original.source.empty() ? "the packaged config" : original.source;
  std::optional<util::MessageRewrite> weights_name;
  if (!staged.weights_title.empty()) weights_name.emplace(staged.config.weights, original.weights);
  const util::MessageRewrite config_name((stage / "model.yaml").string(), user_config);
  try {
    return inference::inspect(inspect);
  } catch (const Error& e) {
    throw Error(e.kind(), "the model does not load or run, so nothing was stored: {}", util::rewritten(e.what()));
  }
}

// The package's files with their descriptors, in manifest order.
std::vector<PackFile> pack_files(const Staged& staged, const std::string& weights_format, const fs::path& stage) {
  std::vector<PackFile> files;
  files.push_back({"model.yaml", (stage / "model.yaml").string(), k_config_media_type, {}});
  if (!staged.weights_title.empty()) {
    files.push_back({staged.weights_title, staged.config.weights, weights_media_type(weights_format), {}});
  }
  if (!staged.config.classes.empty()) {
    files.push_back({"labels.txt", staged.config.labels_path, k_labels_media_type, {}});
  }
  for (const auto& [title, path] : staged.extra) files.push_back({title, path, k_file_media_type, {}});
  for (auto& file : files) {
    file.descriptor.media_type = file.media_type;
    file.descriptor.digest = "sha256:" + util::sha256_file(file.path);
    file.descriptor.size = static_cast<int64_t>(fs::file_size(file.path));
    file.descriptor.annotations[k_title_annotation] = file.title;
  }
  return files;
}

// Stages `config` as NAME's package in `stage`, dry-runs it and publishes
// it as NAME's next version, its card holding `metadata`.
SaveResult publish_config(const config::ModelConfig& config, const std::string& name, const json& metadata,
                          const fs::path& stage, Store& store, int threads) {
  const Staged staged = stage_config(config, name, stage);
  const inference::ModelReport report = dry_run(staged, config, stage, threads);
  const std::vector<PackFile> files = pack_files(staged, report.weights_format, stage);
  for (const auto& file : files) {
    if (!store.has_blob(name, file.descriptor)) store.put_blob(name, file.descriptor, &file.path, nullptr);
  }

  YamlBudget budget{"the staged config"};
  const json config_json = yaml_to_json(YAML::Load(staged.yaml), budget);
  const json contract = json::parse(inference::contract_json(report.contract).dump());
  json file_list = json::array();
  for (const auto& file : files) {
    file_list.push_back({{"name", file.title}, {"digest", file.descriptor.digest}, {"size", file.descriptor.size},
                         {"media_type", file.media_type}});
  }
  const std::string created = created_now();
  int64_t total = 0;
  const VersionEntry entry = store.publish(name, 0, [&](int version) {
    const json card = {{"name", name},       {"version", version},       {"created", created},
                       {"zoo_version", ZOO_VERSION}, {"config", config_json}, {"labels", staged.config.classes},
                       {"contract", contract}, {"files", file_list},       {"metadata", metadata}};
    const std::string card_bytes = card.dump(2) + "\n";
    if (card_bytes.size() > size_t(k_max_card_bytes)) {  // metadata is bounded: only a huge labels list gets here
      throw Error(ErrorKind::usage, "the model card would be {} bytes, more than the {} zoo ls and zoo load read",
                  card_bytes.size(), k_max_card_bytes);
    }
    Manifest manifest;
    manifest.config = {k_card_media_type, digest_of(card_bytes), static_cast<int64_t>(card_bytes.size()), {}};
    store.put_blob(name, manifest.config, nullptr, &card_bytes);
    total = manifest.config.size;
    for (const auto& file : files) {
      manifest.layers.push_back(file.descriptor);
      total += file.descriptor.size;
    }
    manifest.annotations = {{k_created_annotation, created},
                            {k_name_annotation, name},
                            {k_version_annotation, std::to_string(version)}};
    return manifest.serialize();
  });
  SaveResult result;
  result.name = name;
  result.version = entry.version;
  result.digest = entry.digest;
  result.bytes = total;
  result.location = store.location();
  return result;
}

// Copies NAME:VERSION blob for blob, keeping its version and digest.
SaveResult copy_version(Store& from, const Resolved& source, Store& to) {
  util::TempFolder tmp = temp_folder();
  std::vector<Descriptor> blobs{source.manifest.config};
  blobs.insert(blobs.end(), source.manifest.layers.begin(), source.manifest.layers.end());
  SaveResult result;
  for (const auto& blob : blobs) {
    result.bytes += blob.size;
    if (to.has_blob(source.name, blob)) continue;
    const std::string path = (fs::path(tmp.path()) / digest_hex(blob.digest)).string();
    from.get_blob(source.name, blob, path);
    to.put_blob(source.name, blob, &path, nullptr);
    fs::remove(path);
  }
  if (source.version <= 0) {
    throw Error(ErrorKind::store, "{}@{}: no version number names it in {}, so it cannot be copied", source.name,
                source.digest, from.location());
  }
  for (const auto& existing : to.versions(source.name)) {
    if (existing.version == source.version && existing.digest == source.digest) result.existed = true;
  }
  const VersionEntry entry =
      to.publish(source.name, source.version, [&](int) { return source.manifest_bytes; });
  result.name = entry.name;
  result.version = entry.version;
  result.digest = entry.digest;
  result.location = to.location();
  result.copied = true;
  return result;
}

// Unpacks a resolved version into `dir` (which must not exist): files go to a
// temporary folder beside it that is renamed into place at the end.
// With `shared`, `dir` is a cache entry that another process may create at
// the same moment: theirs is kept (it holds the same verified content).
std::vector<std::string> unpack(Store& store, const Resolved& version, const fs::path& dir, bool shared = false) {
  const fs::path parent = dir.parent_path().empty() ? fs::path(".") : dir.parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  util::TempFolder tmp = temp_folder(parent.string());
  std::vector<std::string> files;
  for (const auto& layer : version.manifest.layers) {
    store.get_blob(version.name, layer, (fs::path(tmp.path()) / layer.title()).string());
    files.push_back(layer.title());
  }
  const std::string card = store.read_blob(version.name, version.manifest.config, k_max_card_bytes);
  util::write_file_atomic((fs::path(tmp.path()) / "card.json").string(), card);
  files.push_back("card.json");
  fs::permissions(tmp.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec, ec);
  if (::rename(tmp.path().c_str(), dir.c_str()) != 0) {
    const int err = errno;
    // Another process unpacking the same version into the cache got there first.
    if (shared && (err == ENOTEMPTY || err == EEXIST) && fs::exists(dir / "card.json", ec)) return files;
    throw Error(ErrorKind::io, "{}: cannot create: {}", dir.string(), std::strerror(err));
  }
  tmp.release();
  util::fsync_path(parent.string());
  return files;
}

bool looks_like_path(const std::string& model) {
  return model.find('/') != std::string::npos || model.ends_with(".yaml") || model.ends_with(".yml");
}

}  // namespace

SaveResult save_model(const SaveOptions& options) {
  std::error_code ec;
  const bool is_path = fs::exists(options.model, ec) || looks_like_path(options.model);
  auto to = open_store(options.store, options.remote);
  if (!is_path) {
    // A zoo model (zoo:NAME, or a NAME the source store lacks): its
    // downloaded folder, saved under its own name unless --name says.
    const std::string zoo_name = options.model.rfind("zoo:", 0) == 0 ? options.model.substr(4) : options.model;
    const catalog::Entry* entry = catalog::find_entry(zoo_name);
    auto from = open_store(options.from_store, options.remote);
    if (entry && (zoo_name != options.model || from->versions(zoo_name).empty())) {
      const std::string dir = resolve_model("zoo:" + zoo_name, options.from_store, options.remote);
      const std::string name = options.name.empty() ? zoo_name : options.name;
      validate_name(name);
      json metadata = collect_metadata(dir, options.meta, options.meta_file);
      metadata["zoo_model"] = zoo_name;
      metadata["licence"] = entry->licence;
      util::TempFolder stage = temp_folder();
      return publish_config(config::load_model_config(dir), name, metadata, fs::path(stage.path()), *to,
                            options.threads);
    }
    const Reference ref = parse_reference(options.model);
    const Resolved source = from->resolve(ref);
    if (options.name.empty() || options.name == source.name) {
      if (!options.meta.empty() || !options.meta_file.empty()) {
        throw Error(ErrorKind::usage,
                    "--meta and --meta-file cannot change a copied version ({}:{} keeps its card and digest); "
                    "give --name to save it as a new model",
                    source.name, source.version);
      }
      return copy_version(*from, source, *to);
    }
    validate_name(options.name);
    // A new name: unpack, then package it afresh with the old card's metadata.
    util::TempFolder tmp = temp_folder();
    const fs::path dir = fs::path(tmp.path()) / "model";
    unpack(*from, source, dir);
    json metadata = json::parse(util::read_file((dir / "card.json").string())).value("metadata", json::object());
    metadata.merge_patch(collect_metadata(dir, options.meta, options.meta_file));
    metadata["copied_from"] = fmt::format("{}@{}", source.name, source.digest);
    util::TempFolder stage = temp_folder();
    return publish_config(config::load_model_config(dir.string()), options.name, metadata, fs::path(stage.path()), *to,
                          options.threads);
  }
  if (options.name.empty()) throw Error(ErrorKind::usage, "zoo save: --name is required when MODEL is a config");
  validate_name(options.name);
  const config::ModelConfig config = config::load_model_config(options.model);
  const fs::path source_dir = fs::path(config.source).parent_path();
  json metadata = collect_metadata(source_dir.empty() ? fs::path(".") : source_dir, options.meta, options.meta_file);
  util::TempFolder stage = temp_folder();
  return publish_config(config, options.name, metadata, fs::path(stage.path()), *to, options.threads);
}

// zoo upload MODEL.json SHARD...: the shards given are the model's, beside it.
void check_tfjs_shards(const std::string& model_json, const std::vector<std::string>& shards) {
  const std::vector<std::string> names = tfjs_shard_names(model_json);
  const fs::path folder = fs::absolute(model_json).parent_path();
  for (const auto& shard : shards) {
    const std::string name = fs::path(shard).filename().string();
    if (std::find(names.begin(), names.end(), name) == names.end() ||
        fs::absolute(shard).parent_path().lexically_normal() != folder.lexically_normal()) {
      throw Error(ErrorKind::usage, "zoo upload: {} is not a weight shard of {} (it names {}, beside it)", shard,
                  model_json, util::join(names, ", "));
    }
  }
}

// The config of a TensorFlow.js graph uploaded without --config: its
// signature's input size, values 0-255.
std::string default_tfjs_config(const std::string& model_json) {
  const json doc = util::parse_json<json>(util::read_file(model_json));
  std::vector<int64_t> dims;
  if (doc.contains("signature") && doc["signature"].is_object() && doc["signature"].contains("inputs")) {
    for (const auto& [key, input] : doc["signature"]["inputs"].items()) {
      if (!input.contains("tensorShape") || !input["tensorShape"].contains("dim")) continue;
      for (const auto& d : input["tensorShape"]["dim"]) dims.push_back(std::stoll(d.value("size", std::string("-1"))));
      break;
    }
  }
  std::string yaml = "entrypoint: tfjs\nweights: " + json(fs::path(model_json).filename().string()).dump() + "\n";
  if (dims.size() == 4 && dims[1] > 0 && dims[2] > 0) {
    yaml += fmt::format("image_size: [{}, {}]\n", dims[1], dims[2]);
    if (dims[3] == 1) yaml += "image_channels: 1\n";
    util::warn(fmt::format("{}: no --config, so zoo assumes a classifier taking {}x{} images with values 0-255; give "
                           "--config to say otherwise", model_json, dims[1], dims[2]));
  } else {
    throw Error(ErrorKind::usage, "zoo upload: {} has no signature giving its input size: give --config", model_json);
  }
  return yaml + "image_mean: [0.0]\nimage_std: [0.00392156862745098]\n";
}

SaveResult upload_model(const UploadOptions& options) {
  if (options.name.empty()) throw Error(ErrorKind::usage, "zoo upload: --name is required");
  validate_name(options.name);
  std::string config_path = options.config;
  std::string weights, labels;
  std::vector<std::string> shards;  // a TensorFlow.js model's .bin files
  for (const auto& file : options.files) {
    if (const std::string problem = util::regular_file_problem(file, "a model file"); !problem.empty()) {
      throw Error(ErrorKind::io, "{}: {}", file, problem);
    }
    const std::string ext = fs::path(file).extension().string();
    if (ext == ".bin") {
      shards.push_back(file);
      continue;
    }
    std::string* slot = &weights;
    if (ext == ".yaml" || ext == ".yml") slot = &config_path;
    if (ext == ".txt") slot = &labels;
    if (!slot->empty() && slot != &config_path) {
      throw Error(ErrorKind::usage, "zoo upload: two {} files given ({} and {}); give one",
                  slot == &weights ? "weights" : "labels", *slot, file);
    }
    if (slot == &config_path && !config_path.empty() && config_path != file) {
      throw Error(ErrorKind::usage, "zoo upload: two configs given ({} and {}); give one", config_path, file);
    }
    *slot = file;
  }
  if (weights.empty()) {
    throw Error(ErrorKind::usage, "zoo upload: no weights file among the files (a TorchScript, .pt/.pth, .safetensors "
                "or a TensorFlow.js model.json)");
  }
  const bool tfjs = fs::path(weights).extension() == ".json";
  if (tfjs) check_tfjs_shards(weights, shards);
  if (!shards.empty() && !tfjs) {
    throw Error(ErrorKind::usage, "zoo upload: {} is a weight shard, but no TensorFlow.js model.json was given", shards[0]);
  }
  util::TempFolder stage = temp_folder();
  config::ModelConfig config;
  if (config_path.empty() && tfjs) {
    const std::string yaml = default_tfjs_config(weights);
    config = config::parse_model_config(yaml, "(default upload config)", fs::absolute(weights).parent_path().string());
  } else if (config_path.empty()) {
    util::warn(fmt::format("{}: no --config, so zoo assumes a TorchScript classifier taking 224x224 RGB images "
                           "normalised with ImageNet's mean and std; give --config to say otherwise",
                           weights));
    // A JSON string is a valid YAML double-quoted scalar.
    const std::string yaml = "entrypoint: torchscript\nweights: " + json(fs::path(weights).filename().string()).dump() +
                             "\noutput_processor: classifier\nimage_size: [224, 224]\n"
                             "image_mean: [0.485, 0.456, 0.406]\nimage_std: [0.229, 0.224, 0.225]\n";
    const fs::path dir = fs::absolute(weights).parent_path();
    config = config::parse_model_config(yaml, "(default upload config)", dir.string());
  } else {
    config = config::load_model_config(config_path);
  }
  config.weights = fs::absolute(weights).string();
  if (!labels.empty()) {
    config.classes = config::read_labels_file(labels);
    config.labels_path = fs::absolute(labels).string();
  }
  json metadata = collect_metadata(fs::absolute(weights).parent_path(), options.meta, options.meta_file);
  json sources = json::array();
  for (const auto& file : options.files) sources.push_back(fs::path(file).filename().string());
  metadata["uploaded_files"] = sources;
  auto to = open_store(options.store, options.remote);
  try {
    return publish_config(config, options.name, metadata, fs::path(stage.path()), *to, options.threads);
  } catch (const Error& e) {
    if (config_path.empty() && e.kind() == ErrorKind::model) {
      throw Error(ErrorKind::model, "{} (a state dict or safetensors file needs --config naming its entrypoint)",
                  e.what());
    }
    throw;
  }
}

LoadResult load_model(const LoadOptions& options) {
  const Reference ref = parse_reference(options.reference);
  const fs::path dir = options.out_dir;
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec) || !fs::is_empty(dir, ec)) {
      throw Error(ErrorKind::usage, "-o {}: exists and is not an empty folder; zoo load never overwrites",
                  dir.string());
    }
  }
  auto store = open_store(options.store, options.remote);
  const Resolved version = store->resolve(ref);
  LoadResult result;
  result.name = version.name;
  result.version = version.version;
  result.digest = version.digest;
  if (fs::exists(dir, ec)) fs::remove(dir, ec);  // an empty folder: replaced by the rename
  result.files = unpack(*store, version, dir);
  return result;
}

std::string resolve_model(const std::string& model, const std::string& store_spec, const RemoteOptions& remote,
                          const catalog::FetchOptions& fetch) {
  std::error_code ec;
  if (fs::exists(model, ec) || looks_like_path(model)) return model;
  // zoo:NAME is always the zoo's model.
  if (model.rfind("zoo:", 0) == 0) return catalog::ensure_downloaded(catalog::require_entry(model), fetch);
  const auto ref = try_parse_reference(model);
  if (!ref) return model;
  const catalog::Entry* entry = ref->version == 0 && ref->digest.empty() ? catalog::find_entry(model) : nullptr;
  Resolved version;
  std::unique_ptr<store::Store> store;
  try {
    store = open_store(store_spec, remote);
    version = store->resolve(*ref);
  } catch (const Error& e) {
    // Not in the store: a zoo name is the zoo's model.
    if (entry) return catalog::ensure_downloaded(*entry, fetch);
    throw Error(e.kind(), "{} (and there is no file or folder \"{}\", nor a zoo model of that name{})", e.what(),
                model, catalog::closest_entries(model));
  }
  if (entry) {
    throw Error(ErrorKind::usage, "\"{}\" names both a model in store {} (version {}) and a zoo model ({}): say "
                "{}:{} for the store's, or zoo:{} for the zoo's", model, store->location(), version.version,
                entry->where, model, version.version, model);
  }
  const fs::path dir = fs::path(catalog::cache_root()) / "models" / version.name / digest_hex(version.digest);
  if (fs::exists(dir / "card.json", ec)) {
    bool intact = true;
    for (const auto& layer : version.manifest.layers) {
      const fs::path file = dir / layer.title();
      if (fs::file_size(file, ec) != static_cast<uintmax_t>(layer.size) || ec ||
          "sha256:" + util::sha256_file(file.string()) != layer.digest) {
        intact = false;
      }
    }
    if (intact) return dir.string();
    util::warn(fmt::format("{}: cached copy of {} was modified; fetching it again", dir.string(), ref->str()));
    fs::remove_all(dir, ec);
  }
  unpack(*store, version, dir, true);
  return dir.string();
}

ordered_json list_models(const std::string& store_spec, const std::string& name, const RemoteOptions& remote) {
  auto store = open_store(store_spec, remote);
  std::vector<std::string> names;
  if (name.empty()) {
    names = store->names();
  } else {
    validate_name(name);
    names = {name};
  }
  ordered_json out = ordered_json::array();
  for (const auto& n : names) {
    const auto versions = store->versions(n);
    if (versions.empty() && !name.empty()) {
      throw Error(ErrorKind::store, "no model named \"{}\" in store {}", name, store->location());
    }
    for (const auto& v : versions) {
      // One unreadable version (a card too large, corrupt, missing) is
      // listed with its error; the others still are.
      try {
        Reference ref;
        ref.name = n;
        ref.version = v.version;
        const Resolved resolved = store->resolve(ref);
        const std::string card_bytes = store->read_blob(n, resolved.manifest.config, k_max_card_bytes);
        ordered_json card;
        try {
          card = ordered_json::parse(card_bytes);
        } catch (const json::exception& e) {
          throw Error(ErrorKind::store, "its card is not JSON: {}", e.what());
        }
        int64_t size = resolved.manifest.config.size;
        for (const auto& layer : resolved.manifest.layers) size += layer.size;
        out.push_back({{"name", n},
                       {"version", v.version},
                       {"digest", v.digest},
                       {"size", size},
                       {"created", card.value("created", "")},
                       {"metadata", card.value("metadata", ordered_json::object())}});
      } catch (const Error& e) {
        out.push_back({{"name", n}, {"version", v.version}, {"digest", v.digest}, {"error", e.what()}});
      }
    }
  }
  return out;
}

}  // namespace zoo::packaging

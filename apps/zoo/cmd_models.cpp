// zoo models list|info|download|rm|path: the zoo's named models (built-in
// manifest plus the user's), and their download cache.
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "catalog/cache.hpp"
#include "catalog/manifest.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "util/error.hpp"
#include "util/json_text.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace zoo::app {
namespace {

struct ModelsArgs {
  std::vector<std::string> names;
  bool json = false;
  bool offline = false;
  bool quiet = false;
  std::string progress = "auto";
  std::string task;  // list: only this task
};

// "44.7 MB", or "~44.7 MB" from the parameter count (fp32) when the file
// sizes are not published.
std::string size_text(const catalog::Entry& entry) {
  const int64_t size = entry.total_size();
  if (size >= 0) return fmt::format("{:.1f} MB", size / 1e6);
  if (entry.parameters > 0) return fmt::format("~{:.1f} MB", entry.parameters * 4 / 1e6);
  return "?";
}

nlohmann::ordered_json entry_json(const catalog::Entry& entry) {
  nlohmann::ordered_json files = nlohmann::ordered_json::array();
  for (const auto& file : entry.files) {
    nlohmann::ordered_json f = {{"name", file.name}};
    if (!file.url.empty()) f["url"] = catalog::mirrored_url(file.url);
    if (!file.package_path.empty()) f["path"] = file.package_path;
    if (!file.sha256.empty()) f["sha256"] = file.sha256;
    if (!file.sha256_prefix.empty()) f["sha256_prefix"] = file.sha256_prefix;
    if (file.size >= 0) f["size"] = file.size;
    files.push_back(f);
  }
  nlohmann::ordered_json out = {{"name", entry.name},
                                {"task", entry.task},
                                {"description", entry.description},
                                {"licence", entry.licence},
                                {"tags", entry.tags}};
  if (!entry.homepage.empty()) out["homepage"] = entry.homepage;
  if (entry.parameters > 0) out["parameters"] = entry.parameters;
  const int64_t size = entry.total_size();
  out["size"] = size >= 0 ? nlohmann::ordered_json(size) : nlohmann::ordered_json();
  if (!entry.npm.empty()) out["npm"] = entry.npm;
  out["files"] = files;
  out["manifest"] = entry.where;
  out["downloaded"] = catalog::is_downloaded(entry);
  out["path"] = catalog::model_dir(entry);
  out["config"] = entry.config_yaml;
  return out;
}

int run_list(const ModelsArgs& args) {
  std::vector<const catalog::Entry*> shown;
  for (const auto& entry : catalog::manifest()) {
    if (args.task.empty() || entry.task == args.task) shown.push_back(&entry);
  }
  if (args.json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto* entry : shown) {
      auto e = entry_json(*entry);
      e.erase("config");
      out.push_back(e);
    }
    fmt::print("{}\n", util::dump_json(out, 2));
    return 0;
  }
  fmt::print("{:<36} {:<15} {:>10}  {:<13} {}\n", "NAME", "TASK", "SIZE", "LICENCE", "DOWNLOADED");
  for (const auto* entry : shown) {
    fmt::print("{:<36} {:<15} {:>10}  {:<13} {}\n", entry->name, entry->task, size_text(*entry), entry->licence,
               catalog::is_downloaded(*entry) ? "yes" : "no");
  }
  fmt::print(stderr, "zoo: {}; cache: {}\n", util::count_of(static_cast<long long>(shown.size()), "model"),
             catalog::cache_root() + "/zoo");
  return 0;
}

int run_info(const ModelsArgs& args) {
  const auto& entry = catalog::require_entry(args.names.at(0));
  if (args.json) {
    fmt::print("{}\n", util::dump_json(entry_json(entry), 2));
    return 0;
  }
  fmt::print("name:        {}\ntask:        {}\ndescription: {}\nlicence:     {}\n", entry.name, entry.task,
             entry.description, entry.licence);
  if (!entry.homepage.empty()) fmt::print("homepage:    {}\n", entry.homepage);
  fmt::print("tags:        {}\n", util::join(entry.tags, ", "));
  if (entry.parameters > 0) fmt::print("parameters:  {}\n", entry.parameters);
  fmt::print("size:        {}\n", size_text(entry));
  if (!entry.npm.empty()) fmt::print("npm package: {} (fetched with npm pack)\n", entry.npm);
  fmt::print("files:\n");
  for (const auto& file : entry.files) {
    fmt::print("  {}\n    from {}\n    checked: {}\n", file.name,
               file.url.empty() ? file.package_path : catalog::mirrored_url(file.url),
               file.sha256.empty() ? "sha256 starts with " + file.sha256_prefix +
                                         " (the prefix its published name carries, as torch.hub checks; the full "
                                         "digest is recorded at download and checked on every later use)"
                                   : "sha256 " + file.sha256);
  }
  fmt::print("manifest:    {}\n", entry.where);
  fmt::print("cache:       {} ({})\n", catalog::model_dir(entry),
             catalog::is_downloaded(entry) ? "downloaded" : "not downloaded");
  fmt::print("config:\n");
  std::stringstream config(entry.config_yaml);
  for (std::string line; std::getline(config, line);) fmt::print("  {}\n", line);
  return 0;
}

int run_download(const ModelsArgs& args) {
  util::set_quiet(args.quiet);
  catalog::FetchOptions options = catalog::fetch_options_from_env();
  options.offline = options.offline || args.offline;
  options.progress = args.quiet ? util::ProgressMode::none : util::parse_progress_mode(args.progress);
  std::vector<const catalog::Entry*> entries;
  for (const auto& name : args.names) entries.push_back(&catalog::require_entry(name));
  for (const auto* entry : entries) fmt::print("{}\n", catalog::ensure_downloaded(*entry, options));
  return 0;
}

int run_rm(const ModelsArgs& args) {
  std::vector<const catalog::Entry*> entries;
  for (const auto& name : args.names) entries.push_back(&catalog::require_entry(name));
  for (const auto* entry : entries) {
    if (catalog::remove_download(*entry)) {
      util::info(fmt::format("{}: deleted {}", entry->name, catalog::model_dir(*entry)));
    } else {
      util::info(fmt::format("{}: not downloaded", entry->name));
    }
  }
  return 0;
}

int run_path(const ModelsArgs& args) {
  const auto& entry = catalog::require_entry(args.names.at(0));
  fmt::print("{}\n", catalog::model_dir(entry));
  return catalog::is_downloaded(entry) ? 0 : 1;
}

}  // namespace

Runner register_models(CLI::App& app) {
  auto args = std::make_shared<ModelsArgs>();
  app.require_subcommand(1, 1);
  app.footer(R"(Models by name: torchvision's ImageNet classifiers (FiftyOne's names, e.g.
resnet50-imagenet-torch) and pretrained TF.js graphs (centernet-coco,
blazeface, movenet-lightning, faceres, emotion, ...). A name works wherever a
MODEL goes (apply, embed, eval, inspect, bench, save, train): it is downloaded
once into $ZOO_CACHE_DIR/zoo (else $XDG_CACHE_HOME/zoo/zoo, else
~/.cache/zoo/zoo), checked, and reused.

Environment: ZOO_OFFLINE=1 never downloads; ZOO_MODELS_MIRROR=http://HOST:PORT
replaces the scheme and host of every URL; ZOO_MANIFEST=a.yaml:b.yaml adds
your own entries (else ~/.config/zoo/models.yaml); http_proxy, https_proxy
and no_proxy apply to downloads; npm's own settings apply to npm packages.

Examples:
  zoo models list
  zoo models info resnet50-imagenet-torch
  zoo models download centernet-coco
  zoo apply centernet-coco photos/ -o objects.jsonl)");

  auto* list = app.add_subcommand("list", "List the named models: name, task, size, licence, downloaded or not");
  list->add_flag("--json", args->json, "One JSON array of the entries (files, checksums, cache path)");
  list->add_option("--task", args->task, "Only models of this task (classification, detection, keypoints, ...)");

  auto* info = app.add_subcommand("info", "Show a model's card: description, licence, files, checksums, config");
  info->add_option("NAME", args->names, "Model name")->required()->expected(1);
  info->add_flag("--json", args->json, "The card as one JSON object (the config as YAML text)");

  auto* download = app.add_subcommand("download", "Download models into the cache (resumed, checked); print each folder");
  download->add_option("NAME", args->names, "Model names")->required();
  download->add_flag("--offline", args->offline, "Never download: only check what the cache holds (also ZOO_OFFLINE=1)");
  download->add_option("--progress", args->progress, "auto | bar | json | none: download progress on stderr")
      ->capture_default_str();
  add_quiet_flag(*download, args->quiet);

  auto* rm = app.add_subcommand("rm", "Delete downloaded models from the cache");
  rm->add_option("NAME", args->names, "Model names")->required();

  auto* path = app.add_subcommand("path", "Print where a model lives in the cache (exit 1 if not downloaded)");
  path->add_option("NAME", args->names, "Model name")->required()->expected(1);

  return [args, list, info, download, rm, path]() -> int {
    if (list->parsed()) return run_list(*args);
    if (info->parsed()) return run_info(*args);
    if (download->parsed()) return run_download(*args);
    if (rm->parsed()) return run_rm(*args);
    if (path->parsed()) return run_path(*args);
    return 2;
  };
}

}  // namespace zoo::app

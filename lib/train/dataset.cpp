#include "train/dataset.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "media/discover.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace zoo::train {
namespace {

std::string strip_quotes(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(s.begin());
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

// Whether the first line of a CSV list names its columns: a usual column
// name on either side, and no such file.
bool is_header(const std::string& path, const std::string& label, const fs::path& base) {
  static const std::set<std::string> paths = {"filepath", "path", "file", "filename", "image", "image_path"};
  static const std::set<std::string> labels = {"label", "class", "category", "target"};
  if (!paths.count(util::to_lower(path)) && !labels.count(util::to_lower(label))) return false;
  std::error_code ec;
  return !fs::exists(fs::path(path).is_relative() ? base / path : fs::path(path), ec);
}

// (path, label name, line) triples from a list file.
struct Entry {
  std::string path;
  std::string label;
  size_t line;
};

std::vector<Entry> read_list(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw Error(ErrorKind::data, "{}: cannot read dataset list", file);
  const bool jsonl = util::ends_with(util::to_lower(file), ".jsonl") || util::ends_with(util::to_lower(file), ".json");
  const fs::path base = fs::path(file).parent_path();
  std::vector<Entry> entries;
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // a UTF-8 byte order mark
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string path, label;
    if (jsonl) {
      nlohmann::json record;
      try {
        record = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorKind::data, "{}:{}: not a JSON object: {}", file, number, e.what());
      }
      if (!record.is_object() || !record.contains("filepath") || !record["filepath"].is_string() ||
          !record.contains("label")) {
        throw Error(ErrorKind::data, "{}:{}: expected {{\"filepath\": ..., \"label\": ...}}", file, number);
      }
      path = record["filepath"].get<std::string>();
      const auto& value = record["label"];
      if (value.is_string()) {
        label = value.get<std::string>();
      } else if (value.is_object() && value.contains("label") && value["label"].is_string()) {
        label = value["label"].get<std::string>();
      } else if (value.is_number_integer()) {
        label = std::to_string(value.get<int64_t>());
      } else {
        throw Error(ErrorKind::data, "{}:{}: \"label\" must be a string", file, number);
      }
    } else {
      const size_t comma = line.rfind(',');
      if (comma == std::string::npos) {
        throw Error(ErrorKind::data, "{}:{}: expected `filepath,label`", file, number);
      }
      path = strip_quotes(line.substr(0, comma));
      label = strip_quotes(line.substr(comma + 1));
      if (number == 1 && is_header(path, label, base)) continue;
    }
    if (path.empty() || label.empty()) throw Error(ErrorKind::data, "{}:{}: empty filepath or label", file, number);
    if (fs::path(path).is_relative()) path = (base / path).string();
    entries.push_back({path, label, number});
  }
  if (entries.empty()) throw Error(ErrorKind::data, "{}: no samples", file);
  return entries;
}

}  // namespace

Dataset load_dataset(const std::string& path, const std::vector<std::string>* fixed_classes) {
  Dataset dataset;
  dataset.source = path;
  std::error_code ec;
  std::vector<Entry> entries;
  if (fs::is_directory(path, ec)) {
    std::vector<std::string> folders;
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      const std::string name = entry.path().filename().string();
      if (entry.is_directory() && !name.empty() && name[0] != '.') folders.push_back(name);
    }
    if (ec) throw Error(ErrorKind::data, "{}: cannot list folder: {}", path, ec.message());
    std::sort(folders.begin(), folders.end());
    if (folders.empty()) {
      throw Error(ErrorKind::data, "{}: no class folders (expected one subfolder of images per class)", path);
    }
    for (const auto& folder : folders) {
      for (auto& file : media::discover_inputs({(fs::path(path) / folder).string()})) {
        entries.push_back({std::move(file), folder, 0});
      }
    }
    if (entries.empty()) throw Error(ErrorKind::data, "{}: the class folders hold no images", path);
  } else if (fs::exists(path, ec)) {
    entries = read_list(path);
  } else {
    throw Error(ErrorKind::data, "{}: no such dataset folder or list file", path);
  }

  if (fixed_classes) {
    dataset.classes = *fixed_classes;
  } else {
    std::set<std::string> names;
    for (const auto& e : entries) names.insert(e.label);
    dataset.classes.assign(names.begin(), names.end());
  }
  std::map<std::string, int> index;
  for (size_t i = 0; i < dataset.classes.size(); ++i) index[dataset.classes[i]] = int(i);
  for (auto& e : entries) {
    auto it = index.find(e.label);
    if (it == index.end()) {
      throw Error(ErrorKind::data, "{}{}: label \"{}\" is not one of the training classes ({}){}", path,
                  e.line ? ":" + std::to_string(e.line) : "", e.label, util::join(dataset.classes, ", "),
                  util::did_you_mean(e.label, dataset.classes));
    }
    dataset.samples.push_back({std::move(e.path), it->second});
  }
  std::stable_sort(dataset.samples.begin(), dataset.samples.end(),
                   [](const Sample& a, const Sample& b) { return a.label < b.label; });
  return dataset;
}

std::pair<Dataset, Dataset> split_dataset(const Dataset& dataset, double fraction, uint64_t seed) {
  Dataset train{dataset.source, dataset.classes, {}};
  Dataset val{dataset.source + " (validation split)", dataset.classes, {}};
  std::vector<std::vector<size_t>> by_class(dataset.classes.size());
  for (size_t i = 0; i < dataset.samples.size(); ++i) by_class[dataset.samples[i].label].push_back(i);
  std::vector<bool> is_val(dataset.samples.size(), false);
  std::mt19937_64 rng(seed);
  for (auto& members : by_class) {
    if (members.size() < 2 || fraction <= 0) continue;
    size_t take = static_cast<size_t>(std::llround(fraction * members.size()));
    take = std::clamp<size_t>(take, 1, members.size() - 1);
    std::vector<size_t> shuffled = members;
    // Fisher-Yates with our own draws: std::shuffle's algorithm is
    // implementation-defined, and splits must not change between builds.
    for (size_t i = shuffled.size(); i > 1; --i) std::swap(shuffled[i - 1], shuffled[rng() % i]);
    for (size_t i = 0; i < take; ++i) is_val[shuffled[i]] = true;
  }
  for (size_t i = 0; i < dataset.samples.size(); ++i) {
    (is_val[i] ? val : train).samples.push_back(dataset.samples[i]);
  }
  return {train, val};
}

}  // namespace zoo::train

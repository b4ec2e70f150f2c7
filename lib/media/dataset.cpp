#include "media/dataset.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "io/labelled_list.hpp"
#include "media/discover.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace zoo::media {

Dataset load_dataset(const std::string& path, const std::vector<std::string>* fixed_classes) {
  Dataset dataset;
  dataset.source = path;
  std::error_code ec;
  std::vector<io::LabelledEntry> entries;
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
      for (auto& file : discover_inputs({(fs::path(path) / folder).string()})) {
        entries.push_back({std::move(file), folder, 0});
      }
    }
    if (entries.empty()) throw Error(ErrorKind::data, "{}: the class folders hold no images", path);
  } else if (fs::exists(path, ec)) {
    entries = io::read_labelled_list(path);
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

}  // namespace zoo::media

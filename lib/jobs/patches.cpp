#include "jobs/patches.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/json_text.hpp"
#include "util/sha256.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace zoo::jobs {
namespace {

// The same file whatever names reach it: records written with relative
// paths match inputs given as absolute ones and the other way round.
std::string canonical(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  return ec ? path : p.string();
}

std::string frame_key(const std::string& canonical_path, int64_t frame_number) {
  return frame_number > 0 ? canonical_path + "#" + std::to_string(frame_number) : canonical_path;
}

bool is_detections(const Json& value) {
  return value.is_object() && value.contains("_cls") && value["_cls"] == "Detections";
}

}  // namespace

Json PatchOptions::settings() const {
  if (file.empty()) return nullptr;
  return {{"file", util::sha256_file(file)},
          {"field", field},
          {"labels", labels},
          {"alpha", shape.alpha},
          {"square", shape.square}};
}

PatchTable::PatchTable(const PatchOptions& options) : m_file(options.file), m_field(options.field) {
  std::ifstream in(m_file, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, "--patches {}: cannot read the file", m_file);
  std::vector<std::pair<size_t, Json>> records;  // line number, record
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json record;
    try {
      record = util::parse_json<Json>(line);
    } catch (const nlohmann::json::exception&) {
      throw Error(ErrorKind::data, "{}:{}: not a JSON line (--patches takes zoo apply's JSON Lines labels)", m_file,
                  number);
    }
    if (!record.is_object() || !record.contains("filepath") || !record["filepath"].is_string()) {
      throw Error(ErrorKind::data, "{}:{}: the record has no \"filepath\"", m_file, number);
    }
    records.emplace_back(number, std::move(record));
  }
  if (m_field.empty()) {
    // The records' only Detections field (a keypoints model's records hold
    // PREFIX_detections and PREFIX_keypoints: the first is it).
    std::map<std::string, size_t> fields;
    for (const auto& [_, record] : records) {
      for (const auto& [key, value] : record.items()) {
        if (is_detections(value)) fields.emplace(key, fields.size());
      }
    }
    if (fields.empty()) {
      throw Error(ErrorKind::usage, "--patches {}: no record holds Detections (a detector's zoo apply output); "
                  "name the field with --patches-field", m_file);
    }
    if (fields.size() > 1) {
      std::vector<std::string> names;
      for (const auto& [name, _] : fields) names.push_back(name);
      throw Error(ErrorKind::usage, "--patches {}: the records hold several Detections fields ({}); choose one "
                  "with --patches-field", m_file, util::join(names, ", "));
    }
    m_field = fields.begin()->first;
  }
  for (const auto& [line_number, record] : records) {
    const std::string path = canonical(record["filepath"].get<std::string>());
    int64_t frame = 0;
    if (record.contains("frame_number")) {
      const Json& f = record["frame_number"];
      if (!f.is_number_integer() || f.get<int64_t>() < 1) {
        throw Error(ErrorKind::data, "{}:{}: \"frame_number\" is not a frame number (1, 2, ...)", m_file, line_number);
      }
      frame = f.get<int64_t>();
      m_videos.insert(path);
    }
    const std::string key = frame_key(path, frame);
    if (m_entries.count(key)) continue;  // an input listed twice: its first record
    ++m_records;
    Entry& entry = m_entries[key];
    if (record.contains("error")) {
      entry.error = fmt::format("{}:{}: this input failed there: {}", m_file, line_number,
                                record["error"].is_string() ? record["error"].get<std::string>() : record["error"].dump());
      continue;
    }
    if (!record.contains(m_field) || record[m_field].is_null()) continue;  // no detections
    const Json& detections = record[m_field];
    if (!is_detections(detections) || !detections.contains("detections") || !detections["detections"].is_array()) {
      throw Error(ErrorKind::data, "{}:{}: \"{}\" is not Detections ({{\"_cls\": \"Detections\", \"detections\": "
                  "[...]}})", m_file, line_number, m_field);
    }
    int64_t index = -1;
    for (const Json& d : detections["detections"]) {
      ++index;
      const std::string label = d.is_object() && d.contains("label") && d["label"].is_string() ? d["label"].get<std::string>() : "";
      if (!options.labels.empty() &&
          std::find(options.labels.begin(), options.labels.end(), label) == options.labels.end()) {
        continue;
      }
      const Json* box = d.is_object() && d.contains("bounding_box") ? &d["bounding_box"] : nullptr;
      if (!box || !box->is_array() || box->size() != 4 ||
          !std::all_of(box->begin(), box->end(), [](const Json& v) { return v.is_number(); })) {
        throw Error(ErrorKind::data, "{}:{}: {} detection {} has no \"bounding_box\" [x, y, width, height]", m_file,
                    line_number, m_field, index);
      }
      entry.patches.push_back({index, (*box)[0].get<double>(), (*box)[1].get<double>(), (*box)[2].get<double>(),
                               (*box)[3].get<double>(), util::dump_json(d)});
    }
  }
}

media::PatchList PatchTable::lookup(const std::string& path, int64_t frame_number) const {
  const std::string file = canonical(path);
  if (frame_number < 0) {
    if (m_videos.count(file)) return {};
    const auto whole = m_entries.find(file);
    if (whole != m_entries.end() && !whole->second.error.empty()) return {whole->second.error, {}};
    return {fmt::format("--patches {} has no frame records for this video", m_file), {}};
  }
  const auto it = m_entries.find(frame_key(file, frame_number));
  if (it == m_entries.end()) {
    if (frame_number > 0) return {};  // a frame the detector did not take
    return {fmt::format("--patches {} has no record for this input", m_file), {}};
  }
  return {it->second.error, it->second.patches};
}

}  // namespace zoo::jobs

#include "outputs/run_record.hpp"

#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/files.hpp"
#include "util/json_text.hpp"
#include "util/sha256.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace zoo::outputs {
namespace {

// A value for a message: strings as they are (a digest shortened), the
// rest as JSON; "(none)" when missing.
std::string shown(const Producer* value) {
  if (!value || value->is_null()) return "(none)";
  if (!value->is_string()) return util::dump_json(*value);
  const std::string& text = value->get_ref<const std::string&>();
  return text.rfind("sha256:", 0) == 0 && text.size() > 19 ? text.substr(0, 19) + "…" : text;
}

// "model" and every setting, by name.
std::map<std::string, const Producer*> entries(const Producer& producer) {
  std::map<std::string, const Producer*> out;
  if (!producer.is_object()) return out;
  if (const auto it = producer.find("model"); it != producer.end()) out["model"] = &*it;
  if (const auto it = producer.find("settings"); it != producer.end() && it->is_object()) {
    for (auto s = it->begin(); s != it->end(); ++s) out[s.key()] = &s.value();
  }
  return out;
}

}  // namespace

std::string producer_differences(const Producer& there, const Producer& now, const char* there_name,
                                 const char* now_name) {
  std::map<std::string, const Producer*> a = entries(there);
  std::map<std::string, const Producer*> b = entries(now);
  std::vector<std::string> differences;
  // "model" first: it is the difference that matters most.
  std::vector<std::string> keys{"model"};
  for (const auto& [key, value] : a) keys.push_back(key);
  for (const auto& [key, value] : b) keys.push_back(key);
  std::map<std::string, bool> seen;
  for (const auto& key : keys) {
    if (seen[key]) continue;
    seen[key] = true;
    const Producer* x = a.count(key) ? a[key] : nullptr;
    const Producer* y = b.count(key) ? b[key] : nullptr;
    // Compared as unordered JSON: a record read back keeps its key order.
    if ((x && y && nlohmann::json(*x) == nlohmann::json(*y)) || (!x && !y)) continue;
    differences.push_back(fmt::format("{} {} {}, {} {}", key, shown(x), there_name, shown(y), now_name));
  }
  return util::join(differences, "; ");
}

std::string run_record_path(const std::string& output) { return output + ".run.json"; }

void write_run_record(const std::string& output, const Producer& producer) {
  util::write_file_atomic(run_record_path(output), util::dump_json(Producer{{"producer", producer}}) + "\n");
}

Producer read_run_record(const std::string& output) {
  const std::string path = run_record_path(output);
  std::error_code ec;
  if (!fs::exists(path, ec)) return nullptr;
  const std::string text = util::read_file(path);
  Producer record;
  try {
    record = util::parse_json<Producer>(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::io, "{}: not a zoo run record: {}", path, e.what());
  }
  if (!record.is_object() || !record.contains("producer")) {
    throw Error(ErrorKind::io, "{}: not a zoo run record (no \"producer\")", path);
  }
  return record["producer"];
}

std::vector<PinnedFile> pin_files(const std::vector<std::string>& files, const std::string& folder) {
  std::vector<PinnedFile> pins;
  const fs::path base = fs::absolute(folder.empty() ? "." : folder).lexically_normal();
  for (const auto& file : files) {
    std::error_code ec;
    const uint64_t bytes = fs::file_size(file, ec);
    if (ec) throw Error(ErrorKind::io, "{}: cannot read: {}", file, ec.message());
    pins.push_back({fs::absolute(file).lexically_normal().lexically_relative(base).string(), bytes,
                    util::sha256_file(file)});
  }
  return pins;
}

void verify_pinned(const std::vector<PinnedFile>& pins, const std::string& folder, const std::string& marker) {
  for (const auto& pin : pins) {
    const std::string path = (fs::path(folder.empty() ? "." : folder) / pin.path).lexically_normal().string();
    std::error_code ec;
    const uint64_t bytes = fs::file_size(path, ec);
    std::string problem;
    if (ec) {
      problem = ec.message();
    } else if (bytes != pin.bytes) {
      problem = fmt::format("{} bytes, {} pins {}", bytes, marker, pin.bytes);
    } else if (util::sha256_file(path) != pin.sha256) {
      problem = fmt::format("its content is not what {} pins (sha256 differs)", marker);
    }
    if (!problem.empty()) {
      throw Error(ErrorKind::data,
                  "{}: changed since its shard finished: {}; run that shard again (remove the file and {})", path,
                  problem, marker);
    }
  }
}

}  // namespace zoo::outputs

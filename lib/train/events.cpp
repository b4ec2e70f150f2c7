#include "train/events.hpp"

#include <fstream>
#include <iterator>
#include <sstream>

#include "util/error.hpp"
#include "util/files.hpp"
#include "util/json_text.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace zoo::train {

Events::Events(const fs::path& path, bool to_stderr) : m_to_stderr(to_stderr) {
  repair(path);
  m_file = std::fopen(path.c_str(), "ab");
  if (!m_file) throw Error(ErrorKind::io, "{}: cannot open for writing", path.string());
}

void Events::emit(const json& event) {
  const std::string line = util::dump_json(event) + "\n";
  std::fputs(line.c_str(), m_file);
  std::fflush(m_file);
  if (m_to_stderr) {
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
  }
}

void Events::repair(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  const size_t last_newline = text.rfind('\n');
  const size_t end = last_newline == std::string::npos ? 0 : last_newline + 1;
  if (util::drop_tail(path.string(), end, "its half-written last line") > 0) text.resize(end);
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    json event;
    try {
      event = util::parse_json<json>(line);
    } catch (const json::exception&) {
      continue;  // a line that is not JSON marks no epoch done
    }
    if (event.is_object() && event.value("status", "") == "epoch" && event.contains("epoch") &&
        event["epoch"].is_number_integer()) {
      m_epochs.insert(event["epoch"].get<int>());
    }
  }
}

json epoch_event(int epoch, int epochs, const json& data) {
  return {{"status", "epoch"}, {"epoch", epoch}, {"epochs", epochs}, {"data", data}};
}

}  // namespace zoo::train

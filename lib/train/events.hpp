// Marcelle-style training status events (DESIGN.md, Training), appended to
// OUTDIR/events.jsonl and, with --progress json, to stderr.
#pragma once

#include <cstdio>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

namespace zoo::train {

// Appends events to OUTDIR/events.jsonl (flushed each time) and, with
// --progress json, to stderr. Opening an existing file (a resume) first
// drops a half-written last line, so the file stays valid JSONL after a
// kill -9 in the middle of a write, and notes which epochs it records.
class Events {
 public:
  // Throws zoo::Error(io) when the file cannot be opened.
  Events(const std::filesystem::path& path, bool to_stderr);
  ~Events() { std::fclose(m_file); }
  Events(const Events&) = delete;
  Events& operator=(const Events&) = delete;
  void emit(const nlohmann::json& event);
  bool has_epoch(int epoch) const { return m_epochs.count(epoch) > 0; }

 private:
  void repair(const std::filesystem::path& path);

  std::FILE* m_file;
  bool m_to_stderr;
  std::set<int> m_epochs;  // epochs already recorded in the file
};

// Marcelle's TrainingStatus event for one finished epoch.
nlohmann::json epoch_event(int epoch, int epochs, const nlohmann::json& data);

}  // namespace zoo::train

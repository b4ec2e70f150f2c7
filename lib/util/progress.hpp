// Progress reporting on stderr for long runs: a redrawn bar (count/total,
// items/s, ETA) when stderr is a terminal, periodic JSON status lines
// (`{"status":"running","count":…,"total":…}`, as Marcelle's batch
// prediction streams them), or nothing.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace zoo::util {

enum class ProgressMode {
  automatic,  // bar when stderr is a terminal, else none
  bar,
  json,
  none,
};

// Parses "auto", "bar", "json", "none"; throws zoo::Error(usage) otherwise.
ProgressMode parse_progress_mode(const std::string& text);

// Not thread-safe: call from one thread.
class Progress {
 public:
  // `total` may be 0 when unknown. `unit` names the items ("img").
  Progress(ProgressMode mode, size_t total, std::string unit);
  ~Progress();

  // Reports that `count` items are done; redraws at most 10 times a second
  // (bar) or once a second (json).
  void update(size_t count);

  // Replaces the total (an estimate that grows, e.g. as videos are opened).
  void set_total(size_t total) { m_total = total; }

  // Clears the bar (so the summary prints on a clean line).
  void finish();

 private:
  void draw(bool final);

  ProgressMode m_mode;
  size_t m_total;
  size_t m_count = 0;
  std::string m_unit;
  std::chrono::steady_clock::time_point m_start;
  std::chrono::steady_clock::time_point m_last_draw;
  bool m_drawn = false;
  bool m_finished = false;
};

}  // namespace zoo::util

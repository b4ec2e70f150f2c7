#include "util/progress.hpp"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "util/error.hpp"

namespace zoo::util {

ProgressMode parse_progress_mode(const std::string& text) {
  if (text == "auto") return ProgressMode::automatic;
  if (text == "bar") return ProgressMode::bar;
  if (text == "json") return ProgressMode::json;
  if (text == "none") return ProgressMode::none;
  throw Error(ErrorKind::usage, "--progress: unknown mode \"{}\" (expected auto, bar, json or none)", text);
}

Progress::Progress(ProgressMode mode, size_t total, std::string unit)
    : m_mode(mode), m_total(total), m_unit(std::move(unit)) {
  if (m_mode == ProgressMode::automatic) {
    m_mode = isatty(STDERR_FILENO) ? ProgressMode::bar : ProgressMode::none;
  }
  m_start = m_last_draw = std::chrono::steady_clock::now();
}

Progress::~Progress() { finish(); }

void Progress::update(size_t count) {
  m_count = count;
  if (m_mode == ProgressMode::none) return;
  auto now = std::chrono::steady_clock::now();
  auto interval = m_mode == ProgressMode::bar ? std::chrono::milliseconds(100) : std::chrono::milliseconds(1000);
  if (m_drawn && now - m_last_draw < interval) return;
  m_last_draw = now;
  draw(false);
}

void Progress::finish() {
  if (m_finished) return;
  m_finished = true;
  if (m_mode == ProgressMode::json) {
    draw(true);
  } else if (m_mode == ProgressMode::bar && m_drawn) {
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
  }
}

namespace {

// A count for the bar: bytes ("B") in MB, anything else as it is.
std::string amount(double count, const std::string& unit) {
  return unit == "B" ? fmt::format("{:.1f}", count / 1e6) : fmt::format("{}", static_cast<long long>(count));
}

std::string rate_text(double rate, const std::string& unit) {
  return fmt::format("{:.1f}", unit == "B" ? rate / 1e6 : rate);
}

std::string unit_text(const std::string& unit) { return unit == "B" ? "MB" : unit; }

}  // namespace

void Progress::draw(bool final) {
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
  double rate = seconds > 0 ? m_count / seconds : 0.0;
  const std::string unit = unit_text(m_unit);
  if (m_mode == ProgressMode::json) {
    fmt::print(stderr, "{{\"status\":\"{}\",\"count\":{},\"total\":{},\"rate\":{:.2f}}}\n",
               final ? "done" : "running", m_count, m_total, rate);
  } else {
    std::string line;
    if (m_total > 0) {
      constexpr int width = 30;
      int filled = static_cast<int>(width * std::min<double>(1.0, double(m_count) / m_total));
      line = fmt::format("[{}{}] {}/{} {}", std::string(filled, '#'), std::string(width - filled, '.'),
                         amount(m_count, m_unit), amount(m_total, m_unit), unit);
      if (rate > 0 && m_count < m_total) {
        line += fmt::format(" {} {}/s ETA {:.0f}s", rate_text(rate, m_unit), unit, (m_total - m_count) / rate);
      }
    } else {
      line = fmt::format("{} {} {} {}/s", amount(m_count, m_unit), unit, rate_text(rate, m_unit), unit);
    }
    fmt::print(stderr, "\r\033[K{}", line);
  }
  std::fflush(stderr);
  m_drawn = true;
}

}  // namespace zoo::util

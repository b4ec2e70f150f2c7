#include "batch_run.hpp"

#include <csignal>

#include <fmt/format.h>

#include "util/log.hpp"

namespace zoo::app {
namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_signal(int) {
  g_interrupted = true;
  // A second Ctrl-C kills at once.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

}  // namespace

InterruptGuard::InterruptGuard() {
  g_interrupted = false;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

InterruptGuard::~InterruptGuard() {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

const std::atomic<bool>* InterruptGuard::flag() const { return &g_interrupted; }

int finish_run(const inference::RunSummary& summary, bool resumable, int64_t max_failures) {
  util::info(inference::format_summary(summary));
  if (summary.interrupted) {
    util::warn(fmt::format("interrupted: the output holds every finished image{}",
                           resumable ? "; run again with --resume to finish" : ""));
    return 130;
  }
  if (summary.too_many_failures) {
    // The batch that passed the limit is written whole, so more inputs than
    // max_failures + 1 may have failed: say how many, not "after N".
    util::error(fmt::format("stopped: {} inputs failed, more than --max-failures {} allows (the batch that passed "
                            "the limit is written whole)",
                            summary.failed, max_failures));
    return 1;
  }
  return (summary.failed + summary.failed_before) > 0 ? 3 : 0;
}

}  // namespace zoo::app

// What running a batch subcommand (apply, embed) takes besides its options:
// Ctrl-C/SIGTERM handling and the exit code of a run.
#pragma once

#include <atomic>
#include <cstdint>

#include "inference/batch_loop.hpp"

namespace zoo::app {

// While alive, SIGINT and SIGTERM set flag() instead of killing the
// process (a second signal kills at once). One at a time.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  const std::atomic<bool>* flag() const;
};

// Prints the summary line and the interruption or --max-failures message
// ("run again with --resume" when `resumable`), and returns the exit code:
// 130 interrupted, 1 too many failures, 3 some inputs failed (now or in an
// earlier, resumed run), else 0.
int finish_run(const inference::RunSummary& summary, bool resumable, int64_t max_failures);

}  // namespace zoo::app

// Wall-clock timing for run summaries and benchmarks: a monotonic clock
// and the seconds since a point of it.
#pragma once

#include <chrono>

namespace zoo::util {

using Clock = std::chrono::steady_clock;

// Seconds from `start` to now.
inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace zoo::util

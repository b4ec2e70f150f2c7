#include "models/profile.hpp"

#include <algorithm>
#include <map>

#include <torch/csrc/autograd/profiler_legacy.h>

namespace zoo::models {

std::vector<OpTime> profile_ops(const std::function<void()>& run) {
  namespace profiler = torch::autograd::profiler;
  profiler::enableProfilerLegacy(profiler::ProfilerConfig(profiler::ProfilerState::CPU));
  profiler::thread_event_lists lists;
  try {
    run();
  } catch (...) {
    profiler::disableProfilerLegacy();
    throw;
  }
  lists = profiler::disableProfilerLegacy();
  // Ranges nest on each thread: an op's self time is its time less the
  // time of the ranges directly inside it.
  std::map<std::string, OpTime> ops;
  for (const auto& events : lists) {
    struct Open {
      const profiler::LegacyEvent* start;
      double children_us = 0;
    };
    std::vector<Open> stack;
    for (const auto& event : events) {
      if (event.kind() == profiler::EventKind::PushRange) {
        stack.push_back({&event});
      } else if (event.kind() == profiler::EventKind::PopRange && !stack.empty()) {
        const Open open = stack.back();
        stack.pop_back();
        const double us = open.start->cpuElapsedUs(event);
        if (!stack.empty()) stack.back().children_us += us;
        OpTime& op = ops[open.start->name()];
        op.name = open.start->name();
        ++op.calls;
        op.self_ms += (us - open.children_us) / 1000.0;
      }
    }
  }
  std::vector<OpTime> out;
  for (auto& [_, op] : ops) out.push_back(std::move(op));
  std::sort(out.begin(), out.end(), [](const OpTime& a, const OpTime& b) { return a.self_ms > b.self_ms; });
  return out;
}

}  // namespace zoo::models

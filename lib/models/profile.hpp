// Per-operator time of a model run, from LibTorch's profiler: what
// `zoo bench --profile` prints, to see where a model's time goes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace zoo::models {

struct OpTime {
  std::string name;    // "aten::conv2d", "aten::_to_dense", ...
  int64_t calls = 0;
  double self_ms = 0;  // time in the op itself, its child ops' time left out
};

// Runs `run` with LibTorch's profiler on and returns every op it recorded
// on the calling thread, most self time first. Not reentrant.
std::vector<OpTime> profile_ops(const std::function<void()>& run);

}  // namespace zoo::models

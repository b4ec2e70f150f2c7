// The Torch version zoo runs on, for model cards and reports.
#pragma once

#include <string>

namespace zoo::models {

// "1.13.0": LibTorch's version as compiled in.
std::string torch_version();

}  // namespace zoo::models

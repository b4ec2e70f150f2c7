// The Torch version zoo runs on.
#include "models/version.hpp"

#include <torch/version.h>

namespace zoo::models {

std::string torch_version() { return TORCH_VERSION; }

}  // namespace zoo::models

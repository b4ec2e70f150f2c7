// Environment variables as strings.
#pragma once

#include <cstdlib>
#include <string>

namespace zoo::util {

// The variable's value, or "" when it is not set.
inline std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

}  // namespace zoo::util

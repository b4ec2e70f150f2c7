#include "util/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace zoo::util {
namespace {
std::atomic<bool> g_quiet{false};
std::mutex g_mutex;
}  // namespace

void set_quiet(bool quiet) { g_quiet = quiet; }
bool quiet() { return g_quiet; }

void info(const std::string& message) {
  if (g_quiet) return;
  std::lock_guard lock(g_mutex);
  std::fprintf(stderr, "zoo: %s\n", message.c_str());
}

void warn(const std::string& message) {
  std::lock_guard lock(g_mutex);
  std::fprintf(stderr, "zoo: warning: %s\n", message.c_str());
}

}  // namespace zoo::util

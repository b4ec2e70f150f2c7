#include "util/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "util/json_text.hpp"

namespace zoo::util {
namespace {
std::atomic<bool> g_quiet{false};
std::mutex g_mutex;

void print(const char* prefix, const std::string& message) {
  const std::string line = printable(message);
  std::lock_guard lock(g_mutex);
  std::fprintf(stderr, "zoo: %s%s\n", prefix, line.c_str());
}

}  // namespace

void set_quiet(bool quiet) { g_quiet = quiet; }
bool quiet() { return g_quiet; }

void info(const std::string& message) {
  if (!g_quiet) print("", message);
}
void warn(const std::string& message) { print("warning: ", message); }
void error(const std::string& message) { print("error: ", message); }

}  // namespace zoo::util

#include "util/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "util/json_text.hpp"

namespace zoo::util {
namespace {
std::atomic<bool> g_quiet{false};
std::mutex g_mutex;
std::vector<std::pair<std::string, std::string>> g_rewrites;  // guarded by g_mutex

// `message` with every active rewrite applied. Call with g_mutex held.
std::string apply_rewrites(std::string message) {
  for (const auto& [from, to] : g_rewrites) {
    for (size_t at = message.find(from); !from.empty() && at != std::string::npos;
         at = message.find(from, at + to.size())) {
      message.replace(at, from.size(), to);
    }
  }
  return message;
}

void print(const char* prefix, const std::string& message) {
  std::lock_guard lock(g_mutex);
  std::fprintf(stderr, "zoo: %s%s\n", prefix, printable(apply_rewrites(message)).c_str());
}

}  // namespace

void set_quiet(bool quiet) { g_quiet = quiet; }
bool quiet() { return g_quiet; }

void info(const std::string& message) {
  if (!g_quiet) print("", message);
}
void warn(const std::string& message) { print("warning: ", message); }
void error(const std::string& message) { print("error: ", message); }

std::string rewritten(const std::string& message) {
  std::lock_guard lock(g_mutex);
  return apply_rewrites(message);
}

MessageRewrite::MessageRewrite(std::string from, std::string to) {
  std::lock_guard lock(g_mutex);
  g_rewrites.emplace_back(std::move(from), std::move(to));
}

MessageRewrite::~MessageRewrite() {
  std::lock_guard lock(g_mutex);
  g_rewrites.pop_back();
}

}  // namespace zoo::util

// zoo::Error: the one exception type of the library. Each error has a kind
// (which decides the exit code in main) and a message that names the file,
// key, layer or path at fault.
#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace zoo {

enum class ErrorKind {
  usage,   // bad command line (exit 2)
  config,  // bad model config or labels file (exit 2)
  io,      // a file or directory could not be read or written (exit 1)
  model,   // a model or weights file could not be loaded or run (exit 1)
  data,    // bad input data for a whole run (exit 1)
  store,   // model store errors (exit 1)
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message)
      : std::runtime_error(message), m_kind(kind) {}

  template <typename... Args>
  Error(ErrorKind kind, fmt::format_string<Args...> format, Args&&... args)
      : std::runtime_error(fmt::format(format, std::forward<Args>(args)...)), m_kind(kind) {}

  ErrorKind kind() const { return m_kind; }

  // The process exit code for this kind: 2 for usage and config errors, else 1.
  int exit_code() const {
    return (m_kind == ErrorKind::usage || m_kind == ErrorKind::config) ? 2 : 1;
  }

 private:
  ErrorKind m_kind;
};

}  // namespace zoo

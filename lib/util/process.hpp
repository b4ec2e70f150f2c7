// Running another program (npm, tar) without a shell: argv as given, its
// standard output and error captured in files, its exit status returned.
#pragma once

#include <string>
#include <vector>

namespace zoo::util {

struct ProcessResult {
  int status = 0;      // the exit status, or 128 + signal number
  std::string out;     // what it wrote to standard output
  std::string err;     // ... and to standard error
};

// Runs argv[0] (looked up in $PATH) in `cwd` ("" = ours), with standard
// input from /dev/null; `scratch` is a folder for the captured output.
// Throws zoo::Error(io) when the program cannot be started (the message
// says it was not found on $PATH).
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& cwd, const std::string& scratch);

}  // namespace zoo::util

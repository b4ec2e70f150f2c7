#include "util/process.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/error.hpp"
#include "util/files.hpp"

namespace zoo::util {

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& cwd, const std::string& scratch) {
  if (argv.empty()) throw Error(ErrorKind::io, "run_process: no program given");
  const std::string out_path = scratch + "/.stdout";
  const std::string err_path = scratch + "/.stderr";
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  // A pipe closed on exec tells the parent whether execvp failed, and why.
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) throw Error(ErrorKind::io, "cannot start {}: {}", argv[0], std::strerror(errno));
  const pid_t pid = fork();
  if (pid < 0) {
    close(report[0]);
    close(report[1]);
    throw Error(ErrorKind::io, "cannot start {}: {}", argv[0], std::strerror(errno));
  }
  if (pid == 0) {
    close(report[0]);
    const int in = open("/dev/null", O_RDONLY);
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int code = 0;
    if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 ||
        (!cwd.empty() && chdir(cwd.c_str()) != 0)) {
      code = errno;
    } else {
      execvp(args[0], args.data());
      code = errno;
    }
    (void)!write(report[1], &code, sizeof code);
    _exit(127);
  }
  close(report[1]);
  int code = 0;
  const ssize_t got = read(report[0], &code, sizeof code);
  close(report[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (got == static_cast<ssize_t>(sizeof code)) {
    throw Error(ErrorKind::io, "cannot run {}: {}", argv[0],
                code == ENOENT ? "it is not installed (not found on $PATH)" : std::strerror(code));
  }
  ProcessResult result;
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  try {
    result.out = read_file(out_path);
    result.err = read_file(err_path);
  } catch (const Error&) {
  }
  return result;
}

}  // namespace zoo::util

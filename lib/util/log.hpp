// Messages for the user on stderr: errors ("zoo: error: ..."), warnings
// ("zoo: warning: ...") and info lines that --quiet silences. A message is
// one line: line breaks, control characters and bytes that are not UTF-8
// (in a file name, say) print escaped (util::printable), so no input can
// forge a line of its own. Thread-safe.
#pragma once

#include <string>

namespace zoo::util {

// When quiet, info() prints nothing; warnings and errors still print.
void set_quiet(bool quiet);
bool quiet();

void info(const std::string& message);
void warn(const std::string& message);
void error(const std::string& message);

// While alive, every message printed has `from` replaced by `to`: a step
// that works on staged copies of the user's files (zoo save's dry run)
// names the user's files in its warnings (and, through rewritten(), in the
// errors it rethrows). Not nested across threads.
class MessageRewrite {
 public:
  MessageRewrite(std::string from, std::string to);
  ~MessageRewrite();
  MessageRewrite(const MessageRewrite&) = delete;
  MessageRewrite& operator=(const MessageRewrite&) = delete;
};

// `message` with the rewrites now alive applied.
std::string rewritten(const std::string& message);

}  // namespace zoo::util

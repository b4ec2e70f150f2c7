// Messages for the user on stderr: warnings ("zoo: warning: ...") and info
// lines that --quiet silences. Thread-safe.
#pragma once

#include <string>

namespace zoo::util {

// When quiet, info() prints nothing; warnings and errors still print.
void set_quiet(bool quiet);
bool quiet();

void info(const std::string& message);
void warn(const std::string& message);

}  // namespace zoo::util

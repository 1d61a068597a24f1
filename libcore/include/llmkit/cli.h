// What every llmkit program shares: exit codes, --version text, and the TTY question.
#pragma once
#include <string>

namespace llmkit {

enum ExitCode : int {
  kExitOk = 0,
  kExitSomeFailed = 1,  // some records failed; the rest were written
  kExitUsage = 2,       // usage or input-file error
};

const char* version();       // "0.1.0"
const char* git_commit();    // short commit the build came from
std::string version_line(const char* tool);  // "gguf-info (llmkit) 0.1.0 commit abc123"
bool stderr_is_tty();
bool stdout_is_tty();

}  // namespace llmkit

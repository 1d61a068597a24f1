#include "llmkit/cli.h"

#include <unistd.h>

#include "llmkit_version.h"

namespace llmkit {

const char* version() { return LLMKIT_VERSION; }
const char* git_commit() { return LLMKIT_GIT_COMMIT; }

std::string version_line(const char* tool) {
  return std::string(tool) + " (llmkit) " + LLMKIT_VERSION + " commit " + LLMKIT_GIT_COMMIT;
}

bool stderr_is_tty() { return isatty(STDERR_FILENO) == 1; }
bool stdout_is_tty() { return isatty(STDOUT_FILENO) == 1; }

}  // namespace llmkit

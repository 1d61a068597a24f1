#include "llmkit/cli.h"

#include <string_view>

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

void rewrite_llama_flags(int argc, char** argv, std::initializer_list<std::pair<const char*, const char*>> map) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--") break;
    for (const auto& [from, to] : map)
      if (std::string_view(argv[i]) == from) argv[i] = const_cast<char*>(to);
  }
}

}  // namespace llmkit

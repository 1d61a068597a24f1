#include "llmkit/cli.h"

#include <cstdio>
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

void ProgressBar::update(size_t index, size_t count, uint64_t bytes_done, uint64_t bytes_total) {
  if (!on_) return;
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  const double mbs = s > 0 ? double(bytes_done) / 1e6 / s : 0;
  const double eta = bytes_done ? s * double(bytes_total - bytes_done) / double(bytes_done) : 0;
  std::fprintf(stderr, "\r[%4zu/%zu] %7.1f MB/s  ETA %4.0fs ", index + 1, count, mbs, eta);
  if (index + 1 == count) std::fputc('\n', stderr);
  std::fflush(stderr);
}

}  // namespace llmkit

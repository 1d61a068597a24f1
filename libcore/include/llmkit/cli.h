// What every llmkit program shares: exit codes, --version text, and the TTY question.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>

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
// A whole text file, or standard input for "-". Throws Error("io") naming the file.
std::string read_text_input(const std::string& path);
bool stdout_is_tty();

// llama.cpp spells some flags with one dash and several letters (-np, -ngl, -sys), which CLI11
// reads as bundled short flags (`-sys x` as `-s ys`). Rewrites the ones this tool has (`map`) in
// place to their long forms; any other llama.cpp flag of that spelling is rejected by its name.
// Returns false after printing the error to stderr (exit 2).
bool rewrite_llama_flags(const char* tool, int argc, char** argv,
                         std::initializer_list<std::pair<const char*, const char*>> map);

// A one-line progress report on stderr for tensor-by-tensor writers (gguf-quantize,
// gguf-convert): tensors done, input MB/s, time left. Silent unless `on` (stderr is a TTY).
class ProgressBar {
 public:
  explicit ProgressBar(bool on) : on_(on), t0_(std::chrono::steady_clock::now()) {}
  void update(size_t index, size_t count, uint64_t bytes_done, uint64_t bytes_total);

 private:
  bool on_;
  std::chrono::steady_clock::time_point t0_;
};

}  // namespace llmkit

#include "llmkit/cli.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string_view>

#include <unistd.h>

#include "llmkit/error.h"
#include "llmkit_version.h"

namespace llmkit {

const char* version() { return LLMKIT_VERSION; }
const char* git_commit() { return LLMKIT_GIT_COMMIT; }

std::string version_line(const char* tool) {
  return std::string(tool) + " (llmkit) " + LLMKIT_VERSION + " commit " + LLMKIT_GIT_COMMIT;
}

bool stderr_is_tty() { return isatty(STDERR_FILENO) == 1; }

std::string read_text_input(const std::string& path) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return text;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("io", "cannot read " + path);
  text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error("io", "cannot read " + path);
  return text;
}
bool stdout_is_tty() { return isatty(STDOUT_FILENO) == 1; }

namespace {

// llama.cpp's one-dash flags of two letters or more (its common/arg.cpp and tools), what they do.
constexpr std::pair<const char*, const char*> kLlamaFlags[] = {
    {"-cnv", "conversation mode"}, {"-no-cnv", "conversation mode"}, {"-sys", "a system prompt"},
    {"-sysf", "a system prompt file"}, {"-ngl", "GPU offload"}, {"-fa", "flash attention"},
    {"-np", "parallel sequences"}, {"-ctk", "the KV cache key type"}, {"-ctv", "the KV cache value type"},
    {"-nkvo", "KV offload"}, {"-sm", "split mode"}, {"-mg", "the main GPU"}, {"-ts", "tensor split"},
    {"-dev", "devices"}, {"-ub", "the micro-batch size"}, {"-mli", "multiline input"}, {"-sp", "special tokens"},
    {"-st", "single turn"}, {"-tb", "batch threads"}, {"-cb", "continuous batching"}, {"-dt", "defragmentation"},
    {"-kvu", "a unified KV cache"}, {"-fit", "fitting to memory"}, {"-ot", "tensor overrides"},
    {"-cmoe", "MoE weights on the CPU"}, {"-ncmoe", "MoE weights on the CPU"}, {"-hf", "Hugging Face downloads"},
    {"-hfr", "Hugging Face downloads"}, {"-hff", "Hugging Face downloads"}, {"-mu", "model URLs"},
    {"-lv", "log verbosity"}, {"-md", "a draft model"}, {"-ngld", "draft GPU offload"}, {"-pg", "prompt+generation tests"},
    {"-nr", "no repacking"}, {"-gan", "group attention"}, {"-gaw", "group attention"}, {"-ps", "a prompt cache"},
    {"-nocb", "continuous batching"}, {"-jf", "a JSON schema file"}, {"-otd", "draft tensor overrides"}};

}  // namespace

bool rewrite_llama_flags(const char* tool, int argc, char** argv,
                         std::initializer_list<std::pair<const char*, const char*>> map) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a(argv[i]);
    if (a == "--") break;
    bool mapped = false;
    for (const auto& [from, to] : map)
      if (a == from) argv[i] = const_cast<char*>(to), mapped = true;
    if (mapped) continue;
    for (const auto& [flag, what] : kLlamaFlags)
      if (a == flag) {
        std::fprintf(stderr, "%s: llama.cpp's %s (%s) is not an option of %s (see --help)\n", tool, flag, what, tool);
        return false;
      }
  }
  return true;
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

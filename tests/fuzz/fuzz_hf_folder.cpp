// libFuzzer: a Hugging Face folder whose config.json, tokenizer.json and tokenizer_config.json
// come from the input (split at NUL bytes), beside a small valid checkpoint: the architecture
// table, the hyperparameter checks and the vocabulary readers (BPE, WordPiece, added tokens).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "llmkit/error.h"
#include "llmkit/hf_convert.h"
#include "llmkit/safetensors.h"

namespace fs = std::filesystem;

namespace {
fs::path g_dir;

void write(const fs::path& p, const char* data, size_t n) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(data, static_cast<std::streamsize>(n));
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_dir = fs::temp_directory_path() / ("llmkit-fuzz-hf-" + std::to_string(getpid()));
  fs::create_directories(g_dir);
  // A two-tensor checkpoint: the header is what gets read; the data is never computed with.
  const std::string header = R"({"model.embed_tokens.weight":{"dtype":"F32","shape":[4,8],"data_offsets":[0,128]}})";
  std::string h = header + std::string((8 - header.size() % 8) % 8, ' ');
  std::vector<char> st(8 + h.size() + 128, 0);
  const uint64_t n = h.size();
  std::memcpy(st.data(), &n, 8);
  std::memcpy(st.data() + 8, h.data(), h.size());
  write(g_dir / "model.safetensors", st.data(), st.size());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* p = reinterpret_cast<const char*>(data);
  const char* names[3] = {"config.json", "tokenizer.json", "tokenizer_config.json"};
  size_t from = 0;
  for (int i = 0; i < 3; ++i) {
    size_t to = from;
    while (to < size && p[to] != '\0') ++to;
    if (from <= size) write(g_dir / names[i], p + from, from < size ? to - from : 0);
    from = to + 1;
  }
  try {
    const llmkit::Checkpoint ck = llmkit::Checkpoint::open_dir(g_dir.string());
    (void)llmkit::read_hf_model(g_dir.string(), ck, {});
  } catch (const llmkit::Error&) {
  }
  return 0;
}

#include "support/fixture.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>

#include "llmkit/gguf_writer.h"

namespace fs = std::filesystem;

namespace fixture {

std::optional<fs::path> shared_dir() {
  const char* env = std::getenv("LLMKIT_SHARED");
  fs::path p = env && *env ? fs::path(env) : fs::path("../shared");
  if (fs::is_directory(p / "models")) return p;
  return std::nullopt;
}

fs::path require_shared(const std::string& rel) {
  auto d = shared_dir();
  if (!d || !fs::exists(*d / rel)) {
    std::printf("SKIP: ../shared/%s not found (set LLMKIT_SHARED to the shared test data)\n", rel.c_str());
    std::fflush(stdout);
    std::_Exit(77);
  }
  return *d / rel;
}

namespace {
struct TempDirs {
  std::vector<fs::path> dirs;
  ~TempDirs() {
    std::error_code ec;
    for (auto& d : dirs) fs::remove_all(d, ec);
  }
};
TempDirs g_temp;
}  // namespace

fs::path temp_dir() {
  std::string tmpl = (fs::temp_directory_path() / "llmkit-test-XXXXXX").string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
  g_temp.dirs.emplace_back(buf.data());
  return g_temp.dirs.back();
}

std::vector<uint8_t> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

llmkit::JsonObject read_json_file(const fs::path& p) {
  std::vector<uint8_t> bytes = read_file(p);
  std::string text(bytes.begin(), bytes.end());
  std::erase(text, '\n');
  return llmkit::parse_json_object(text);
}

ErrorSums error_sums(const std::vector<float>& approx, const std::vector<float>& exact) {
  ErrorSums s;
  for (size_t i = 0; i < exact.size(); ++i) {
    const double e = double(approx[i]) - double(exact[i]);
    s.err += e * e;
    s.ref += double(exact[i]) * double(exact[i]);
  }
  return s;
}

void write_file(const fs::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

size_t write_tiny_model(const std::string& path, uint32_t alignment) {
  using namespace llmkit;
  GgufWriter w;
  w.set("general.architecture", GgufValue("llama"));
  w.set("general.name", GgufValue("llmkit tiny fixture"));
  w.set("general.file_type", GgufValue(uint32_t(1)));
  w.set("general.quantization_version", GgufValue(uint32_t(2)));
  w.set_alignment(alignment);
  w.set("llama.context_length", GgufValue(uint32_t(256)));
  w.set("llama.embedding_length", GgufValue(uint32_t(256)));
  w.set("llama.block_count", GgufValue(uint32_t(1)));
  w.set("llama.feed_forward_length", GgufValue(uint32_t(512)));
  w.set("llama.attention.head_count", GgufValue(uint32_t(4)));
  w.set("llama.attention.head_count_kv", GgufValue(uint32_t(2)));
  w.set("llama.rope.freq_base", GgufValue(10000.0f));
  w.set("llama.attention.layer_norm_rms_epsilon", GgufValue(1e-5f));
  w.set("tokenizer.ggml.model", GgufValue("llama"));
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  for (int i = 0; i < 256; ++i) {
    char b[8];
    std::snprintf(b, sizeof b, "<0x%02X>", i);
    tokens.emplace_back(b);
  }
  for (const char* t : {"\xE2\x96\x81" "the", "\xE2\x96\x81" "a", "\xE2\x96\x81" "cat", "\xE2\x96\x81" "sat", "on", "mat"})
    tokens.emplace_back(t);
  std::vector<float> scores(tokens.size());
  std::vector<int32_t> types(tokens.size(), 1);
  for (size_t i = 0; i < tokens.size(); ++i) scores[i] = -static_cast<float>(i);
  types[0] = 2;
  types[1] = types[2] = 3;
  for (int i = 3; i < 259; ++i) types[static_cast<size_t>(i)] = 6;
  const int64_t vocab = static_cast<int64_t>(tokens.size());
  w.set("llama.vocab_size", GgufValue(uint32_t(vocab)));
  w.set("tokenizer.ggml.tokens", GgufValue(GgufArray::of(tokens)));
  w.set("tokenizer.ggml.scores", GgufValue(GgufArray::of(scores)));
  w.set("tokenizer.ggml.token_type", GgufValue(GgufArray::of(types)));
  w.set("tokenizer.ggml.bos_token_id", GgufValue(uint32_t(1)));
  w.set("tokenizer.ggml.eos_token_id", GgufValue(uint32_t(2)));
  w.set("tokenizer.ggml.add_bos_token", GgufValue(true));
  w.set("tokenizer.chat_template", GgufValue("{% for m in messages %}{{ m['content'] }}{% endfor %}"));

  // Deterministic bytes: a seeded generator per tensor, streamed in chunks.
  auto random_bytes = [](uint64_t seed, uint64_t n) {
    return [seed, n](TensorSink& sink) {
      std::mt19937_64 rng(seed);
      std::vector<uint8_t> buf(4096);
      for (uint64_t done = 0; done < n;) {
        size_t k = static_cast<size_t>(std::min<uint64_t>(buf.size(), n - done));
        for (size_t i = 0; i < k; ++i) buf[i] = static_cast<uint8_t>(rng() >> 56);
        sink.write(buf.data(), k);
        done += k;
      }
    };
  };
  struct T { const char* name; GgmlType type; std::vector<int64_t> shape; };
  const std::vector<T> ts = {
      {"token_embd.weight", GgmlType::F16, {256, vocab}},
      {"blk.0.attn_norm.weight", GgmlType::F32, {256}},
      {"blk.0.attn_q.weight", GgmlType::Q4_K, {256, 256}},
      {"blk.0.attn_k.weight", GgmlType::Q4_K, {256, 128}},
      {"blk.0.attn_v.weight", GgmlType::Q8_0, {256, 128}},
      {"blk.0.attn_output.weight", GgmlType::Q4_K, {256, 256}},
      {"blk.0.ffn_norm.weight", GgmlType::F32, {256}},
      {"blk.0.ffn_gate.weight", GgmlType::Q4_K, {256, 512}},
      {"blk.0.ffn_up.weight", GgmlType::Q4_K, {256, 512}},
      {"blk.0.ffn_down.weight", GgmlType::Q8_0, {512, 256}},
      {"output_norm.weight", GgmlType::F32, {256}},
      {"output.weight", GgmlType::F16, {256, vocab}},
  };
  uint64_t seed = 1;
  for (const auto& t : ts) {
    uint64_t n = 1;
    for (auto d : t.shape) n *= static_cast<uint64_t>(d);
    w.add_tensor(t.name, t.type, t.shape, random_bytes(seed++, ggml_bytes(t.type, n)));
  }
  w.write(path);
  return ts.size();
}

}  // namespace fixture

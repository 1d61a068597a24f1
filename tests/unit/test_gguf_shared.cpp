// Every model and vocab file in ../shared parses; spot facts from their headers.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>

#include "llmkit/file_type.h"
#include "llmkit/gguf.h"
#include "llmkit/model_summary.h"
#include "support/fixture.h"

using namespace llmkit;
namespace fs = std::filesystem;

namespace {
std::map<std::string, int> type_histogram(const GgufFile& f) {
  std::map<std::string, int> h;
  for (const auto& t : f.tensors()) h[ggml_type_name(t.type)]++;
  return h;
}
}  // namespace

TEST_CASE("every file in shared/models and shared/vocab parses", "[gguf][shared]") {
  fs::path root = fixture::require_shared("models").parent_path();
  int n = 0;
  for (const char* sub : {"models", "vocab"})
    for (const auto& e : fs::directory_iterator(root / sub)) {
      if (e.path().extension() != ".gguf") continue;
      INFO(e.path());
      GgufFile f = GgufFile::open(e.path().string());
      CHECK(f.version() == 3);
      CHECK(f.has("general.architecture"));
      CHECK(!f.data_truncated());
      for (const auto& t : f.tensors()) CHECK(f.tensor_data(t).size() == t.n_bytes);
      ++n;
    }
  CHECK(n == 12);
}

TEST_CASE("stories260K: 48 F32 tensors, embedding 64, 5 blocks", "[gguf][shared]") {
  GgufFile f = GgufFile::open(fixture::require_shared("models/stories260K.gguf").string());
  CHECK(f.tensors().size() == 48);
  CHECK(type_histogram(f) == std::map<std::string, int>{{"F32", 48}});
  CHECK(f.get<std::string>("general.architecture") == "llama");
  CHECK(f.get_int("llama.embedding_length") == 64);
  CHECK(f.get_int("llama.block_count") == 5);
  CHECK(f.get_int("llama.attention.head_count") == 8);
  CHECK(f.get_int("llama.attention.head_count_kv") == 4);
  CHECK(f.get_int("llama.feed_forward_length") == 172);
  CHECK(f.get_array("tokenizer.ggml.tokens").size() == 512);
  const TensorInfo* emb = f.find_tensor("token_embd.weight");
  REQUIRE(emb);
  CHECK(emb->ne[0] == 64);
  CHECK(emb->ne[1] == 512);
  ModelSummary s = summarize(f);
  CHECK(s.file_type == "F32");
  CHECK(s.file_type_guessed);  // the file has no general.file_type
  CHECK(s.bits_per_weight == 32.0);
  CHECK(s.vocab_size == 512);
  CHECK(s.tokenizer_model == "llama");
}

TEST_CASE("synth-llama-256 Q4_K_M by llama.cpp: 25 Q4_K, 5 Q6_K, 9 F32", "[gguf][shared]") {
  GgufFile f = GgufFile::open(fixture::require_shared("models/synth-llama-256.Q4_K_M.llamacpp.gguf").string());
  CHECK(type_histogram(f) == std::map<std::string, int>{{"Q4_K", 25}, {"Q6_K", 5}, {"F32", 9}});
  ModelSummary s = summarize(f);
  CHECK(s.file_type == "Q4_K_M");
  CHECK(!s.file_type_guessed);
  CHECK(s.file_type_id == 15u);
  CHECK(s.embedding_length == 256);
  CHECK(s.block_count == 4);
  CHECK(s.head_count == 4);
  CHECK(s.head_count_kv == 2);
  CHECK(s.feed_forward_length == 768);
  CHECK(s.vocab_size == 32000);
  // Same weights as the F16 file, so the same parameter count.
  GgufFile f16 = GgufFile::open(fixture::require_shared("models/synth-llama-256.f16.gguf").string());
  CHECK(summarize(f16).parameters == s.parameters);
  CHECK(summarize(f16).file_type == "F16");
  CHECK(s.bits_per_weight < 6.0);
}

TEST_CASE("qwen2 and bert synthetic models", "[gguf][shared]") {
  GgufFile q = GgufFile::open(fixture::require_shared("models/synth-qwen2-256.f16.gguf").string());
  ModelSummary qs = summarize(q);
  CHECK(qs.architecture == "qwen2");
  CHECK(qs.block_count == 3);
  CHECK(qs.vocab_size == 50257);
  CHECK(qs.tokenizer_model == "gpt2");
  CHECK(q.find_tensor("blk.0.attn_q.bias"));
  CHECK(!q.find_tensor("output.weight"));  // tied to the token embedding
  GgufFile b = GgufFile::open(fixture::require_shared("models/synth-bert-256.f16.gguf").string());
  ModelSummary bs = summarize(b);
  CHECK(bs.architecture == "bert");
  CHECK(bs.block_count == 2);
  CHECK(bs.feed_forward_length == 1024);
  CHECK(bs.vocab_size == 30522);
  CHECK(bs.tokenizer_model == "bert");
}

TEST_CASE("vocab-only files: no tensors, tokenizer metadata", "[gguf][shared]") {
  GgufFile f = GgufFile::open(fixture::require_shared("vocab/ggml-vocab-gpt-2.gguf").string());
  CHECK(f.tensors().empty());
  CHECK(f.get<std::string>("tokenizer.ggml.model") == "gpt2");
  CHECK(f.get<std::string>("tokenizer.ggml.pre") == "gpt-2");
  CHECK(f.get_array("tokenizer.ggml.merges").size() == 50000);
  CHECK(f.get_array("tokenizer.ggml.tokens").strings[50256] == "<|endoftext|>");
}

// Sentence embeddings from a model's final hidden states: encoders (bert) and decoders (llama,
// qwen2), many sequences per forward pass, pooled and normalized as llama.cpp's embeddings are.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "llmkit/kv_cache.h"
#include "llmkit/model.h"

namespace llmkit {

enum class Pooling { None, Mean, Cls, Last };

// "none", "mean", "cls", "last"; Error("usage") otherwise.
Pooling parse_pooling(const std::string& name);
const char* pooling_name(Pooling p);
// The model's <arch>.pooling_type; without one, mean for encoders and last for decoders (the
// token that has seen the whole text). Error("unsupported_model") for rank pooling (rerankers).
Pooling default_pooling(const ModelParams& p);

enum class Normalize { None, L2 };
Normalize parse_normalize(const std::string& name);  // "none", "l2"
// v /= |v| (sum of squares in double); a zero vector stays zero.
void normalize_l2(float* v, int64_t n);

class Embedder {
 public:
  // n_batch: tokens per forward pass (sequences are grouped up to it; a longer one runs alone).
  // n_ctx: the longest sequence accepted (decoders; an encoder's limit is its positions).
  Embedder(const Model& m, int64_t n_ctx, int64_t n_batch);
  const Model& model() const { return m_; }
  int64_t n_ctx() const { return n_ctx_; }
  // One result per sequence: n_embd floats, or n_tokens x n_embd with Pooling::None.
  // Throws Error("context_full") when a sequence is longer than n_ctx().
  std::vector<std::vector<float>> embed(const std::vector<std::vector<int32_t>>& seqs, Pooling pooling,
                                        Normalize norm);

 private:
  std::vector<float> hidden(std::span<const std::vector<int32_t>> seqs, Pooling pooling);
  const Model& m_;
  int64_t n_ctx_, n_batch_;
  std::unique_ptr<KvCache> kv_;  // decoders: one slot per sequence of a pass, reused while big enough
};

}  // namespace llmkit

// Choosing the next token from logits: greedy, or penalties -> top-k -> top-p -> min-p ->
// temperature -> a draw from a seeded generator (llama.cpp's default order). Deterministic for a
// seed: the same logits and history give the same token on every run and machine.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

namespace llmkit {

struct SamplerParams {
  float temperature = 0.8f;  // <= 0: greedy
  int32_t top_k = 40;        // <= 0: off
  float top_p = 0.95f;       // >= 1: off
  float min_p = 0.05f;       // <= 0: off
  float repeat_penalty = 1.0f;
  float presence_penalty = 0.0f, frequency_penalty = 0.0f;
  int32_t penalty_last_n = 64;  // how much history the penalties see
  uint64_t seed = 42;
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams& p);
  // `history`: tokens so far (prompt and generated), for the penalties. `logits` is used as
  // scratch space. Returns the chosen token id.
  int32_t sample(std::vector<float>& logits, const std::vector<int32_t>& history);
  const SamplerParams& params() const { return p_; }

 private:
  struct Candidate {
    int32_t id;
    float logit, p;
  };
  SamplerParams p_;
  std::mt19937_64 rng_;
  std::vector<Candidate> cand_;
};

// Penalties alone (exposed for tests and for tools that only rescore).
void apply_penalties(std::vector<float>& logits, const std::vector<int32_t>& history, const SamplerParams& p);

}  // namespace llmkit

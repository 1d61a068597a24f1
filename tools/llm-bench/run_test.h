// One benchmark run, as llama-bench defines its tests: pp N decodes an N-token prompt in batches,
// tg N generates N tokens one step at a time, pg N,M does both; depth D fills the cache with D
// tokens first (not timed). With parallel P, P sequences run side by side in the same batches
// and every figure counts the tokens of all of them.
#pragma once
#include <cstdint>
#include <string>

#include "llmkit/model.h"

namespace llmkit::bench {

struct Test {
  int64_t n_prompt = 0, n_gen = 0;
  std::string name() const;  // "pp512", "tg128", "pp512+tg128"
};

struct Params {
  int threads = 1;
  int64_t batch = 512;
  int parallel = 1;
  int64_t depth = 0;
};

// Seconds the timed part took. Token ids are random (seeded) and nothing is sampled, so the
// figure is the engine's alone.
double run_once(const Model& m, const Test& t, const Params& p, uint64_t seed);

// Bytes one generation step reads (all weights that take part, plus the keys and values of a
// context of `ctx` tokens per sequence) and the FLOPs of one token at context `ctx`.
uint64_t bytes_per_step(const Model& m, int64_t ctx, int parallel);
double flops_per_token(const Model& m, int64_t ctx);

}  // namespace llmkit::bench

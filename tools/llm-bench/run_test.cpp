#include "run_test.h"

#include <omp.h>

#include <chrono>
#include <random>

#include "llmkit/kv_cache.h"

namespace llmkit::bench {

std::string Test::name() const {
  if (n_gen == 0) return "pp" + std::to_string(n_prompt);
  if (n_prompt == 0) return "tg" + std::to_string(n_gen);
  return "pp" + std::to_string(n_prompt) + "+tg" + std::to_string(n_gen);
}

namespace {

// Each sequence's next n tokens, in batches of at most `batch` tokens across sequences.
void feed(const Model& m, KvCache& kv, int parallel, int64_t n, int64_t batch, std::mt19937_64& rng) {
  const int64_t vocab = m.params().n_vocab;
  Batch b;
  for (int s = 0; s < parallel; ++s)
    for (int64_t i = 0; i < n; ++i) {
      b.add(static_cast<int32_t>(rng() % static_cast<uint64_t>(vocab)), s, i + 1 == n);
      if (static_cast<int64_t>(b.size()) == batch) decode(m, kv, b), b.clear();
    }
  if (b.size()) decode(m, kv, b);
}

}  // namespace

double run_once(const Model& m, const Test& t, const Params& p, uint64_t seed) {
  omp_set_num_threads(p.threads);
  KvCache kv(m.params(), p.depth + t.n_prompt + t.n_gen, p.parallel, GgmlType::F16, GgmlType::F16, p.batch);
  std::mt19937_64 rng(seed);
  if (p.depth > 0) feed(m, kv, p.parallel, p.depth, p.batch, rng);
  const auto t0 = std::chrono::steady_clock::now();
  if (t.n_prompt > 0) feed(m, kv, p.parallel, t.n_prompt, p.batch, rng);
  Batch b;
  for (int64_t i = 0; i < t.n_gen; ++i) {
    b.clear();
    for (int s = 0; s < p.parallel; ++s) b.add(static_cast<int32_t>(rng() % static_cast<uint64_t>(m.params().n_vocab)), s, true);
    decode(m, kv, b);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

namespace {
uint64_t matrix_bytes(const Model& m, uint64_t* params) {
  uint64_t bytes = 0, n = 0;
  for (const Weight* w : m.matrices()) bytes += (*w)->n_bytes, n += (*w)->n_elements;
  if (params) *params = n;
  return bytes;
}
}  // namespace

uint64_t bytes_per_step(const Model& m, int64_t ctx, int parallel) {
  const ModelParams& p = m.params();
  const uint64_t kv_row = static_cast<uint64_t>(p.n_head_kv * p.head_dim) * 2;  // F16
  uint64_t positions = 0;  // read per sequence: a windowed layer reads its window only
  for (int64_t l = 0; l < p.n_layer; ++l) positions += static_cast<uint64_t>(p.layer_is_swa(l) ? std::min(ctx, p.swa_window) : ctx);
  return matrix_bytes(m, nullptr) + static_cast<uint64_t>(parallel) * 2 * positions * kv_row;
}

double flops_per_token(const Model& m, int64_t ctx) {
  uint64_t params = 0;
  matrix_bytes(m, &params);
  const ModelParams& p = m.params();
  // Two per weight, plus the scores and the weighted sum of values over the context.
  return 2.0 * static_cast<double>(params) + 4.0 * static_cast<double>(p.n_layer * p.n_embd) * static_cast<double>(ctx);
}

}  // namespace llmkit::bench

// Causal self-attention of a decoder layer over the KV cache: the batch's keys and values are
// written into the cache, then every query head attends to its sequence's keys (all of them, or
// the last swa_window on a windowed layer).
#pragma once
#include <cstdint>
#include <vector>

#include "llmkit/kv_cache.h"
#include "llmkit/model.h"

namespace llmkit::detail {

// Where a batch's tokens go, fixed before the first layer: each token's sequence and position,
// and, per cache slot, the rows its keys take in the F32 copies (slots not in the batch: none).
struct BatchLayout {
  const int32_t* seq = nullptr;
  const int64_t* pos = nullptr;
  int64_t n = 0;
  std::vector<int64_t> seq_first;  // per slot: first row in the F32 keys and values
  std::vector<int64_t> seq_rows;   // per slot: rows (its cached positions after this batch)
  int64_t kv_rows = 0, longest = 0;
};

// The F32 copies of keys and values, reused from layer to layer and call to call.
struct AttentionBuffers {
  std::vector<float> kt, vf;
};

// q: n x q_dim (roped, scaled where the model scales queries), k and v: n x kv_dim (roped keys);
// writes k and v into layer l of the cache and the attention output, n x q_dim, to att.
void attend(const ModelParams& p, KvCache& kv, int64_t l, const BatchLayout& b, const float* q, const float* k,
            const float* v, float* att, AttentionBuffers& buf);

}  // namespace llmkit::detail

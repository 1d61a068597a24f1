// Causal self-attention of a decoder layer over the KV cache: the batch's keys and values are
// written into the cache, then every query head attends to its sequence's keys (all of them, or
// the last swa_window on a windowed layer).
#pragma once
#include <cstdint>
#include <vector>

#include "cpu/attention.h"
#include "llmkit/kv_cache.h"
#include "llmkit/model.h"

namespace llmkit::detail {

// The positions of each sequence that a layer's attention reads, copied to F32 rows one
// sequence after another: row first_row[s] + i holds position first_pos[s] + i, i < count[s]
// (slots not in the batch: none).
struct KvRows {
  std::vector<int64_t> first_row, first_pos, count;
  int64_t total = 0;
};

// Where a batch's tokens go, fixed before the first layer: each token's sequence and position,
// and the rows attention reads: every cached position on a global layer, the window before the
// batch's first token onwards on a windowed one.
struct BatchLayout {
  const int32_t* seq = nullptr;
  const int64_t* pos = nullptr;
  int64_t n = 0;
  KvRows full, windowed;
  int64_t longest = 0;
};

// Memory reused from layer to layer and call to call: the F32 copies of keys and values, and
// the unmerged parts of long contexts (their first item per token, the parts themselves).
struct AttentionBuffers {
  std::vector<float> kt, vf;
  std::vector<int64_t> first_item;
  std::vector<float> part_f;
  std::vector<double> part_d;
  std::vector<kernels::AttnPart> parts;
};

// q: n x q_dim (roped, scaled where the model scales queries), k and v: n x kv_dim (roped keys);
// writes k and v into layer l of the cache and the attention output, n x q_dim, to att.
void attend(const ModelParams& p, KvCache& kv, int64_t l, const BatchLayout& b, const float* q, const float* k,
            const float* v, float* att, AttentionBuffers& buf);

}  // namespace llmkit::detail

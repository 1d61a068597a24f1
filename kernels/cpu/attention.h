// The two inner loops of attention for one query head: its scores against a run of keys, and the
// probability-weighted sum of the values. Several keys per pass share the query's loads and the
// calls are few (one per head, not one per key), which is what decoding at a long context spends
// its time on. 8-lane GCC vectors (AVX2 or AVX-512 code as the build targets); scalar references
// beside them.
#pragma once
#include <cstddef>
#include <cstdint>

namespace llmkit::kernels {

// out[j] = scale * dot(q, k + j * k_stride) for j < n_keys; vectors of d floats.
void attn_scores_ref(const float* q, const float* k, size_t k_stride, int64_t n_keys, int64_t d, float scale, float* out);
void attn_scores(const float* q, const float* k, size_t k_stride, int64_t n_keys, int64_t d, float scale, float* out);

// out[i] += sum_j p[j] * v[j * v_stride + i] for i < d.
void attn_weighted_sum_ref(const float* p, const float* v, size_t v_stride, int64_t n, int64_t d, float* out);
void attn_weighted_sum(const float* p, const float* v, size_t v_stride, int64_t n, int64_t d, float* out);

}  // namespace llmkit::kernels

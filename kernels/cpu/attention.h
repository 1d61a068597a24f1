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

// s[j] = exp(s[j] - max) / sum for j < n, the sum in double (as ggml's softmax).
void softmax_inplace(float* s, int64_t n);

// Several queries at once, for encoders (every query of a sequence meets the same keys). Keys come
// transposed, kt[i * kt_stride + j] = element i of key j, so that 8 keys' scores accumulate in the
// lanes of one vector (no horizontal sums) and each key load serves up to 4 queries. Each row of kt
// must be readable up to n_keys rounded up to 16 (what lies past n_keys is read, never used). Each query's
// result is independent of how many share its block (each lane sums over i in order).
// out[r * out_stride + j] = scale * dot(q_r, key j), q_r = q + r * q_stride, r < nq (1..4).
void attn_scores_kt_ref(const float* q, size_t q_stride, int nq, const float* kt, size_t kt_stride, int64_t n_keys,
                        int64_t d, float scale, float* out, size_t out_stride);
void attn_scores_kt(const float* q, size_t q_stride, int nq, const float* kt, size_t kt_stride, int64_t n_keys,
                    int64_t d, float scale, float* out, size_t out_stride);

// out[r * out_stride + i] += sum_j p[r * p_stride + j] * v[j * v_stride + i], r < nq (1..4): each
// value row loaded once for every query of the block.
void attn_weighted_sum_multi_ref(const float* p, size_t p_stride, int nq, const float* v, size_t v_stride, int64_t n,
                                 int64_t d, float* out, size_t out_stride);
void attn_weighted_sum_multi(const float* p, size_t p_stride, int nq, const float* v, size_t v_stride, int64_t n,
                             int64_t d, float* out, size_t out_stride);

}  // namespace llmkit::kernels

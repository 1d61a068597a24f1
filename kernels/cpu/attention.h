// The inner loops of attention for a block of query heads that meet the same keys: their scores,
// the softmax, and the probability-weighted sums of the values. 16-lane GCC vectors (one AVX-512
// register, or two AVX2 ones, as the build targets); scalar references beside them.
#pragma once
#include <cstddef>
#include <cstdint>

namespace llmkit::kernels {

// s[j] = exp(s[j] - max) / sum for j < n, as ggml's softmax: the sum in double, then a multiply
// by 1/sum. exp to within 2 ulp, vectorised; 0 where it would be a denormal.
void softmax_inplace(float* s, int64_t n);
// Its first steps alone, for a softmax over keys taken a part at a time: s[j] = exp(s[j] - max),
// the maximum to *max, the sum (in double) returned.
double exp_shifted_inplace(float* s, int64_t n, float* max);

// What a softmax over one part of the keys leaves, per query r: the maximum score m[r], the sum
// of exp(score - m[r]) (in double), and the weighted sum of the values with those unnormalised
// weights, o[r * d + i].
struct AttnPart {
  float* o;
  float* m;
  double* sum;
};
// The parts of nq queries, merged in part order: out[r * d + i] = sum_p e^(m_p - M) o_p / sum_p
// e^(m_p - M) sum_p, M the largest m_p; the softmax over all the keys, to rounding.
void attn_merge_parts(const AttnPart* parts, int64_t n_parts, int64_t nq, int64_t d, float* out);

// Several queries at once: an encoder's tokens, or a decoder token's query heads of one KV head.
// Keys come transposed, kt[i * kt_stride + j] = element i of key j, so that 16 keys' scores
// accumulate in the lanes of one vector (no horizontal sums) and each key load serves up to 8 queries. Each row of kt
// must be readable up to n_keys rounded up to 16 (what lies past n_keys is read, never used). Each query's
// result is independent of how many share its block (each lane sums over i in order).
// out[r * out_stride + j] = scale * dot(q_r, key j), q_r = q + r * q_stride, r < nq (1..8).
void attn_scores_kt_ref(const float* q, size_t q_stride, int nq, const float* kt, size_t kt_stride, int64_t n_keys,
                        int64_t d, float scale, float* out, size_t out_stride);
void attn_scores_kt(const float* q, size_t q_stride, int nq, const float* kt, size_t kt_stride, int64_t n_keys,
                    int64_t d, float scale, float* out, size_t out_stride);

// The same over keys as the KV cache holds them, in blocks of 16 positions: element i of key j at
// kb[(j / 16) * block_stride + i * 16 + j % 16], as F16 (converted exactly: the scores of the same
// keys as F32) or F32. Each block is readable in full, past n_keys too.
void attn_scores_kb(const float* q, size_t q_stride, int nq, const uint16_t* kb, size_t block_stride, int64_t n_keys,
                    int64_t d, float scale, float* out, size_t out_stride);
void attn_scores_kb(const float* q, size_t q_stride, int nq, const float* kb, size_t block_stride, int64_t n_keys,
                    int64_t d, float scale, float* out, size_t out_stride);

// out[r * out_stride + i] += sum_j p[r * p_stride + j] * v[j * v_stride + i], r < nq (1..8): each
// value row loaded once for every query of the block; v as F32 or as F16 (converted exactly).
void attn_weighted_sum_multi_ref(const float* p, size_t p_stride, int nq, const float* v, size_t v_stride, int64_t n,
                                 int64_t d, float* out, size_t out_stride);
void attn_weighted_sum_multi(const float* p, size_t p_stride, int nq, const float* v, size_t v_stride, int64_t n,
                             int64_t d, float* out, size_t out_stride);
void attn_weighted_sum_multi(const float* p, size_t p_stride, int nq, const uint16_t* v, size_t v_stride, int64_t n,
                             int64_t d, float* out, size_t out_stride);

}  // namespace llmkit::kernels

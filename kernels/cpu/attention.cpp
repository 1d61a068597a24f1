#include "cpu/attention.h"

#include "cpu/fp16.h"
#include "cpu/vexp.h"

#if defined(__x86_64__)
#include <immintrin.h>
// GCC 12 warns about the placeholder operands inside its own AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <algorithm>
#include <cmath>
#include <cstring>

namespace llmkit::kernels {

void attn_scores_kt_ref(const float* q, size_t q_stride, int nq, const float* kt, size_t kt_stride, int64_t n_keys,
                        int64_t d, float scale, float* out, size_t out_stride) {
  for (int r = 0; r < nq; ++r)
    for (int64_t j = 0; j < n_keys; ++j) {
      float s = 0;
      for (int64_t i = 0; i < d; ++i) s += q[r * q_stride + static_cast<size_t>(i)] * kt[static_cast<size_t>(i) * kt_stride + static_cast<size_t>(j)];
      out[r * out_stride + static_cast<size_t>(j)] = s * scale;
    }
}

void attn_weighted_sum_multi_ref(const float* p, size_t p_stride, int nq, const float* v, size_t v_stride, int64_t n,
                                 int64_t d, float* out, size_t out_stride) {
  for (int r = 0; r < nq; ++r)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = 0; i < d; ++i)
        out[r * out_stride + static_cast<size_t>(i)] += p[r * p_stride + static_cast<size_t>(j)] * v[static_cast<size_t>(j) * v_stride + static_cast<size_t>(i)];
}

namespace {

using vexp::exp_nonpositive;
using vexp::splat16;
using vexp::v16f;
typedef double v8d __attribute__((vector_size(64)));
inline float value(float x) { return x; }
inline float value(uint16_t h) { return fp16_to_fp32(h); }


// 16 F32 lanes from F32 or F16 storage (F16 converted exactly, so either gives the same sums).
inline v16f load16(const float* p) { return vexp::load16(p); }
inline v16f load16(const uint16_t* p) {
#if defined(__AVX512F__)
  const __m512 v = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  v16f r;
  std::memcpy(&r, &v, sizeof r);
  return r;
#elif defined(__F16C__)
  const __m256 lo = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  const __m256 hi = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 8)));
  v16f r;
  std::memcpy(&r, &lo, sizeof lo);
  std::memcpy(reinterpret_cast<char*>(&r) + sizeof lo, &hi, sizeof hi);
  return r;
#else
  float t[16];
  for (int i = 0; i < 16; ++i) t[i] = fp16_to_fp32(p[i]);
  return vexp::load16(t);
#endif
}

// 16 keys (one 16-lane vector) for NQ queries: one load of keys and NQ broadcasts per NQ FMAs.
// Element i of the 16 keys at kt + i * elem_stride. Each lane sums over i in order, whatever NQ is.
template <int NQ, class T>
void scores16(const float* q, size_t q_stride, const T* kt, size_t elem_stride, int64_t d, float scale,
              float res[NQ][16]) {
  v16f a[NQ];
  for (int r = 0; r < NQ; ++r) a[r] = splat16(0.f);
  for (int64_t i = 0; i < d; ++i) {
    const v16f k = load16(kt + static_cast<size_t>(i) * elem_stride);
    for (int r = 0; r < NQ; ++r) a[r] += splat16(q[r * q_stride + static_cast<size_t>(i)]) * k;
  }
  for (int r = 0; r < NQ; ++r) {
    const v16f s = a[r] * scale;
    std::memcpy(res[r], &s, sizeof s);
  }
}

// Every key goes through the same 16-key code, the last few too (the rows are padded to a
// multiple of 16), so a score never depends on the sequence's length or the block's query count.
// Keys j..j+15 (j a multiple of 16) start at kt + (j / 16) * block_stride.
template <int NQ, class T>
void scores_kt(const float* q, size_t q_stride, const T* kt, size_t block_stride, size_t elem_stride, int64_t n_keys,
               int64_t d, float scale, float* out, size_t out_stride) {
  float res[NQ][16];
  for (int64_t j = 0; j < n_keys; j += 16) {
    scores16<NQ>(q, q_stride, kt + static_cast<size_t>(j / 16) * block_stride, elem_stride, d, scale, res);
    const size_t w = static_cast<size_t>(std::min<int64_t>(16, n_keys - j)) * sizeof(float);
    for (int r = 0; r < NQ; ++r) std::memcpy(out + r * out_stride + static_cast<size_t>(j), res[r], w);
  }
}

template <class T>
void scores_any(const float* q, size_t q_stride, int nq, const T* kt, size_t block_stride, size_t elem_stride,
                int64_t n_keys, int64_t d, float scale, float* out, size_t out_stride) {
  switch (nq) {
    case 1: return scores_kt<1>(q, q_stride, kt, block_stride, elem_stride, n_keys, d, scale, out, out_stride);
    case 2: return scores_kt<2>(q, q_stride, kt, block_stride, elem_stride, n_keys, d, scale, out, out_stride);
    case 3: return scores_kt<3>(q, q_stride, kt, block_stride, elem_stride, n_keys, d, scale, out, out_stride);
    case 4: return scores_kt<4>(q, q_stride, kt, block_stride, elem_stride, n_keys, d, scale, out, out_stride);
    case 5: return scores_kt<5>(q, q_stride, kt, block_stride, elem_stride, n_keys, d, scale, out, out_stride);
    case 6: return scores_kt<6>(q, q_stride, kt, block_stride, elem_stride, n_keys, d, scale, out, out_stride);
    case 7: return scores_kt<7>(q, q_stride, kt, block_stride, elem_stride, n_keys, d, scale, out, out_stride);
    default: return scores_kt<8>(q, q_stride, kt, block_stride, elem_stride, n_keys, d, scale, out, out_stride);
  }
}

// Up to 32 outputs of NQ queries in registers (2 x NQ 16-lane vectors) while the value rows stream
// past; each output sums over j in order, whatever NQ is.
template <int NQ, class T>
void wsum_multi(const float* p, size_t p_stride, const T* v, size_t v_stride, int64_t n, int64_t d, float* out,
                size_t out_stride) {
  const int64_t d16 = d / 16 * 16;
  for (int64_t i0 = 0; i0 < d16; i0 += 32) {
    const int w = d16 - i0 < 32 ? 1 : 2;
    v16f o[NQ][2];
    for (int r = 0; r < NQ; ++r)
      for (int c = 0; c < 2; ++c) o[r][c] = c < w ? load16(out + r * out_stride + static_cast<size_t>(i0 + 16 * c)) : splat16(0.f);
    for (int64_t j = 0; j < n; ++j) {
      const T* vj = v + static_cast<size_t>(j) * v_stride + static_cast<size_t>(i0);
      const v16f v0 = load16(vj), v1 = w > 1 ? load16(vj + 16) : splat16(0.f);
      for (int r = 0; r < NQ; ++r) {
        const v16f pj = splat16(p[r * p_stride + static_cast<size_t>(j)]);
        o[r][0] += pj * v0;
        o[r][1] += pj * v1;
      }
    }
    for (int r = 0; r < NQ; ++r)
      for (int c = 0; c < w; ++c) std::memcpy(out + r * out_stride + static_cast<size_t>(i0 + 16 * c), &o[r][c], sizeof(v16f));
  }
  for (int r = 0; r < NQ; ++r)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = d16; i < d; ++i)
        out[r * out_stride + static_cast<size_t>(i)] += p[r * p_stride + static_cast<size_t>(j)] * value(v[static_cast<size_t>(j) * v_stride + static_cast<size_t>(i)]);
}

template <class T>
void wsum_any(const float* p, size_t p_stride, int nq, const T* v, size_t v_stride, int64_t n, int64_t d, float* out,
              size_t out_stride) {
  switch (nq) {
    case 1: return wsum_multi<1>(p, p_stride, v, v_stride, n, d, out, out_stride);
    case 2: return wsum_multi<2>(p, p_stride, v, v_stride, n, d, out, out_stride);
    case 3: return wsum_multi<3>(p, p_stride, v, v_stride, n, d, out, out_stride);
    case 4: return wsum_multi<4>(p, p_stride, v, v_stride, n, d, out, out_stride);
    case 5: return wsum_multi<5>(p, p_stride, v, v_stride, n, d, out, out_stride);
    case 6: return wsum_multi<6>(p, p_stride, v, v_stride, n, d, out, out_stride);
    case 7: return wsum_multi<7>(p, p_stride, v, v_stride, n, d, out, out_stride);
    default: return wsum_multi<8>(p, p_stride, v, v_stride, n, d, out, out_stride);
  }
}

}  // namespace

// ggml's softmax: subtract the maximum, exponentiate, sum in double (exp_shifted_inplace), scale by 1/sum.
double exp_shifted_inplace(float* s, int64_t n, float* max) {
  const int64_t n16 = n / 16 * 16;
  float mx = -INFINITY;
  if (n16) {
    v16f m = load16(s);
    for (int64_t j = 16; j < n16; j += 16) {
      const v16f x = load16(s + j);
      m = x > m ? x : m;
    }
    for (int i = 0; i < 16; ++i) mx = std::max(mx, m[i]);
  }
  for (int64_t j = n16; j < n; ++j) mx = std::max(mx, s[j]);
  v8d acc = v8d{} + 0.0;
  for (int64_t j = 0; j < n16; j += 16) {
    const v16f e = exp_nonpositive(load16(s + j) - mx);
    std::memcpy(s + j, &e, sizeof e);
    acc += __builtin_convertvector(__builtin_shufflevector(e, e, 0, 1, 2, 3, 4, 5, 6, 7), v8d);
    acc += __builtin_convertvector(__builtin_shufflevector(e, e, 8, 9, 10, 11, 12, 13, 14, 15), v8d);
  }
  double sum = 0;
  for (int i = 0; i < 8; ++i) sum += acc[i];
  if (n > n16) {  // the tail through the same code, so a score's value never depends on n
    float tail[16];
    for (int i = 0; i < 16; ++i) tail[i] = n16 + i < n ? s[n16 + i] - mx : -INFINITY;
    const v16f e = exp_nonpositive(load16(tail));
    for (int64_t j = n16; j < n; ++j) {
      s[j] = e[j - n16];
      sum += s[j];
    }
  }
  *max = mx;
  return sum;
}

void attn_merge_parts(const AttnPart* parts, int64_t n_parts, int64_t nq, int64_t d, float* out) {
  for (int64_t r = 0; r < nq; ++r) {
    float mx = -INFINITY;
    for (int64_t p = 0; p < n_parts; ++p) mx = std::max(mx, parts[p].m[r]);
    double total = 0;
    float* o = out + r * d;
    std::fill(o, o + d, 0.f);
    for (int64_t p = 0; p < n_parts; ++p) {
      const float w = std::exp(parts[p].m[r] - mx);
      total += w * parts[p].sum[r];
      const float* op = parts[p].o + r * d;
      for (int64_t i = 0; i < d; ++i) o[i] += w * op[i];
    }
    const float inv = static_cast<float>(1.0 / total);
    for (int64_t i = 0; i < d; ++i) o[i] *= inv;
  }
}

void softmax_inplace(float* s, int64_t n) {
  float mx;
  const float inv = static_cast<float>(1.0 / exp_shifted_inplace(s, n, &mx));
  for (int64_t j = 0; j < n; ++j) s[j] *= inv;
}

void attn_scores_kt(const float* q, size_t q_stride, int nq, const float* kt, size_t kt_stride, int64_t n_keys,
                    int64_t d, float scale, float* out, size_t out_stride) {
  scores_any(q, q_stride, nq, kt, 16, kt_stride, n_keys, d, scale, out, out_stride);
}

void attn_scores_kb(const float* q, size_t q_stride, int nq, const uint16_t* kb, size_t block_stride, int64_t n_keys,
                    int64_t d, float scale, float* out, size_t out_stride) {
  scores_any(q, q_stride, nq, kb, block_stride, 16, n_keys, d, scale, out, out_stride);
}
void attn_scores_kb(const float* q, size_t q_stride, int nq, const float* kb, size_t block_stride, int64_t n_keys,
                    int64_t d, float scale, float* out, size_t out_stride) {
  scores_any(q, q_stride, nq, kb, block_stride, 16, n_keys, d, scale, out, out_stride);
}

void attn_weighted_sum_multi(const float* p, size_t p_stride, int nq, const float* v, size_t v_stride, int64_t n,
                             int64_t d, float* out, size_t out_stride) {
  wsum_any(p, p_stride, nq, v, v_stride, n, d, out, out_stride);
}
void attn_weighted_sum_multi(const float* p, size_t p_stride, int nq, const uint16_t* v, size_t v_stride, int64_t n,
                             int64_t d, float* out, size_t out_stride) {
  wsum_any(p, p_stride, nq, v, v_stride, n, d, out, out_stride);
}

}  // namespace llmkit::kernels

#include "cpu/attention.h"

#include "cpu/quant_fit_simd.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace llmkit::kernels {

void attn_scores_ref(const float* q, const float* k, size_t k_stride, int64_t n_keys, int64_t d, float scale, float* out) {
  for (int64_t j = 0; j < n_keys; ++j) {
    float s = 0;
    for (int64_t i = 0; i < d; ++i) s += q[i] * k[static_cast<size_t>(j) * k_stride + static_cast<size_t>(i)];
    out[j] = s * scale;
  }
}

void attn_weighted_sum_ref(const float* p, const float* v, size_t v_stride, int64_t n, int64_t d, float* out) {
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < d; ++i) out[i] += p[j] * v[static_cast<size_t>(j) * v_stride + static_cast<size_t>(i)];
}

void attn_scores(const float* q, const float* k, size_t k_stride, int64_t n_keys, int64_t d, float scale, float* out) {
  using namespace simd;
  const int64_t d8 = d / 8 * 8;
  int64_t j = 0;
  for (; j + 4 <= n_keys; j += 4) {
    const float* k0 = k + static_cast<size_t>(j) * k_stride;
    const float *k1 = k0 + k_stride, *k2 = k1 + k_stride, *k3 = k2 + k_stride;
    v8f a0 = splat(0.f), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t i = 0; i < d8; i += 8) {
      const v8f qi = load(q + i);
      a0 += qi * load(k0 + i);
      a1 += qi * load(k1 + i);
      a2 += qi * load(k2 + i);
      a3 += qi * load(k3 + i);
    }
    float s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
    for (int64_t i = d8; i < d; ++i) s0 += q[i] * k0[i], s1 += q[i] * k1[i], s2 += q[i] * k2[i], s3 += q[i] * k3[i];
    out[j] = s0 * scale, out[j + 1] = s1 * scale, out[j + 2] = s2 * scale, out[j + 3] = s3 * scale;
  }
  for (; j < n_keys; ++j) {
    const float* kj = k + static_cast<size_t>(j) * k_stride;
    v8f a = splat(0.f);
    for (int64_t i = 0; i < d8; i += 8) a += load(q + i) * load(kj + i);
    float s = hsum(a);
    for (int64_t i = d8; i < d; ++i) s += q[i] * kj[i];
    out[j] = s * scale;
  }
}

void attn_weighted_sum(const float* p, const float* v, size_t v_stride, int64_t n, int64_t d, float* out) {
  using namespace simd;
  const int64_t d8 = d / 8 * 8;
  for (int64_t i0 = 0; i0 < d8; i0 += 32) {
    // Up to 32 outputs held in four vectors while every value row streams past.
    const int64_t w = d8 - i0 < 32 ? d8 - i0 : 32;
    v8f o[4] = {splat(0.f), splat(0.f), splat(0.f), splat(0.f)};
    for (int64_t c = 0; c < w; c += 8) o[c / 8] = load(out + i0 + c);
    for (int64_t j = 0; j < n; ++j) {
      const v8f pj = splat(p[j]);
      const float* vj = v + static_cast<size_t>(j) * v_stride + static_cast<size_t>(i0);
      for (int64_t c = 0; c < w; c += 8) o[c / 8] += pj * load(vj + c);
    }
    for (int64_t c = 0; c < w; c += 8) std::memcpy(out + i0 + c, &o[c / 8], sizeof(v8f));
  }
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = d8; i < d; ++i) out[i] += p[j] * v[static_cast<size_t>(j) * v_stride + static_cast<size_t>(i)];
}

void softmax_inplace(float* s, int64_t n) {
  float mx = -INFINITY;
  for (int64_t j = 0; j < n; ++j) mx = std::max(mx, s[j]);
  double sum = 0;
  for (int64_t j = 0; j < n; ++j) {
    s[j] = std::exp(s[j] - mx);
    sum += s[j];
  }
  for (int64_t j = 0; j < n; ++j) s[j] = static_cast<float>(s[j] / sum);
}

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
  for (int r = 0; r < nq; ++r) attn_weighted_sum_ref(p + r * p_stride, v, v_stride, n, d, out + r * out_stride);
}

namespace {

using simd::v8f;

// 16 keys (two vectors) for NQ queries: 2 loads of keys and NQ broadcasts per 2 x NQ FMAs.
template <int NQ>
void scores16(const float* q, size_t q_stride, const float* kt, size_t kt_stride, int64_t d, float scale,
              float res[NQ][16]) {
  using namespace simd;
  v8f a[NQ][2];
  for (int r = 0; r < NQ; ++r) a[r][0] = a[r][1] = splat(0.f);
  for (int64_t i = 0; i < d; ++i) {
    const float* ki = kt + static_cast<size_t>(i) * kt_stride;
    const v8f k0 = load(ki), k1 = load(ki + 8);
    for (int r = 0; r < NQ; ++r) {
      const v8f qb = splat(q[r * q_stride + static_cast<size_t>(i)]);
      a[r][0] += qb * k0;
      a[r][1] += qb * k1;
    }
  }
  for (int r = 0; r < NQ; ++r) {
    const v8f s0 = a[r][0] * scale, s1 = a[r][1] * scale;
    std::memcpy(res[r], &s0, sizeof(v8f));
    std::memcpy(res[r] + 8, &s1, sizeof(v8f));
  }
}

// Every key goes through the same 16-key code, the last few too (the rows are padded to a
// multiple of 16), so a score never depends on the sequence's length or the block's query count.
template <int NQ>
void scores_kt(const float* q, size_t q_stride, const float* kt, size_t kt_stride, int64_t n_keys, int64_t d,
               float scale, float* out, size_t out_stride) {
  float res[NQ][16];
  for (int64_t j = 0; j < n_keys; j += 16) {
    scores16<NQ>(q, q_stride, kt + j, kt_stride, d, scale, res);
    const size_t w = static_cast<size_t>(std::min<int64_t>(16, n_keys - j)) * sizeof(float);
    for (int r = 0; r < NQ; ++r) std::memcpy(out + r * out_stride + static_cast<size_t>(j), res[r], w);
  }
}

// Up to 32 outputs of NQ queries in registers (4 x NQ vectors) while the value rows stream past.
template <int NQ>
void wsum_multi(const float* p, size_t p_stride, const float* v, size_t v_stride, int64_t n, int64_t d, float* out,
                size_t out_stride) {
  using namespace simd;
  const int64_t d8 = d / 8 * 8;
  for (int64_t i0 = 0; i0 < d8; i0 += 32) {
    const int w = static_cast<int>(d8 - i0 < 32 ? d8 - i0 : 32) / 8;
    v8f o[NQ][4];
    for (int r = 0; r < NQ; ++r)
      for (int c = 0; c < 4; ++c) o[r][c] = c < w ? load(out + r * out_stride + static_cast<size_t>(i0 + 8 * c)) : splat(0.f);
    for (int64_t j = 0; j < n; ++j) {
      const float* vj = v + static_cast<size_t>(j) * v_stride + static_cast<size_t>(i0);
      v8f vc[4];
      for (int c = 0; c < 4; ++c) vc[c] = c < w ? load(vj + 8 * c) : splat(0.f);
      for (int r = 0; r < NQ; ++r) {
        const v8f pj = splat(p[r * p_stride + static_cast<size_t>(j)]);
        for (int c = 0; c < 4; ++c) o[r][c] += pj * vc[c];
      }
    }
    for (int r = 0; r < NQ; ++r)
      for (int c = 0; c < w; ++c) std::memcpy(out + r * out_stride + static_cast<size_t>(i0 + 8 * c), &o[r][c], sizeof(v8f));
  }
  for (int r = 0; r < NQ; ++r)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = d8; i < d; ++i)
        out[r * out_stride + static_cast<size_t>(i)] += p[r * p_stride + static_cast<size_t>(j)] * v[static_cast<size_t>(j) * v_stride + static_cast<size_t>(i)];
}

}  // namespace

void attn_scores_kt(const float* q, size_t q_stride, int nq, const float* kt, size_t kt_stride, int64_t n_keys,
                    int64_t d, float scale, float* out, size_t out_stride) {
  switch (nq) {
    case 1: return scores_kt<1>(q, q_stride, kt, kt_stride, n_keys, d, scale, out, out_stride);
    case 2: return scores_kt<2>(q, q_stride, kt, kt_stride, n_keys, d, scale, out, out_stride);
    case 3: return scores_kt<3>(q, q_stride, kt, kt_stride, n_keys, d, scale, out, out_stride);
    default: return scores_kt<4>(q, q_stride, kt, kt_stride, n_keys, d, scale, out, out_stride);
  }
}

void attn_weighted_sum_multi(const float* p, size_t p_stride, int nq, const float* v, size_t v_stride, int64_t n,
                             int64_t d, float* out, size_t out_stride) {
  switch (nq) {
    case 1: return wsum_multi<1>(p, p_stride, v, v_stride, n, d, out, out_stride);
    case 2: return wsum_multi<2>(p, p_stride, v, v_stride, n, d, out, out_stride);
    case 3: return wsum_multi<3>(p, p_stride, v, v_stride, n, d, out, out_stride);
    default: return wsum_multi<4>(p, p_stride, v, v_stride, n, d, out, out_stride);
  }
}

}  // namespace llmkit::kernels

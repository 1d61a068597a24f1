#include "cpu/attention.h"

#include "cpu/quant_fit_simd.h"

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

}  // namespace llmkit::kernels

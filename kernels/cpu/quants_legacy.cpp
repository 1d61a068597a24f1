// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0: blocks of 32 with one (or a scale and a minimum) f16 per block.
#include <cfloat>
#include <cmath>
#include <cstring>

#include "cpu/fp16.h"
#include "cpu/quant_common.h"
#include "cpu/quant_fit_simd.h"
#include "cpu/quants.h"

namespace llmkit::kernels {
namespace {

inline void min_max(const float* x, int n, float* mn, float* mx) {
  float lo = FLT_MAX, hi = -FLT_MAX;
  for (int j = 0; j < n; ++j) {
    lo = x[j] < lo ? x[j] : lo;
    hi = x[j] > hi ? x[j] : hi;
  }
  *mn = lo;
  *mx = hi;
}

}  // namespace

void quantize_row_q4_0_ref(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<block_q4_0*>(vy);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    const float d = signed_absmax(x, kQK) / -8;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    for (int j = 0; j < kQK / 2; ++j) {
      int a = static_cast<int8_t>(x[j] * id + 8.5f), b = static_cast<int8_t>(x[j + 16] * id + 8.5f);
      a = a < 15 ? a : 15;
      b = b < 15 ? b : 15;
      y[i].qs[j] = static_cast<uint8_t>(a | (b << 4));
    }
  }
}

void quantize_row_q4_1_ref(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<block_q4_1*>(vy);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float mn, mx;
    min_max(x, kQK, &mn, &mx);
    const float d = (mx - mn) / 15;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    y[i].m = fp32_to_fp16(mn);
    for (int j = 0; j < kQK / 2; ++j) {
      int a = static_cast<int8_t>((x[j] - mn) * id + 0.5f), b = static_cast<int8_t>((x[j + 16] - mn) * id + 0.5f);
      a = a < 15 ? a : 15;
      b = b < 15 ? b : 15;
      y[i].qs[j] = static_cast<uint8_t>(a | (b << 4));
    }
  }
}

void quantize_row_q5_0_ref(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<block_q5_0*>(vy);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    const float d = signed_absmax(x, kQK) / -16;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      int a = static_cast<int8_t>(x[j] * id + 16.5f), b = static_cast<int8_t>(x[j + 16] * id + 16.5f);
      a = a < 31 ? a : 31;
      b = b < 31 ? b : 31;
      y[i].qs[j] = static_cast<uint8_t>((a & 0x0F) | ((b & 0x0F) << 4));
      qh |= uint32_t((a >> 4) & 1) << j;
      qh |= uint32_t((b >> 4) & 1) << (j + 16);
    }
    std::memcpy(y[i].qh, &qh, 4);
  }
}

void quantize_row_q5_1_ref(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<block_q5_1*>(vy);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float mn, mx;
    min_max(x, kQK, &mn, &mx);
    const float d = (mx - mn) / 31;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    y[i].m = fp32_to_fp16(mn);
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      int a = static_cast<uint8_t>((x[j] - mn) * id + 0.5f), b = static_cast<uint8_t>((x[j + 16] - mn) * id + 0.5f);
      y[i].qs[j] = static_cast<uint8_t>((a & 0x0F) | ((b & 0x0F) << 4));
      qh |= uint32_t((a >> 4) & 1) << j;
      qh |= uint32_t((b >> 4) & 1) << (j + 16);
    }
    std::memcpy(y[i].qh, &qh, 4);
  }
}

namespace {

// With an importance matrix, as llama.cpp quantizes the legacy types then: each value weighted
// by its column's importance times sqrt(sigma^2 + x^2), sigma^2 the row's mean square; the
// symmetric types fitted by make_qx_quants, those with a minimum by the asymmetric fit.
// Calls block(xb, weights, i) for each block.
template <class Block>
void weighted_blocks(const float* x, int64_t n, const float* qw, Block block) {
  float sum_x2 = 0;
  for (int64_t j = 0; j < n; ++j) sum_x2 += x[j] * x[j];
  const float sigma2 = sum_x2 / static_cast<float>(n);
  float w[kQK];
  for (int64_t i = 0; i < n / kQK; ++i) {
    const float* xb = x + i * kQK;
    for (int j = 0; j < kQK; ++j) w[j] = qw[i * kQK + j] * std::sqrt(sigma2 + xb[j] * xb[j]);
    block(xb, w, i);
  }
}

// The fifth bits of 32 five-bit codes, element j at bit j.
inline void pack_q5(const uint8_t* L, uint8_t* qs, uint8_t* qh_out) {
  uint32_t qh = 0;
  for (int j = 0; j < kQK / 2; ++j) {
    qs[j] = static_cast<uint8_t>((L[j] & 0x0F) | ((L[j + 16] & 0x0F) << 4));
    qh |= uint32_t((L[j] >> 4) & 1) << j;
    qh |= uint32_t((L[j + 16] >> 4) & 1) << (j + 16);
  }
  std::memcpy(qh_out, &qh, 4);
}

}  // namespace

void quantize_row_q4_0_imatrix(const float* x, void* vy, int64_t n, const float* qw) {
  auto* y = static_cast<block_q4_0*>(vy);
  weighted_blocks(x, n, qw, [&](const float* xb, const float* w, int64_t i) {
    int8_t L[kQK];
    y[i].d = fp32_to_fp16(make_qx_quants_weighted(kQK, 8, xb, L, w));
    for (int j = 0; j < kQK / 2; ++j) y[i].qs[j] = static_cast<uint8_t>(L[j] | (L[j + 16] << 4));
  });
}

void quantize_row_q5_0_imatrix(const float* x, void* vy, int64_t n, const float* qw) {
  auto* y = static_cast<block_q5_0*>(vy);
  weighted_blocks(x, n, qw, [&](const float* xb, const float* w, int64_t i) {
    int8_t L[kQK];
    y[i].d = fp32_to_fp16(make_qx_quants_weighted(kQK, 16, xb, L, w));
    pack_q5(reinterpret_cast<const uint8_t*>(L), y[i].qs, y[i].qh);
  });
}

namespace {
// Q4_1 and Q5_1: the asymmetric fit of each block (scale d, minimum m), codes in [0, nmax].
template <class Block, class Pack>
void quantize_min_blocks(const float* x, void* vy, int64_t n, const float* qw, int nmax, Pack pack) {
  auto* y = static_cast<Block*>(vy);
  weighted_blocks(x, n, qw, [&](const float* xb, const float* w, int64_t i) {
    uint8_t L[kQK];
    float min;
    y[i].d = fp32_to_fp16(simd::qkx2<kQK>(nmax, xb, w, L, &min, -0.9f, 0.05f, 36, false));
    y[i].m = fp32_to_fp16(-min);
    pack(L, y[i]);
  });
}
}  // namespace

void quantize_row_q4_1_imatrix(const float* x, void* vy, int64_t n, const float* qw) {
  quantize_min_blocks<block_q4_1>(x, vy, n, qw, 15, [](const uint8_t* L, block_q4_1& b) {
    for (int j = 0; j < kQK / 2; ++j) b.qs[j] = static_cast<uint8_t>(L[j] | (L[j + 16] << 4));
  });
}

void quantize_row_q5_1_imatrix(const float* x, void* vy, int64_t n, const float* qw) {
  quantize_min_blocks<block_q5_1>(x, vy, n, qw, 31, [](const uint8_t* L, block_q5_1& b) { pack_q5(L, b.qs, b.qh); });
}

void quantize_row_q8_0_ref(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<block_q8_0*>(vy);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float amax = 0.f;
    for (int j = 0; j < kQK; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    for (int j = 0; j < kQK; ++j) y[i].qs[j] = static_cast<int8_t>(std::round(x[j] * id));
  }
}

namespace {
// One block as ggml's x86 backend quantizes activations; returns the block's largest magnitude.
float quantize_block_act(const float* x, uint16_t& d, int8_t* qs) {
  float amax = 0.f;
  for (int j = 0; j < kQK; ++j) amax = std::fmax(amax, std::fabs(x[j]));
  const float id = amax != 0.f ? 127.f / amax : 0.f;
  d = fp32_to_fp16(amax / 127.f);
  // nearbyint in the default rounding mode: halves to even, as the vector rounding ggml uses.
  for (int j = 0; j < kQK; ++j) qs[j] = static_cast<int8_t>(std::nearbyint(x[j] * id));
  return amax;
}
}  // namespace

void quantize_row_q8_0_act(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<block_q8_0*>(vy);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) quantize_block_act(x, y[i].d, y[i].qs);
}

void quantize_row_q8_1_act(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<block_q8_1*>(vy);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    const float amax = quantize_block_act(x, y[i].d, y[i].qs);
    int sum = 0;
    for (int j = 0; j < kQK; ++j) sum += y[i].qs[j];
    y[i].s = fp32_to_fp16(amax / 127.f * static_cast<float>(sum));  // from the F32 scale, not the F16 one
  }
}

void dequantize_row_q8_1(const void* vx, float* y, int64_t n) {
  auto* x = static_cast<const block_q8_1*>(vx);
  for (int64_t i = 0; i < n / kQK; ++i, y += kQK) {
    const float d = fp16_to_fp32(x[i].d);
    for (int j = 0; j < kQK; ++j) y[j] = d * x[i].qs[j];
  }
}

void quantize_row_q8_0(const float* x, void* vy, int64_t n) {
  using namespace simd;
  auto* y = static_cast<block_q8_0*>(vy);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    v8f xv[4], va = splat(0.f);
    for (int k = 0; k < 4; ++k) {
      xv[k] = load(x + 8 * k);
      v8f a = vabs(xv[k]);
      va = a > va ? a : va;
    }
    const float d = hmax(va) / 127;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    for (int k = 0; k < 4; ++k) {
      // roundf exactly (halves away from zero), branch-free: truncate, then step away from zero
      // when the dropped fraction is at least one half. v - trunc(v) is exact here.
      v8f v = xv[k] * id;
      v8f t = __builtin_convertvector(__builtin_convertvector(v, v8i), v8f);
      v8f r = vabs(v - t) >= 0.5f ? t + (v < 0.f ? splat(-1.f) : splat(1.f)) : t;
      typedef int8_t v8b __attribute__((vector_size(8)));
      v8b q = __builtin_convertvector(__builtin_convertvector(r, v8i), v8b);
      std::memcpy(y[i].qs + 8 * k, &q, 8);
    }
  }
}

void dequantize_row_q4_0(const void* vx, float* y, int64_t n) {
  auto* x = static_cast<const block_q4_0*>(vx);
  for (int64_t i = 0; i < n / kQK; ++i, y += kQK) {
    const float d = fp16_to_fp32(x[i].d);
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = static_cast<float>((x[i].qs[j] & 0x0F) - 8) * d;
      y[j + 16] = static_cast<float>((x[i].qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_row_q4_1(const void* vx, float* y, int64_t n) {
  auto* x = static_cast<const block_q4_1*>(vx);
  for (int64_t i = 0; i < n / kQK; ++i, y += kQK) {
    const float d = fp16_to_fp32(x[i].d), m = fp16_to_fp32(x[i].m);
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = static_cast<float>(x[i].qs[j] & 0x0F) * d + m;
      y[j + 16] = static_cast<float>(x[i].qs[j] >> 4) * d + m;
    }
  }
}

void dequantize_row_q5_0(const void* vx, float* y, int64_t n) {
  auto* x = static_cast<const block_q5_0*>(vx);
  for (int64_t i = 0; i < n / kQK; ++i, y += kQK) {
    const float d = fp16_to_fp32(x[i].d);
    uint32_t qh;
    std::memcpy(&qh, x[i].qh, 4);
    for (int j = 0; j < kQK / 2; ++j) {
      int a = (x[i].qs[j] & 0x0F) | (((qh >> j) & 1) << 4);
      int b = (x[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
      y[j] = static_cast<float>(a - 16) * d;
      y[j + 16] = static_cast<float>(b - 16) * d;
    }
  }
}

void dequantize_row_q5_1(const void* vx, float* y, int64_t n) {
  auto* x = static_cast<const block_q5_1*>(vx);
  for (int64_t i = 0; i < n / kQK; ++i, y += kQK) {
    const float d = fp16_to_fp32(x[i].d), m = fp16_to_fp32(x[i].m);
    uint32_t qh;
    std::memcpy(&qh, x[i].qh, 4);
    for (int j = 0; j < kQK / 2; ++j) {
      int a = (x[i].qs[j] & 0x0F) | (((qh >> j) & 1) << 4);
      int b = (x[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
      y[j] = static_cast<float>(a) * d + m;
      y[j + 16] = static_cast<float>(b) * d + m;
    }
  }
}

void dequantize_row_q8_0(const void* vx, float* y, int64_t n) {
  auto* x = static_cast<const block_q8_0*>(vx);
  for (int64_t i = 0; i < n / kQK; ++i, y += kQK) {
    const float d = fp16_to_fp32(x[i].d);
    for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(x[i].qs[j]) * d;
  }
}

}  // namespace llmkit::kernels

// IQ4_NL and IQ4_XS: 4-bit codes into a fixed table of 16 non-uniform levels (kIq4nlValues).
// The fit is ggml's: a block's scale is searched among trial scales that put its largest value on
// the outer level, then on each of the 14 levels around it, keeping the one with the least
// weighted squared error; IQ4_XS then rounds the eight block scales of a super-block to six bits
// under one f16 scale and picks the codes again for the rounded scales.
#include <cmath>
#include <cstring>

#include "cpu/fp16.h"
#include "cpu/quants.h"

namespace llmkit::kernels {
namespace {

constexpr float kGroupMaxEps = 1e-15f;  // a block below this is all zeros
constexpr int kTrials = 7;              // trial scales either side of the first guess

// The index of the level nearest x (ties to the upper one); x beyond the ends takes the end.
int nearest_level(float x) {
  const int8_t* v = kIq4nlValues;
  if (x <= v[0]) return 0;
  if (x >= v[15]) return 15;
  int lo = 0, hi = 15;
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (x < v[mid]) hi = mid;
    else lo = mid;
  }
  return x - v[lo] < v[hi] - x ? lo : hi;
}

// sum w x q and sum w q^2 of the levels the inverse scale `id` picks for 32 values.
void weighted_sums(const float* x, const float* w, float id, float& sumqx, float& sumq2, uint8_t* codes) {
  sumqx = sumq2 = 0;
  for (int j = 0; j < 32; ++j) {
    const int l = nearest_level(id * x[j]);
    if (codes) codes[j] = static_cast<uint8_t>(l);
    const float q = kIq4nlValues[l];
    sumqx += w[j] * q * x[j];
    sumq2 += w[j] * q * q;
  }
}

// The scale of one block of 32 (0 for a block of zeros): the least-squares scale for the levels of
// the first guess, then of each trial, whichever explains the most of sum w x^2.
float fit_block(const float* x, const float* w) {
  float amax = 0, max = 0;
  for (int j = 0; j < 32; ++j)
    if (std::fabs(x[j]) > amax) amax = std::fabs(x[j]), max = x[j];
  if (amax < kGroupMaxEps) return 0;
  float sumqx, sumq2;
  weighted_sums(x, w, 1 / (-max / kIq4nlValues[0]), sumqx, sumq2, nullptr);
  float d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
  float best = d * sumqx;
  for (int t = -kTrials; t <= kTrials; ++t) {
    weighted_sums(x, w, (t + kIq4nlValues[0]) / max, sumqx, sumq2, nullptr);
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      d = sumqx / sumq2;
      best = d * sumqx;
    }
  }
  return d;
}

// The fit's weights for 32 values: the matrix's column weights times the value's spread against
// the super-block's (sigma2), or without a matrix the value's square.
void fit_weights(const float* x, const float* qw, float sigma2, float* w) {
  for (int j = 0; j < 32; ++j) w[j] = qw ? qw[j] * std::sqrt(sigma2 + x[j] * x[j]) : x[j] * x[j];
}

float spread(const float* x, int n) {
  float s = 0;
  for (int j = 0; j < n; ++j) s += x[j] * x[j];
  return s * (2.f / n);
}

// Codes of 32 values for inverse scale id, packed as Q4_0: byte j holds j (low) and j + 16 (high).
void pack_codes(const float* x, float id, uint8_t* qs) {
  for (int j = 0; j < 16; ++j)
    qs[j] = static_cast<uint8_t>(nearest_level(id * x[j]) | nearest_level(id * x[j + 16]) << 4);
}

void iq4_nl_row(const float* x, block_iq4_nl* y, int64_t n, const float* qw) {
  float w[32];
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    fit_weights(x, qw ? qw + kQK * b : nullptr, spread(x, kQK), w);
    const float d = fit_block(x, w);
    y[b].d = fp32_to_fp16(d);
    pack_codes(x, d ? 1 / d : 0.f, y[b].qs);
  }
}

void iq4_xs_row(const float* x, block_iq4_xs* y, int64_t n, const float* qw) {
  float w[32], scales[8];
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    const float* bw = qw ? qw + kQK_K * b : nullptr;
    const float sigma2 = spread(x, kQK_K);
    float max_scale = 0, amax_scale = 0;
    for (int s = 0; s < 8; ++s) {
      fit_weights(x + 32 * s, bw ? bw + 32 * s : nullptr, sigma2, w);
      scales[s] = fit_block(x + 32 * s, w);
      if (std::fabs(scales[s]) > amax_scale) amax_scale = std::fabs(scales[s]), max_scale = scales[s];
    }
    // The largest block scale (with its sign) becomes -32 under the super-block's scale.
    const float d = -max_scale / 32;
    const float id = d ? 1 / d : 0.f;
    block_iq4_xs& o = y[b];
    o.d = fp32_to_fp16(d);
    o.scales_h = 0;
    std::memset(o.scales_l, 0, sizeof o.scales_l);
    for (int s = 0; s < 8; ++s) {
      int l = nearest_int(id * scales[s]);
      l = l < -32 ? -32 : l > 31 ? 31 : l;
      const float dl = d * static_cast<float>(l);
      pack_codes(x + 32 * s, dl ? 1 / dl : 0.f, o.qs + 16 * s);
      const int stored = l + 32;
      o.scales_l[s / 2] = static_cast<uint8_t>(o.scales_l[s / 2] | (stored & 0xF) << (4 * (s % 2)));
      o.scales_h = static_cast<uint16_t>(o.scales_h | (stored >> 4) << (2 * s));
    }
  }
}

}  // namespace

void quantize_row_iq4_nl(const float* x, void* y, int64_t n) { iq4_nl_row(x, static_cast<block_iq4_nl*>(y), n, nullptr); }
void quantize_row_iq4_xs(const float* x, void* y, int64_t n) { iq4_xs_row(x, static_cast<block_iq4_xs*>(y), n, nullptr); }
void quantize_row_iq4_nl_imatrix(const float* x, void* y, int64_t n, const float* qw) {
  iq4_nl_row(x, static_cast<block_iq4_nl*>(y), n, qw);
}
void quantize_row_iq4_xs_imatrix(const float* x, void* y, int64_t n, const float* qw) {
  iq4_xs_row(x, static_cast<block_iq4_xs*>(y), n, qw);
}

void dequantize_row_iq4_nl(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const block_iq4_nl*>(vx);
  for (int64_t b = 0; b < n / kQK; ++b, y += kQK) {
    const float d = fp16_to_fp32(x[b].d);
    for (int j = 0; j < 16; ++j) {
      y[j] = d * kIq4nlValues[x[b].qs[j] & 0xF];
      y[j + 16] = d * kIq4nlValues[x[b].qs[j] >> 4];
    }
  }
}

void dequantize_row_iq4_xs(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const block_iq4_xs*>(vx);
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    for (int s = 0; s < 8; ++s, y += 32) {
      const float dl = d * static_cast<float>(iq4_xs_scale(x[b], s) - 32);
      const uint8_t* qs = x[b].qs + 16 * s;
      for (int j = 0; j < 16; ++j) {
        y[j] = dl * kIq4nlValues[qs[j] & 0xF];
        y[j + 16] = dl * kIq4nlValues[qs[j] >> 4];
      }
    }
  }
}

}  // namespace llmkit::kernels

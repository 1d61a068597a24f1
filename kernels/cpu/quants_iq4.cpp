// IQ4_NL and IQ4_XS: 4-bit codes into a fixed table of 16 non-uniform levels (kIq4nlValues).
// The fit is ggml's: a block's scale is searched among trial scales that put its largest value on
// the outer level, then on each of the 14 levels around it, keeping the one with the least
// weighted squared error; IQ4_XS then rounds the eight block scales of a super-block to six bits
// under one f16 scale and picks the codes again for the rounded scales.
#include <cmath>
#include <cstring>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "cpu/fp16.h"
#include "cpu/quants.h"

namespace llmkit::kernels {
namespace {

constexpr float kGroupMaxEps = 1e-15f;  // a block below this is all zeros
constexpr int kTrials = 7;              // trial scales either side of the first guess (2 x 7 + 1 + 1 = 16 lanes)

// 16 lanes (GCC vector extensions: one AVX-512 register, two AVX2 ones). The fit's 16 candidate
// scales (the first guess and 15 trials) run one per lane, so each lane's sums still add the 32
// values in order: the same float operations as the one-scale-at-a-time loop, in a sixteenth of
// the steps, and no branch on the data.
typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));

constexpr v16f kLevels = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

inline v16f splat(float f) { return v16f{} + f; }

// kLevels[idx] per lane: GCC's vector shuffle; elsewhere (clang builds the fuzzers) one permute
// (AVX-512), two and a blend (AVX2), or lane by lane.
inline v16f levels_at(v16i idx) {
#if defined(__GNUC__) && !defined(__clang__)
  return __builtin_shuffle(kLevels, idx);
#elif defined(__AVX512F__)
  __m512i i;
  __m512 t;
  std::memcpy(&i, &idx, sizeof i);
  std::memcpy(&t, &kLevels, sizeof t);
  const __m512 r = _mm512_permutexvar_ps(i, t);
  v16f out;
  std::memcpy(&out, &r, sizeof out);
  return out;
#elif defined(__AVX2__)
  alignas(64) float table[16], out[16];
  alignas(64) int32_t ids[16];
  std::memcpy(table, &kLevels, sizeof table);
  std::memcpy(ids, &idx, sizeof ids);
  const __m256 lo = _mm256_load_ps(table), hi = _mm256_load_ps(table + 8);
  for (int h = 0; h < 2; ++h) {
    const __m256i i = _mm256_load_si256(reinterpret_cast<const __m256i*>(ids + 8 * h));
    const __m256 upper = _mm256_castsi256_ps(_mm256_cmpgt_epi32(i, _mm256_set1_epi32(7)));
    _mm256_store_ps(out + 8 * h, _mm256_blendv_ps(_mm256_permutevar8x32_ps(lo, i), _mm256_permutevar8x32_ps(hi, i), upper));
  }
  v16f r;
  std::memcpy(&r, out, sizeof r);
  return r;
#else
  v16f r;
  for (int l = 0; l < 16; ++l) r[l] = kLevels[idx[l] & 15];
  return r;
#endif
}

// The level nearest each lane's value, and its index: a search for the last level <= x, then the
// nearer of it and the next (ties to the upper one, by the same differences as ggml's search);
// beyond the ends the end level, NaN the top one (as ggml's search ends there).
inline v16f nearest_levels(v16f x, v16i* index = nullptr) {
  v16i lo = v16i{} + 0;
  for (int step = 8; step >= 1; step /= 2) {
    const v16i cand = lo + step;
    lo = x >= levels_at(cand) ? cand : lo;
  }
  const v16i hi = lo < 15 ? lo + 1 : lo;
  const v16i up = (lo < 15) & ~(x - levels_at(lo) < levels_at(hi) - x);
  v16i idx = lo - up;  // up is -1 where the upper level is nearer
  idx = x != x ? v16i{} + 15 : idx;
  if (index) *index = idx;
  return levels_at(idx);
}

// The scale of one block of 32 (0 for a block of zeros): for the first guess (the largest value on
// the outer level) and for each trial (that value on one of the levels around it), the levels each
// picks and their least-squares scale; the one that explains the most of sum w x^2 wins.
float fit_block(const float* x, const float* w) {
  float amax = 0, max = 0;
  for (int j = 0; j < 32; ++j)
    if (std::fabs(x[j]) > amax) amax = std::fabs(x[j]), max = x[j];
  if (amax < kGroupMaxEps) return 0;
  v16f id;
  id[0] = 1 / (-max / kIq4nlValues[0]);
  for (int t = 1; t <= 2 * kTrials + 1; ++t) id[t] = static_cast<float>(t - kTrials - 1 + kIq4nlValues[0]) / max;
  v16f sumqx = splat(0), sumq2 = splat(0);
  for (int j = 0; j < 32; ++j) {
    const v16f q = nearest_levels(id * x[j]);
    const v16f wq = w[j] * q;
    sumqx += wq * x[j];
    sumq2 += wq * q;
  }
  float d = sumq2[0] > 0 ? sumqx[0] / sumq2[0] : 0.f;
  float best = d * sumqx[0];
  for (int t = 1; t <= 2 * kTrials + 1; ++t)
    if (sumq2[t] > 0 && sumqx[t] * sumqx[t] > best * sumq2[t]) {
      d = sumqx[t] / sumq2[t];
      best = d * sumqx[t];
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
  v16f lo, hi;
  std::memcpy(&lo, x, sizeof lo);
  std::memcpy(&hi, x + 16, sizeof hi);
  v16i a, b;
  nearest_levels(id * lo, &a);
  nearest_levels(id * hi, &b);
  for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>(a[j] | b[j] << 4);
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

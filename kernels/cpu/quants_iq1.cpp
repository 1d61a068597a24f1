// IQ1_S and IQ1_M as llama-quantize makes them. Per block (32 values for IQ1_S, 16 for IQ1_M) the
// codes are -1, 0, 1 shifted by +-1/8: sorted by value, every split into three runs is scored
// exactly from prefix sums (both shifts; IQ1_M's two halves each take their own), the best split's
// groups of 8 are moved to the nearest grid point where they fall off the grid, and the block
// scales are rounded to 3 bits under one per 256 (IQ1_M refits that one to the rounded scales).
// Built without FMA contraction: the same float operations as llama-quantize, so the same bytes.
#include <algorithm>
#include <cmath>
#include <cstring>

#ifdef __AVX2__
#include <immintrin.h>
#endif

#include "cpu/fp16.h"
#include "cpu/iq_search.h"
#include "cpu/quants.h"

namespace llmkit::kernels {
namespace {

constexpr float kDelta = 0.125f;
constexpr float kPlus[3] = {-1 + kDelta, kDelta, 1 + kDelta};
constexpr float kMinus[3] = {-1 - kDelta, -kDelta, 1 - kDelta};

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
constexpr v8f kLane = {0, 1, 2, 3, 4, 5, 6, 7};
// The lanes set in a mask, as bits. Only they can change the best so far: the best only grows,
// and a lane that lost against a smaller best (b2 > 0, rounding monotonic) loses against a larger
// one, so the ordered pass over a step visits just these lanes.
inline unsigned lane_bits(v8i m) {
#ifdef __AVX2__
  return static_cast<unsigned>(_mm256_movemask_ps(reinterpret_cast<__m256>(m)));
#else
  unsigned bits = 0;
  for (int l = 0; l < 8; ++l) bits |= (m[l] ? 1u : 0u) << l;
  return bits;
#endif
}


// The grid point nearest 8 values at `scale` with the shifted levels xx (first minimum wins),
// among the neighbours of lattice point u, eight neighbours a step (one a lane, each summing its
// coordinates in order); its levels go to L.
int nearest_point(const IqSearch& g, int u, const float* x, const float* w, float scale, const float* xx, int8_t* L) {
  float best = 3.402823466e38f;
  int found = -1;
  const int8_t* chunk = g.lanes.data() + static_cast<size_t>(g.lanes_first[u]) * 64;
  const uint16_t* nb = g.neighbours.data() + g.first[u];
  const int count = g.count[u];
  for (int j0 = 0; j0 < count; j0 += 8, chunk += 64) {
    v8f d2 = {};
    for (int i = 0; i < 8; ++i) {
      const v8f c = load_lane_coords(chunk + 8 * i);  // 1, 3, 5: the levels -1, 0, 1
      const v8f q = c == 1 ? v8f{} + xx[0] : c == 3 ? v8f{} + xx[1] : v8f{} + xx[2];
      const v8f diff = scale * q - x[i];
      d2 += w[i] * diff * diff;
    }
    for (int l = 0; l < 8 && j0 + l < count; ++l)
      if (d2[l] < best) best = d2[l], found = nb[j0 + l];
  }
  const int8_t* p = g.point(found);
  for (int i = 0; i < 8; ++i) L[i] = static_cast<int8_t>((p[i] - 1) / 2);
  return found;
}

// The groups of 8 of a block onto the grid: each group's lattice point, or where it is off the grid
// its nearest grid point at `scale` (levels_of(k): group k's shifted levels); then, if any moved,
// the least-squares scale for the points taken. Returns the scale; the grid indices go to index.
template <class LevelsOf>
float place_on_grid(const IqSearch& g, const float* xb, const float* weight, int groups, float scale, LevelsOf levels_of,
                    int8_t* L, uint16_t* index) {
  bool all_on_grid = true;
  for (int k = 0; k < groups; ++k) {
    int u = 0;
    for (int j = 0; j < 8; ++j) u |= L[8 * k + j] << (2 * j);
    int gi = g.index[u];
    if (gi < 0) {
      all_on_grid = false;
      gi = nearest_point(g, u, xb + 8 * k, weight + 8 * k, scale, levels_of(k), L + 8 * k);
    }
    index[k] = static_cast<uint16_t>(gi);
  }
  if (all_on_grid) return scale;
  float sumqx = 0, sumq2 = 0;
  for (int k = 0; k < groups; ++k) {
    const float* xx = levels_of(k);
    const int8_t* p = g.point(index[k]);
    for (int j = 0; j < 8; ++j) {
      const float q = xx[(p[j] - 1) / 2];
      sumqx += weight[8 * k + j] * q * xb[8 * k + j];
      sumq2 += weight[8 * k + j] * q * q;
    }
  }
  return sumqx > 0 && sumq2 > 0 ? sumqx / sumq2 : scale;
}

// The block's values in ascending order (ties in their original order, as glibc's qsort sorts
// these small arrays), as their indices.
void sorted_order(const float* xb, int n, int* idx) {
  for (int j = 0; j < n; ++j) {  // insertion: stable, and quick for 16 or 32 values
    int k = j;
    while (k > 0 && xb[j] < xb[idx[k - 1]]) idx[k] = idx[k - 1], --k;
    idx[k] = j;
  }
}

// Twice the super-block's mean square, which each value's weight adds to its square.
float super_block_sigma2(const float* xbl) {
  float sumx2 = 0;
  for (int i = 0; i < kQK_K; ++i) sumx2 += xbl[i] * xbl[i];
  return 2 * sumx2 / kQK_K;
}
float max_abs(const float* xb, int n) {
  float max = std::fabs(xb[0]);
  for (int i = 1; i < n; ++i) max = std::max(max, std::fabs(xb[i]));
  return max;
}

void block_weights(const float* xb, const float* qw, float sigma2, int n, float* weight) {
  for (int i = 0; i < n; ++i) weight[i] = qw ? qw[i] * std::sqrt(sigma2 + xb[i] * xb[i]) : xb[i] * xb[i];
}

void iq1_s_row(const float* x, void* vy, int64_t n, const float* qw) {
  const IqSearch& g = iq1_search();
  auto* y = static_cast<block_iq1_s*>(vy);
  constexpr int kBlock = 32;
  float scales[kQK_K / kBlock], weight[kBlock], sumx[kBlock + 9], sumw[kBlock + 9];
  int8_t L[kBlock], shifts[kQK_K / kBlock];
  int idx[kBlock];
  uint16_t index[kBlock / 8];
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    block_iq1_s& o = y[b];
    std::memset(&o, 0, sizeof o);
    const float* xbl = x + kQK_K * b;
    const float sigma2 = super_block_sigma2(xbl);
    float max_scale = 0;
    for (int ib = 0; ib < kQK_K / kBlock; ++ib) {
      const float* xb = xbl + kBlock * ib;
      block_weights(xb, qw ? qw + kQK_K * b + kBlock * ib : nullptr, sigma2, kBlock, weight);
      scales[ib] = 0;
      shifts[ib] = 1;
      const float max = max_abs(xb, kBlock);
      if (max < 1e-12f) continue;
      sorted_order(xb, kBlock, idx);
      sumx[0] = sumw[0] = 0;
      for (int j = 0; j < kBlock; ++j) {
        sumx[j + 1] = sumx[j] + weight[idx[j]] * xb[idx[j]];
        sumw[j + 1] = sumw[j] + weight[idx[j]];
      }
      float best = -3.402823466e38f, scale = max;
      int best1 = -1, best2 = -1, best_shift = 0;
      // Eight second split points a step, one a lane (the same float operations per candidate);
      // a step where no candidate beats the best so far leaves it unchanged, so it is passed
      // over, and any other is gone through in order as one candidate at a time would.
      for (int j = kBlock + 1; j < kBlock + 9; ++j) sumx[j] = sumx[kBlock], sumw[j] = sumw[kBlock];
      for (int i1 = 0; i1 <= kBlock; ++i1)
        for (int i20 = i1; i20 <= kBlock; i20 += 8) {
          v8f x2, w2, qx[2], q2[2];
          std::memcpy(&x2, sumx + i20, sizeof x2);
          std::memcpy(&w2, sumw + i20, sizeof w2);
          for (int s = 0; s < 2; ++s) {
            const float* v = s == 0 ? kPlus : kMinus;
            qx[s] = (sumx[i1] - sumx[0]) * v[0] + (x2 - sumx[i1]) * v[1] + (sumx[kBlock] - x2) * v[2];
            q2[s] = (sumw[i1] - sumw[0]) * v[0] * v[0] + (w2 - sumw[i1]) * v[1] * v[1] + (sumw[kBlock] - w2) * v[2] * v[2];
          }
          const v8i valid = kLane + static_cast<float>(i20) <= static_cast<float>(kBlock);
          const v8i hit = valid & (((q2[0] > 0) & (qx[0] * qx[0] > best * q2[0])) | ((q2[1] > 0) & (qx[1] * qx[1] > best * q2[1])));
          for (unsigned bits = lane_bits(hit); bits; bits &= bits - 1)
            for (int s = 0, l = __builtin_ctz(bits); s < 2; ++s) {
              const float sumqx = qx[s][l], sumq2 = q2[s][l];
              if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
                scale = sumqx / sumq2;
                best = scale * sumqx;
                best1 = i1, best2 = i20 + l, best_shift = s == 0 ? 1 : -1;
              }
            }
        }
      if (best1 < 0 || best2 < 0 || best_shift == 0) continue;
      for (int j = 0; j < kBlock; ++j) L[idx[j]] = static_cast<int8_t>(j < best1 ? 0 : j < best2 ? 1 : 2);
      if (scale < 0) {
        for (int j = 0; j < kBlock; ++j) L[j] = static_cast<int8_t>(2 - L[j]);
        scale = -scale;
        best_shift = -best_shift;
      }
      const float* xx = best_shift == 1 ? kPlus : kMinus;
      scale = place_on_grid(g, xb, weight, kBlock / 8, scale, [&](int) { return xx; }, L, index);
      uint16_t h = 0;
      for (int k = 0; k < kBlock / 8; ++k) {
        o.qs[(kBlock / 8) * ib + k] = static_cast<uint8_t>(index[k] & 255);
        h = static_cast<uint16_t>(h | (index[k] >> 8) << (3 * k));
      }
      o.qh[ib] = h;
      scales[ib] = scale;
      shifts[ib] = static_cast<int8_t>(best_shift);
      max_scale = std::max(max_scale, scale);
    }
    if (!max_scale) continue;
    const float d = max_scale / 15;
    o.d = fp32_to_fp16(d * 1.125f);
    const float id = 1 / d;
    for (int ib = 0; ib < kQK_K / kBlock; ++ib) {
      int l = nearest_int(0.5f * (id * scales[ib] - 1));
      l = l < 0 ? 0 : l > 7 ? 7 : l;
      if (shifts[ib] == -1) l |= 8;
      o.qh[ib] = static_cast<uint16_t>(o.qh[ib] | l << 12);
    }
  }
}

void iq1_m_row(const float* x, void* vy, int64_t n, const float* qw) {
  const IqSearch& g = iq1_search();
  auto* y = static_cast<block_iq1_m*>(vy);
  constexpr int kBlock = 16;
  constexpr uint8_t kMasks[4] = {0x00, 0x80, 0x08, 0x88};
  float scales[kQK_K / kBlock], weight[kBlock];
  int8_t L[kBlock], shifts[kQK_K / kBlock];
  int idx[kBlock];
  uint16_t index[2];
  // Shift k: bit 1 for the first half of 8 (0: +, 1: -), bit 0 for the second.
  auto levels = [](int k, int half) { return (half == 0 ? k < 2 : k % 2 == 0) ? kPlus : kMinus; };
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    block_iq1_m& o = y[b];
    std::memset(&o, 0, sizeof o);
    const float* xbl = x + kQK_K * b;
    const float* wbl = qw ? qw + kQK_K * b : nullptr;
    const float sigma2 = super_block_sigma2(xbl);
    float max_scale = 0;
    for (int ib = 0; ib < kQK_K / kBlock; ++ib) {
      const float* xb = xbl + kBlock * ib;
      block_weights(xb, wbl ? wbl + kBlock * ib : nullptr, sigma2, kBlock, weight);
      scales[ib] = 0;
      shifts[ib] = 0;
      const float max = max_abs(xb, kBlock);
      if (max < 1e-7f) continue;
      sorted_order(xb, kBlock, idx);
      // Prefix sums per half (each half may take the other shift); with equal steps between the
      // levels a split's sum is total x top level - the two prefix sums at the split points.
      float px[2][kBlock + 9], pw[2][kBlock + 9];
      px[0][0] = px[1][0] = pw[0][0] = pw[1][0] = 0;
      for (int j = 0; j < kBlock; ++j) {
        const int i = idx[j], h = i < kBlock / 2 ? 0 : 1;
        px[h][j + 1] = px[h][j] + weight[i] * xb[i];
        px[1 - h][j + 1] = px[1 - h][j];
        pw[h][j + 1] = pw[h][j] + weight[i];
        pw[1 - h][j + 1] = pw[1 - h][j];
      }
      const float txs[2] = {px[0][kBlock], px[1][kBlock]}, tws[2] = {pw[0][kBlock], pw[1][kBlock]};
      const float p2 = kPlus[2], m2 = kMinus[2];
      const float cp1 = kPlus[0] * kPlus[0] - kPlus[1] * kPlus[1], cp2 = kPlus[1] * kPlus[1] - kPlus[2] * kPlus[2];
      const float cm1 = kMinus[0] * kMinus[0] - kMinus[1] * kMinus[1], cm2 = kMinus[1] * kMinus[1] - kMinus[2] * kMinus[2];
      float best = -3.402823466e38f, scale = max;
      int best1 = -1, best2 = -1, best_k = -1;
      // Eight second split points a step, as for IQ1_S.
      for (int h = 0; h < 2; ++h)
        for (int j = kBlock + 1; j < kBlock + 9; ++j) px[h][j] = px[h][kBlock], pw[h][j] = pw[h][kBlock];
      for (int i1 = 0; i1 <= kBlock; ++i1)
        for (int i20 = i1; i20 <= kBlock; i20 += 8) {
          v8f qx_p[2], qx_m[2], q2_p[2], q2_m[2];
          for (int h = 0; h < 2; ++h) {
            v8f x2, w2;
            std::memcpy(&x2, px[h] + i20, sizeof x2);
            std::memcpy(&w2, pw[h] + i20, sizeof w2);
            const v8f sx = px[h][i1] + x2;
            qx_p[h] = txs[h] * p2 - sx;
            qx_m[h] = txs[h] * m2 - sx;
            q2_p[h] = tws[h] * p2 * p2 + pw[h][i1] * cp1 + w2 * cp2;
            q2_m[h] = tws[h] * m2 * m2 + pw[h][i1] * cm1 + w2 * cm2;
          }
          const v8f sumqx[4] = {qx_p[0] + qx_p[1], qx_p[0] + qx_m[1], qx_m[0] + qx_p[1], qx_m[0] + qx_m[1]};
          const v8f sumq2[4] = {q2_p[0] + q2_p[1], q2_p[0] + q2_m[1], q2_m[0] + q2_p[1], q2_m[0] + q2_m[1]};
          v8i hit = {};
          for (int k = 0; k < 4; ++k) hit |= (sumq2[k] > 0) & (sumqx[k] * sumqx[k] > best * sumq2[k]);
          hit &= kLane + static_cast<float>(i20) <= static_cast<float>(kBlock);
          for (unsigned bits = lane_bits(hit); bits; bits &= bits - 1)
            for (int k = 0, l = __builtin_ctz(bits); k < 4; ++k) {
              const float a = sumqx[k][l], b2 = sumq2[k][l];
              if (b2 > 0 && a * a > best * b2) {
                scale = a / b2;
                best = scale * a;
                best1 = i1, best2 = i20 + l, best_k = k;
              }
            }
        }
      if (best1 < 0 || best2 < 0 || best_k < 0) continue;
      for (int j = 0; j < kBlock; ++j) L[idx[j]] = static_cast<int8_t>(j < best1 ? 0 : j < best2 ? 1 : 2);
      if (scale < 0) {
        for (int j = 0; j < kBlock; ++j) L[j] = static_cast<int8_t>(2 - L[j]);
        scale = -scale;
        best_k = 3 - best_k;
      }
      scale = place_on_grid(g, xb, weight, 2, scale, [&](int k) { return levels(best_k, k); }, L, index);
      o.qs[2 * ib] = static_cast<uint8_t>(index[0] & 255);
      o.qs[2 * ib + 1] = static_cast<uint8_t>(index[1] & 255);
      o.qh[ib] = static_cast<uint8_t>((index[0] >> 8) | (index[1] >> 8) << 4);
      scales[ib] = scale;
      shifts[ib] = static_cast<int8_t>(best_k);
      max_scale = std::max(max_scale, scale);
    }
    if (!max_scale) continue;
    // The 3-bit block scales, then the super-scale refitted to them over every block.
    uint16_t sc[4] = {};
    float d = max_scale / 15;
    const float id = 1 / d;
    float sumqx = 0, sumq2 = 0;
    for (int ib = 0; ib < kQK_K / kBlock; ++ib) {
      int l = nearest_int(0.5f * (id * scales[ib] - 1));
      l = l < 0 ? 0 : l > 7 ? 7 : l;
      sc[ib / 4] = static_cast<uint16_t>(sc[ib / 4] | l << (3 * (ib % 4)));
      o.qh[ib] = static_cast<uint8_t>(o.qh[ib] | kMasks[shifts[ib]]);
      const float* xb = xbl + kBlock * ib;
      block_weights(xb, wbl ? wbl + kBlock * ib : nullptr, sigma2, kBlock, weight);
      for (int k = 0; k < 2; ++k) {
        const float* xx = levels(shifts[ib], k);
        const int8_t* p = g.point(o.qs[2 * ib + k] + ((o.qh[ib] << (8 - 4 * k)) & 0x700));
        for (int j = 0; j < 8; ++j) {
          const float q = xx[(p[j] - 1) / 2] * static_cast<float>(2 * l + 1);
          sumqx += weight[8 * k + j] * q * xb[8 * k + j];
          sumq2 += weight[8 * k + j] * q * q;
        }
      }
    }
    if (sumq2 > 0) d = sumqx / sumq2;
    const uint16_t s = fp32_to_fp16(d * 1.1125f);
    sc[0] = static_cast<uint16_t>(sc[0] | (s & 0x000F) << 12);
    sc[1] = static_cast<uint16_t>(sc[1] | (s & 0x00F0) << 8);
    sc[2] = static_cast<uint16_t>(sc[2] | (s & 0x0F00) << 4);
    sc[3] = static_cast<uint16_t>(sc[3] | (s & 0xF000));
    std::memcpy(o.scales, sc, sizeof sc);
  }
}

}  // namespace

void quantize_row_iq1_s(const float* x, void* y, int64_t n) { iq1_s_row(x, y, n, nullptr); }
void quantize_row_iq1_m(const float* x, void* y, int64_t n) { iq1_m_row(x, y, n, nullptr); }
void quantize_row_iq1_s_imatrix(const float* x, void* y, int64_t n, const float* qw) { iq1_s_row(x, y, n, qw); }
void quantize_row_iq1_m_imatrix(const float* x, void* y, int64_t n, const float* qw) { iq1_m_row(x, y, n, qw); }

}  // namespace llmkit::kernels

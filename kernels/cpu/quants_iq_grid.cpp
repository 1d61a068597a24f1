// IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS and IQ3_S as llama-quantize makes them. Per block of 16 or 32
// values (one scale each): the signs come off (the XXS/XS formats keep an even count of minus signs
// per 8, flipping the value that matters least), then trial scales each give every group of 8 (or
// 4) magnitudes a lattice point (levels 2 l + 1), moved to the nearest grid point (weighted) where
// it is off the grid; the trial explaining the most of sum w x^2 wins, groups are placed again for
// its least-squares scale, and the block scales are rounded to 4 bits under an f16 one per 256.
// The formats differ in the details llama-quantize gives each (listed in GridVariant). Built
// without FMA contraction: the same float operations as llama-quantize, so the same bytes.
#include <cmath>
#include <cstring>

#ifdef __AVX2__
#include <immintrin.h>
#endif

#include "cpu/fp16.h"
#include "cpu/iq_search.h"
#include "cpu/quant_common.h"
#include "cpu/quants.h"

namespace llmkit::kernels {
namespace {

enum class Refit { Always, OffGridAll, OffGridOnly };

struct GridVariant {
  int grid_size;
  bool iq3;            // 4 coordinates of 8 levels (IQ3) or 8 of 3 (IQ2)
  int block;           // values per scale: 32 or 16
  bool even_signs;     // 7 sign bits per 8 values, the eighth implied by parity
  float zero_below;    // a block whose largest magnitude is below this is zeros (0: exactly zero)
  int trials;          // trial scales -trials..trials
  float step;          // ... this far apart, around 2 kMaxQ - 1
  bool qp_start;       // the trials centre on make_qp_quants's scale (IQ2_XXS) rather than the largest value
  bool on_grid_start;  // a group counts as on the grid until a trial says otherwise
  Refit refit;         // which groups are placed again for the final scale, and when
  float sigma;         // sigma2 = sigma x mean square of the 256 values
  bool sigma_weights;  // without a matrix, weights 0.25 sigma2 + x^2 (IQ2_S) rather than x^2
  float fudge;         // the f16 super-scale is max_scale / 31 times this
};
constexpr GridVariant kIq2xxs{256, false, 32, true, 1e-15f, 6, 0.1f, true, true, Refit::Always, 1, false, 1};
constexpr GridVariant kIq2xs{512, false, 16, true, 1e-15f, 9, 0.1f, false, true, Refit::OffGridOnly, 1, false, 1};
constexpr GridVariant kIq2s{1024, false, 16, false, 1e-8f, 9, 0.1f, false, true, Refit::OffGridOnly, 2, true, 0.9875f};
constexpr GridVariant kIq3xxs{256, true, 32, true, 1e-8f, 15, 0.2f, false, true, Refit::OffGridOnly, 2, false, 1.0125f};
constexpr GridVariant kIq3s{512, true, 32, false, 0.f, 9, 0.2f, false, false, Refit::OffGridAll, 2, false, 1.033f};

typedef float v8f __attribute__((vector_size(32)));
typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));

// nearest_int of 16 lanes (the same bit trick: ties to even).
inline v16i nearest16(v16f f) {
  const v16i i = reinterpret_cast<v16i>(f + 12582912.f);
  return (i & 0x007fffff) - 0x00400000;
}


// The grid point nearest a group's magnitudes at `scale` by weighted squared error, among the
// neighbours of the lattice point `u` (first minimum wins); its levels go to L. Eight neighbours
// per step, one a lane: each lane sums its coordinates in order, as the one-at-a-time loop does.
int best_neighbour(const IqSearch& g, int u, const float* xval, const float* w, float scale, int8_t* L) {
  float best = 3.402823466e38f;
  int found = -1;
  const int dims = g.dims;
  const int8_t* chunk = g.lanes.data() + static_cast<size_t>(g.lanes_first[u]) * 8 * dims;
  const uint16_t* nb = g.neighbours.data() + g.first[u];
  const int count = g.count[u];
  const v8f lane = {0, 1, 2, 3, 4, 5, 6, 7};
  for (int j0 = 0; j0 < count; j0 += 8, chunk += 8 * dims) {
    v8f d2 = {};
    for (int i = 0; i < dims; ++i) {
      const v8f diff = scale * load_lane_coords(chunk + 8 * i) - xval[i];
      d2 += w[i] * diff * diff;
    }
    // Lanes past the list never win; the chunk's minimum, at its first lane, replaces the best
    // only when strictly smaller (earlier neighbours win ties).
    d2 = lane < static_cast<float>(count - j0) ? d2 : v8f{} + 3.402823466e38f;
#ifdef __AVX2__
    const __m256 v = reinterpret_cast<__m256>(d2);
    __m256 mn = _mm256_min_ps(v, _mm256_permute2f128_ps(v, v, 1));
    mn = _mm256_min_ps(mn, _mm256_shuffle_ps(mn, mn, 0x4E));
    mn = _mm256_min_ps(mn, _mm256_shuffle_ps(mn, mn, 0xB1));
    const float m = _mm256_cvtss_f32(mn);
    if (m < best) {
      best = m;
      found = nb[j0 + __builtin_ctz(static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v, mn, _CMP_EQ_OQ))))];
    }
#else
    float m = d2[0];
    for (int l = 1; l < 8; ++l) m = d2[l] < m ? d2[l] : m;
    if (m < best) {
      int l = 0;
      while (d2[l] != m) ++l;
      best = m;
      found = nb[j0 + l];
    }
#endif
  }
  const int8_t* p = g.point(found);
  for (int i = 0; i < dims; ++i) L[i] = static_cast<int8_t>((p[i] - 1) / 2);
  return found;
}

struct Block {
  uint16_t idx[8];   // grid index per group
  uint8_t signs[4];  // per 8 values
  float scale;
  bool skipped;      // zeros: nothing written for it
};

// One block's grid points, signs and scale.
void fit_block(const GridVariant& v, const IqSearch& g, const float* xb, const float* qw, float sigma2, Block& out) {
  const int n = v.block, dims = g.dims, groups = n / dims, max_q = v.iq3 ? 8 : 3;
  float weight[32], waux[32], xval[32];
  int8_t L[32] = {};
  bool on_grid[8];
  for (int i = 0; i < n; ++i)
    weight[i] = qw ? qw[i] * std::sqrt(sigma2 + xb[i] * xb[i]) : v.sigma_weights ? 0.25f * sigma2 + xb[i] * xb[i] : xb[i] * xb[i];
  for (int i = 0; i < n; ++i) waux[i] = std::sqrt(weight[i]);
  for (int k = 0; k < n / 8; ++k) {
    int flips = 0;
    unsigned s = 0;
    for (int i = 0; i < 8; ++i) {
      const float x = xb[8 * k + i];
      xval[8 * k + i] = x >= 0 ? x : -x;
      if (!(x >= 0)) ++flips, s |= 1u << i;
    }
    if (v.even_signs && flips % 2) {  // the value with the least weight x^2 takes the other sign
      int imin = 0;
      float min = weight[8 * k] * xb[8 * k] * xb[8 * k];
      for (int i = 1; i < 8; ++i) {
        const float ax = weight[8 * k + i] * xb[8 * k + i] * xb[8 * k + i];
        if (ax < min) min = ax, imin = i;
      }
      xval[8 * k + imin] = -xval[8 * k + imin];
      s ^= 1u << imin;
    }
    out.signs[k] = static_cast<uint8_t>(v.even_signs ? s & 127 : s);
  }
  float max = xval[0];
  for (int i = 1; i < n; ++i) max = max > xval[i] ? max : xval[i];
  std::memset(out.idx, 0, sizeof out.idx);
  out.scale = 0;
  out.skipped = v.zero_below > 0 ? max < v.zero_below : !max;
  float scale, reach;  // the first scale, and the magnitude the trials put on the top level
  if (!out.skipped && v.qp_start) {
    scale = make_qp_quants(n, max_q + 1, xval, reinterpret_cast<uint8_t*>(L), weight);
    reach = scale * static_cast<float>(max_q);
    out.skipped = reach <= 0;
  } else {
    scale = max / static_cast<float>(2 * max_q - 1);
    reach = max;
  }
  if (out.skipped) {
    std::memset(out.signs, 0, sizeof out.signs);
    return;
  }
  auto lattice = [&](float id, const float* x, int8_t* l) {
    int u = 0;
    for (int i = 0; i < dims; ++i) {
      const int q = nearest_int(0.5f * (id * x[i] - 1));
      l[i] = static_cast<int8_t>(q < 0 ? 0 : q > max_q - 1 ? max_q - 1 : q);
      u |= l[i] << (g.bits * i);
    }
    return u;
  };
  auto sums = [&](const int8_t* l, float& sumqx, float& sumq2) {
    sumqx = sumq2 = 0;
    for (int i = 0; i < n; ++i) {
      const float q = static_cast<float>(2 * l[i] + 1);
      sumqx += weight[i] * xval[i] * q;
      sumq2 += weight[i] * q * q;
    }
  };
  // Every trial's codes first (levels of all values at once, then the off-grid groups moved),
  // then the sums of eight trials at a time, one a lane, each adding its values in order; then
  // the trials compared in order, as one trial at a time would.
  const int ntrials = 2 * v.trials + 1;
  int8_t codes[31][32];   // trial, value
  int8_t by_value[32][32];  // value, trial (padded to a multiple of 8 trials)
  bool trial_on_grid[31][8];
  for (int t = 0; t < ntrials; ++t) {
    const float id = (static_cast<float>(2 * max_q - 1) + static_cast<float>(t - v.trials) * v.step) / reach;
    const float this_scale = 1 / id;
    int8_t* la = codes[t];
    for (int i0 = 0; i0 < n; i0 += 16) {
      v16f xv;
      std::memcpy(&xv, xval + i0, sizeof xv);
      v16i q = nearest16(0.5f * (id * xv - 1));
      q = q < 0 ? v16i{} : q;
      q = q > max_q - 1 ? v16i{} + (max_q - 1) : q;
      for (int i = 0; i < 16; ++i) la[i0 + i] = static_cast<int8_t>(q[i]);
    }
    for (int k = 0; k < groups; ++k) {
      int u = 0;
      for (int i = 0; i < dims; ++i) u |= la[dims * k + i] << (g.bits * i);
      trial_on_grid[t][k] = g.index[u] >= 0;
      if (!trial_on_grid[t][k]) best_neighbour(g, u, xval + dims * k, waux + dims * k, this_scale, la + dims * k);
    }
  }
  for (int i = 0; i < n; ++i) {
    for (int t = 0; t < ntrials; ++t) by_value[i][t] = codes[t][i];
    for (int t = ntrials; t < 32; ++t) by_value[i][t] = 0;
  }
  float tsumqx[32], tsumq2[32];
  for (int t0 = 0; t0 < ntrials; t0 += 8) {
    v8f sqx = {}, sq2 = {};
    for (int i = 0; i < n; ++i) {
      const v8f q = 2 * load_lane_coords(by_value[i] + t0) + 1;
      sqx += weight[i] * xval[i] * q;
      sq2 += weight[i] * q * q;
    }
    std::memcpy(tsumqx + t0, &sqx, sizeof sqx);
    std::memcpy(tsumq2 + t0, &sq2, sizeof sq2);
  }
  float best = 0;
  for (bool& b : on_grid) b = v.on_grid_start;
  for (int t = 0; t < ntrials; ++t) {
    const float sumqx = tsumqx[t], sumq2 = tsumq2[t];
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      scale = sumqx / sumq2;
      best = scale * sumqx;
      std::memcpy(L, codes[t], static_cast<size_t>(n));
      std::memcpy(on_grid, trial_on_grid[t], sizeof on_grid);
    }
  }
  bool again = scale > 0;
  if (v.refit != Refit::Always) {
    int off = 0;
    for (int k = 0; k < groups; ++k) off += !on_grid[k];
    again = again && off > 0;
  }
  if (again) {
    const float id = 1 / scale;
    for (int k = 0; k < groups; ++k) {
      if (v.refit == Refit::OffGridOnly && on_grid[k]) continue;
      int8_t l[8];
      const int u = lattice(id, xval + dims * k, l);
      std::memcpy(L + dims * k, l, static_cast<size_t>(dims));
      if (g.index[u] < 0) best_neighbour(g, u, xval + dims * k, waux + dims * k, scale, L + dims * k);
    }
    float sumqx, sumq2;
    sums(L, sumqx, sumq2);
    if (sumq2 > 0) scale = sumqx / sumq2;
  }
  if (scale < 0) {  // never expected; the scales are stored unsigned, so the signs turn instead
    scale = -scale;
    for (int k = 0; k < n / 8; ++k) out.signs[k] = static_cast<uint8_t>(v.even_signs ? ~out.signs[k] & 127 : ~out.signs[k]);
  }
  for (int k = 0; k < groups; ++k) {
    int u = 0;
    for (int i = 0; i < dims; ++i) u |= L[dims * k + i] << (g.bits * i);
    out.idx[k] = static_cast<uint16_t>(g.index[u]);  // on the grid by construction
  }
  out.scale = scale;
}

void grid_row(const GridVariant& v, const float* x, void* vy, int64_t n, const float* qw) {
  const IqSearch& g = v.iq3 ? iq3_search(v.grid_size) : iq2_search(v.grid_size);
  const int nblocks = kQK_K / v.block;
  Block blocks[16];
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const float* xbl = x + kQK_K * b;
    const float* wbl = qw ? qw + kQK_K * b : nullptr;
    float sumx2 = 0;
    for (int i = 0; i < kQK_K; ++i) sumx2 += xbl[i] * xbl[i];
    const float sigma2 = v.sigma == 2 ? 2 * sumx2 / kQK_K : sumx2 / kQK_K;
    float max_scale = 0;
    for (int ib = 0; ib < nblocks; ++ib) {
      fit_block(v, g, xbl + v.block * ib, wbl ? wbl + v.block * ib : nullptr, sigma2, blocks[ib]);
      max_scale = max_scale > blocks[ib].scale ? max_scale : blocks[ib].scale;
    }
    const float d = max_scale / 31;
    const float id = max_scale ? 1 / d : 0.f;
    auto scale4 = [&](float s) {
      const int l = nearest_int(0.5f * (id * s - 1));
      return l < 0 ? 0 : l > 15 ? 15 : l;
    };
    switch (v.grid_size + (v.iq3 ? 1 : 0)) {
      case 256: {  // IQ2_XXS: per 32 values 4 index bytes, then 4 x 7 sign bits and the scale
        block_iq2_xxs& o = static_cast<block_iq2_xxs*>(vy)[b];
        std::memset(&o, 0, sizeof o);
        if (!max_scale) break;
        o.d = fp32_to_fp16(d * v.fudge);
        for (int ib = 0; ib < 8; ++ib) {
          const Block& k = blocks[ib];
          const uint32_t idx = k.idx[0] | k.idx[1] << 8 | k.idx[2] << 16 | static_cast<uint32_t>(k.idx[3]) << 24;
          const uint32_t ss = k.signs[0] | k.signs[1] << 7 | k.signs[2] << 14 | static_cast<uint32_t>(k.signs[3]) << 21 |
                              static_cast<uint32_t>(scale4(k.scale)) << 28;
          std::memcpy(o.qs + 4 * ib, &idx, 4);
          std::memcpy(o.qs + 4 * ib + 2, &ss, 4);
        }
        break;
      }
      case 512: {  // IQ2_XS: per 8 values a 9-bit index and 7 sign bits; per 16 a 4-bit scale
        block_iq2_xs& o = static_cast<block_iq2_xs*>(vy)[b];
        std::memset(&o, 0, sizeof o);
        if (!max_scale) break;
        o.d = fp32_to_fp16(d * v.fudge);
        for (int ib = 0; ib < 16; ++ib) {
          for (int k = 0; k < 2; ++k) o.qs[2 * ib + k] = static_cast<uint16_t>(blocks[ib].idx[k] | blocks[ib].signs[k] << 9);
          o.scales[ib / 2] = static_cast<uint8_t>(o.scales[ib / 2] | scale4(blocks[ib].scale) << (4 * (ib % 2)));
        }
        break;
      }
      case 1024: {  // IQ2_S: 10-bit indices (top bits in qh), sign bytes after the indices
        block_iq2_s& o = static_cast<block_iq2_s*>(vy)[b];
        std::memset(&o, 0, sizeof o);
        for (int ib = 0; ib < 16; ++ib) {
          if (blocks[ib].skipped) continue;
          for (int k = 0; k < 2; ++k) {
            const int i8 = 2 * ib + k;
            o.qs[i8] = static_cast<uint8_t>(blocks[ib].idx[k] & 255);
            o.qh[i8 / 4] = static_cast<uint8_t>(o.qh[i8 / 4] | (blocks[ib].idx[k] >> 8) << (2 * (i8 % 4)));
            o.qs[kQK_K / 8 + i8] = blocks[ib].signs[k];
          }
        }
        if (!max_scale) break;
        o.d = fp32_to_fp16(d * v.fudge);
        for (int ib = 0; ib < 16; ++ib)
          o.scales[ib / 2] = static_cast<uint8_t>(o.scales[ib / 2] | scale4(blocks[ib].scale) << (4 * (ib % 2)));
        break;
      }
      case 257: {  // IQ3_XXS: per 32 values 8 index bytes; then per 32 signs and scale as IQ2_XXS
        block_iq3_xxs& o = static_cast<block_iq3_xxs*>(vy)[b];
        std::memset(&o, 0, sizeof o);
        if (!max_scale) break;
        o.d = fp32_to_fp16(d * v.fudge);
        for (int ib = 0; ib < 8; ++ib) {
          const Block& k = blocks[ib];
          for (int j = 0; j < 8; ++j) o.qs[8 * ib + j] = static_cast<uint8_t>(k.idx[j]);
          const uint32_t ss = k.signs[0] | k.signs[1] << 7 | k.signs[2] << 14 | static_cast<uint32_t>(k.signs[3]) << 21 |
                              static_cast<uint32_t>(scale4(k.scale)) << 28;
          std::memcpy(o.qs + kQK_K / 4 + 4 * ib, &ss, 4);
        }
        break;
      }
      default: {  // IQ3_S: 9-bit indices (the ninth in qh), sign bytes, 4-bit scales per 32
        block_iq3_s& o = static_cast<block_iq3_s*>(vy)[b];
        std::memset(&o, 0, sizeof o);
        // A block of zeros writes nothing and, as in llama-quantize, does not advance the index and
        // sign positions: the next block's land where it would have been.
        int at = 0;
        for (int ib = 0; ib < 8; ++ib) {
          const Block& k = blocks[ib];
          if (k.skipped) continue;
          for (int j = 0; j < 8; ++j) {
            o.qs[8 * at + j] = static_cast<uint8_t>(k.idx[j] & 255);
            o.qh[ib] = static_cast<uint8_t>(o.qh[ib] | (k.idx[j] >> 8) << j);
          }
          std::memcpy(o.signs + 4 * at, k.signs, 4);
          ++at;
        }
        if (!max_scale) break;
        o.d = fp32_to_fp16(d * v.fudge);
        for (int ib = 0; ib < 8; ib += 2)
          o.scales[ib / 2] = static_cast<uint8_t>(scale4(blocks[ib].scale) | scale4(blocks[ib + 1].scale) << 4);
      }
    }
  }
}

}  // namespace

#define LLMKIT_GRID_QUANT(name, variant)                                                                      \
  void quantize_row_##name(const float* x, void* y, int64_t n) { grid_row(variant, x, y, n, nullptr); }        \
  void quantize_row_##name##_imatrix(const float* x, void* y, int64_t n, const float* qw) { grid_row(variant, x, y, n, qw); }
LLMKIT_GRID_QUANT(iq2_xxs, kIq2xxs)
LLMKIT_GRID_QUANT(iq2_xs, kIq2xs)
LLMKIT_GRID_QUANT(iq2_s, kIq2s)
LLMKIT_GRID_QUANT(iq3_xxs, kIq3xxs)
LLMKIT_GRID_QUANT(iq3_s, kIq3s)
#undef LLMKIT_GRID_QUANT

}  // namespace llmkit::kernels

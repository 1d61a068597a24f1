// IQ3_XXS and IQ3_S as llama-quantize makes them. Per 32 values: the signs come off (IQ3_XXS keeps
// an even count of minus signs per 8, flipping the value that matters least), then trial scales
// around max/15 each give every 4 magnitudes a lattice point (levels 2 l + 1), moved to the nearest
// grid point (weighted) where it is off the grid; the trial explaining the most of sum w x^2 wins,
// its off-grid points are placed again for its least-squares scale, and the 32-value scales are
// rounded to 4 bits under an f16 one per 256. Built without FMA contraction: the same float
// operations as llama-quantize, so the same bytes.
#include <cmath>
#include <cstring>

#include "cpu/fp16.h"
#include "cpu/iq_search.h"
#include "cpu/quants.h"

namespace llmkit::kernels {
namespace {

constexpr int kMaxQ = 8;

struct Iq3Variant {
  int grid_size;
  bool even_signs;      // IQ3_XXS: 7 sign bits per 8 values, the eighth implied by parity
  float zero_below;     // a 32-value block whose largest magnitude is below this is all zeros
  int trials;           // trial scales -trials..trials steps of 0.2 around 15
  bool refit_all;       // IQ3_S places every group again for the final scale, IQ3_XXS the off-grid ones
  float fudge;          // the f16 super-scale is max_scale / 31 times this
};
constexpr Iq3Variant kIq3xxs{256, true, 1e-8f, 15, false, 1.0125f};
constexpr Iq3Variant kIq3s{512, false, 0.f, 9, true, 1.033f};

// The grid point nearest 4 magnitudes at `scale` by weighted squared error, among the neighbours of
// the lattice point `u` (first minimum wins); its levels go to L.
int best_neighbour(const IqSearch& g, int u, const float* xval, const float* w, float scale, int8_t* L) {
  float best = 3.402823466e38f;
  int found = -1;
  for (uint32_t j = g.first[u]; j < g.first[u] + g.count[u]; ++j) {
    const int8_t* p = g.point(g.neighbours[j]);
    float d2 = 0;
    for (int i = 0; i < 4; ++i) {
      const float diff = scale * static_cast<float>(p[i]) - xval[i];
      d2 += w[i] * diff * diff;
    }
    if (d2 < best) best = d2, found = g.neighbours[j];
  }
  const int8_t* p = g.point(found);
  for (int i = 0; i < 4; ++i) L[i] = static_cast<int8_t>((p[i] - 1) / 2);
  return found;
}

int lattice_level(float id, float x) {
  const int l = nearest_int(0.5f * (id * x - 1));
  return l < 0 ? 0 : l > kMaxQ - 1 ? kMaxQ - 1 : l;
}

struct Block32 {
  uint16_t idx[8];    // grid index per 4 values
  uint8_t signs[4];   // per 8 values (IQ3_XXS: 7 bits)
  float scale;
  bool skipped;       // all zeros: nothing is written for it
};

// One block of 32 values: its grid points, signs and scale.
void fit32(const Iq3Variant& v, const IqSearch& g, const float* xb, const float* qw, float sigma2, Block32& out) {
  float weight[32], waux[32], xval[32];
  int8_t L[32] = {}, Laux[32];
  bool on_grid[8], on_grid_aux[8];
  for (int i = 0; i < 32; ++i) weight[i] = qw ? qw[i] * std::sqrt(sigma2 + xb[i] * xb[i]) : xb[i] * xb[i];
  for (int i = 0; i < 32; ++i) waux[i] = std::sqrt(weight[i]);
  for (int k = 0; k < 4; ++k) {
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
  for (int i = 1; i < 32; ++i) max = max > xval[i] ? max : xval[i];
  std::memset(out.idx, 0, sizeof out.idx);
  out.scale = 0;
  out.skipped = v.even_signs ? max < v.zero_below : !max;
  if (out.skipped) {
    std::memset(out.signs, 0, sizeof out.signs);
    return;
  }
  float best = 0, scale = max / (2 * kMaxQ - 1);
  for (bool& b : on_grid) b = !v.refit_all;
  auto sums = [&](const int8_t* l, float& sumqx, float& sumq2) {
    sumqx = sumq2 = 0;
    for (int i = 0; i < 32; ++i) {
      const float q = static_cast<float>(2 * l[i] + 1);
      sumqx += weight[i] * xval[i] * q;
      sumq2 += weight[i] * q * q;
    }
  };
  for (int t = -v.trials; t <= v.trials; ++t) {
    const float id = (static_cast<float>(2 * kMaxQ - 1) + static_cast<float>(t) * 0.2f) / max;
    const float this_scale = 1 / id;
    for (int k = 0; k < 8; ++k) {
      int u = 0;
      for (int i = 0; i < 4; ++i) u |= (Laux[4 * k + i] = static_cast<int8_t>(lattice_level(id, xval[4 * k + i]))) << (3 * i);
      on_grid_aux[k] = g.index[u] >= 0;
      if (!on_grid_aux[k]) best_neighbour(g, u, xval + 4 * k, waux + 4 * k, this_scale, Laux + 4 * k);
    }
    float sumqx, sumq2;
    sums(Laux, sumqx, sumq2);
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      scale = sumqx / sumq2;
      best = scale * sumqx;
      std::memcpy(L, Laux, sizeof L);
      std::memcpy(on_grid, on_grid_aux, sizeof on_grid);
    }
  }
  int off = 0;
  for (bool b : on_grid) off += !b;
  if (off > 0 && scale > 0) {
    const float id = 1 / scale;
    for (int k = 0; k < 8; ++k) {
      if (!v.refit_all && on_grid[k]) continue;
      int u = 0;
      for (int i = 0; i < 4; ++i) u |= lattice_level(id, xval[4 * k + i]) << (3 * i);
      int gi = g.index[u];
      if (gi < 0) gi = best_neighbour(g, u, xval + 4 * k, waux + 4 * k, scale, L + 4 * k);
      const int8_t* p = g.point(gi);
      for (int i = 0; i < 4; ++i) L[4 * k + i] = static_cast<int8_t>((p[i] - 1) / 2);
    }
    float sumqx, sumq2;
    sums(L, sumqx, sumq2);
    if (sumq2 > 0) scale = sumqx / sumq2;
  }
  if (scale < 0) {  // never expected; the scales are stored unsigned, so the signs turn instead
    scale = -scale;
    for (uint8_t& s : out.signs) s = static_cast<uint8_t>(v.even_signs ? ~s & 127 : ~s);
  }
  for (int k = 0; k < 8; ++k) {
    int u = 0;
    for (int i = 0; i < 4; ++i) u |= L[4 * k + i] << (3 * i);
    out.idx[k] = static_cast<uint16_t>(g.index[u]);  // on the grid by construction
  }
  out.scale = scale;
}

void iq3_row(const Iq3Variant& v, const float* x, void* vy, int64_t n, const float* qw) {
  const IqSearch& g = iq3_search(v.grid_size);
  Block32 blocks[8];
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const float* xbl = x + kQK_K * b;
    const float* wbl = qw ? qw + kQK_K * b : nullptr;
    float sumx2 = 0;
    for (int i = 0; i < kQK_K; ++i) sumx2 += xbl[i] * xbl[i];
    const float sigma2 = 2 * sumx2 / kQK_K;
    float max_scale = 0;
    for (int ib = 0; ib < 8; ++ib) {
      fit32(v, g, xbl + 32 * ib, wbl ? wbl + 32 * ib : nullptr, sigma2, blocks[ib]);
      max_scale = max_scale > blocks[ib].scale ? max_scale : blocks[ib].scale;
    }
    const float d = max_scale / 31;
    const float id = max_scale ? 1 / d : 0.f;
    auto scale4 = [&](float s) {
      const int l = nearest_int(0.5f * (id * s - 1));
      return l < 0 ? 0 : l > 15 ? 15 : l;
    };
    if (v.grid_size == 256) {
      block_iq3_xxs& o = static_cast<block_iq3_xxs*>(vy)[b];
      std::memset(&o, 0, sizeof o);
      if (!max_scale) continue;
      o.d = fp32_to_fp16(d * v.fudge);
      for (int ib = 0; ib < 8; ++ib) {
        const Block32& k = blocks[ib];
        for (int j = 0; j < 8; ++j) o.qs[8 * ib + j] = static_cast<uint8_t>(k.idx[j]);
        const uint32_t ss = k.signs[0] | k.signs[1] << 7 | k.signs[2] << 14 | static_cast<uint32_t>(k.signs[3]) << 21 |
                            static_cast<uint32_t>(scale4(k.scale)) << 28;
        std::memcpy(o.qs + kQK_K / 4 + 4 * ib, &ss, 4);
      }
    } else {
      block_iq3_s& o = static_cast<block_iq3_s*>(vy)[b];
      std::memset(&o, 0, sizeof o);
      // A block of zeros writes nothing and, as in llama-quantize, does not advance the index and
      // sign positions: the next block's land where it would have been.
      int at = 0;
      for (int ib = 0; ib < 8; ++ib) {
        const Block32& k = blocks[ib];
        if (k.skipped) continue;
        for (int j = 0; j < 8; ++j) {
          o.qs[8 * at + j] = static_cast<uint8_t>(k.idx[j] & 255);
          o.qh[ib] = static_cast<uint8_t>(o.qh[ib] | (k.idx[j] >> 8) << j);
        }
        std::memcpy(o.signs + 4 * at, k.signs, 4);
        ++at;
      }
      if (!max_scale) continue;
      o.d = fp32_to_fp16(d * v.fudge);
      for (int ib = 0; ib < 8; ib += 2)
        o.scales[ib / 2] = static_cast<uint8_t>(scale4(blocks[ib].scale) | scale4(blocks[ib + 1].scale) << 4);
    }
  }
}

}  // namespace

void quantize_row_iq3_xxs(const float* x, void* y, int64_t n) { iq3_row(kIq3xxs, x, y, n, nullptr); }
void quantize_row_iq3_s(const float* x, void* y, int64_t n) { iq3_row(kIq3s, x, y, n, nullptr); }
void quantize_row_iq3_xxs_imatrix(const float* x, void* y, int64_t n, const float* qw) { iq3_row(kIq3xxs, x, y, n, qw); }
void quantize_row_iq3_s_imatrix(const float* x, void* y, int64_t n, const float* qw) { iq3_row(kIq3s, x, y, n, qw); }

}  // namespace llmkit::kernels

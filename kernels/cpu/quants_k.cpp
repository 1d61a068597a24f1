// K-quants: 256-element super-blocks split into 16 or 32 sub-blocks, each with its own scale
// (and minimum), the scales themselves quantized against one f16 per super-block.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/fp16.h"
#include "cpu/quant_common.h"
#include "cpu/quant_fit_simd.h"
#include "cpu/quants.h"

namespace llmkit::kernels {
namespace {

constexpr float kGroupMaxEps = 1e-15f;

// Symmetric codes in [-nmax, nmax-1], weighted least squares over a few candidate scales
// around nmax/max (rmse_type 1: weights x^2). Returns the scale; L gets codes + nmax.
float make_qx_quants(int n, int nmax, const float* x, int8_t* L, int rmse_type) {
  const float max = signed_absmax(x, n);
  if (std::fabs(max) < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  float iscale = -nmax / max;
  if (rmse_type == 0) {
    for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(nmax + clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1));
    return 1 / iscale;
  }
  auto weight = [&](float v) -> float {
    switch (rmse_type) {
      case 1: return v * v;
      case 2: return 1.f;
      case 3: return std::fabs(v);
      default: return std::sqrt(std::fabs(v));
    }
  };
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l + nmax);
    float w = weight(x[i]);
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  float scale = suml2 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(nmax + 0.1f * is) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      int l = clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1);
      float w = weight(x[i]);
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(nmax + clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1));
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Symmetric 3-bit codes with coordinate descent on each code (weights x^2).

}  // namespace

// Symmetric 3-bit codes with coordinate descent on each code (weights x^2).
float make_q3_quants(int n, int nmax, const float* x, int8_t* L) {
  const float max = signed_absmax(x, n);
  if (std::fabs(max) < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  const float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l);
    float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  for (int itry = 0; itry < 5; ++itry) {
    int n_changed = 0;
    for (int i = 0; i < n; ++i) {
      float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * L[i];
      if (slx > 0) {
        float sl2 = suml2 - w * L[i] * L[i];
        int new_l = clampi(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
        if (new_l != L[i]) {
          slx += w * x[i] * new_l;
          sl2 += w * new_l * new_l;
          if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = static_cast<int8_t>(new_l);
            sumlx = slx;
            suml2 = sl2;
            ++n_changed;
          }
        }
      }
    }
    if (!n_changed) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
  return sumlx / suml2;
}

// Asymmetric codes in [0, nmax] with a scale and a minimum (returned negated in *the_min),
// fitted by weighted least squares over nstep+1 candidate scales.
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                       uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad) {
  float min = x[0], max = x[0];
  float sum_w = weights[0], sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    *the_min = -min;
    return 0.f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_mad = 0;
  for (int i = 0; i < n; ++i) {
    int l = clampi(nearest_int(iscale * (x[i] - min)), 0, nmax);
    L[i] = static_cast<uint8_t>(l);
    float diff = scale * L[i] + min - x[i];
    diff = use_mad ? std::fabs(diff) : diff * diff;
    best_mad += weights[i] * diff;
  }
  if (nstep < 1) {
    *the_min = -min;
    return scale;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      int l = clampi(nearest_int(iscale * (x[i] - min)), 0, nmax);
      Laux[i] = static_cast<uint8_t>(l);
      float w = weights[i];
      sum_l += w * l;
      sum_l2 += w * l * l;
      sum_xl += w * l * x[i];
    }
    float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float mad = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * Laux[i] + this_min - x[i];
        diff = use_mad ? std::fabs(diff) : diff * diff;
        mad += weights[i] * diff;
      }
      if (mad < best_mad) {
        for (int i = 0; i < n; ++i) L[i] = Laux[i];
        best_mad = mad;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

namespace {



// Q4_K/Q5_K pack 8 six-bit scales and 8 six-bit mins into 12 bytes.
inline void set_scale_min_k4(int j, uint8_t* q, int sc, int m) {
  if (j < 4) {
    q[j] = static_cast<uint8_t>(sc);
    q[j + 4] = static_cast<uint8_t>(m);
  } else {
    q[j + 4] = static_cast<uint8_t>((sc & 0xF) | ((m & 0xF) << 4));
    q[j - 4] |= static_cast<uint8_t>((sc >> 4) << 6);
    q[j] |= static_cast<uint8_t>((m >> 4) << 6);
  }
}

// Q3_K packs 16 six-bit scales into 12 bytes: low nibbles in bytes 0-7, high pairs in 8-11.
inline int q3_scale(const uint8_t* s, int j) {
  int lo = j < 8 ? (s[j] & 0xF) : (s[j - 8] >> 4);
  int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
  return (lo | (hi << 4)) - 32;
}

// Two-bit codes of 256 values: each byte holds four values 32 apart.
inline void pack_2bit(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < kQK_K; j += 128)
    for (int l = 0; l < 32; ++l)
      qs[j / 4 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
}


// The fitting loops behind each K-quant, as a policy: Ref is the scalar reference, Fast the
// 8-lane version. Block layout and packing code is shared.
struct RefFit {
  static float qkx2_16(const float* x, const float* w, uint8_t* L, float* the_min, int nmax, float rmin, float rdelta,
                       int nstep, bool mad) {
    uint8_t aux[16];
    return make_qkx2_quants(16, nmax, x, w, L, the_min, aux, rmin, rdelta, nstep, mad);
  }
  static float qkx2_32(const float* x, const float* w, uint8_t* L, float* the_min, int nmax, float rmin, float rdelta,
                       int nstep, bool mad) {
    uint8_t aux[32];
    return make_qkx2_quants(32, nmax, x, w, L, the_min, aux, rmin, rdelta, nstep, mad);
  }
  static float qx16(const float* x, int8_t* L) { return make_qx_quants(16, 32, x, L, 1); }
  static float error32(const float* x, float d, float dm, int nmax) {
    float err = 0.f;
    if (d) {
      const float id = 1.f / d;
      for (int ii = 0; ii < 32; ++ii) {
        const int l = clampi(nearest_int((x[ii] + dm) * id), 0, nmax);
        const float diff = d * l - dm - x[ii];
        err += diff * diff;
      }
    } else {
      for (int ii = 0; ii < 32; ++ii) err += (x[ii] + dm) * (x[ii] + dm);
    }
    return err;
  }
};

struct FastFit {
  static float qkx2_16(const float* x, const float* w, uint8_t* L, float* the_min, int nmax, float rmin, float rdelta,
                       int nstep, bool mad) {
    return simd::qkx2<16>(nmax, x, w, L, the_min, rmin, rdelta, nstep, mad);
  }
  static float qkx2_32(const float* x, const float* w, uint8_t* L, float* the_min, int nmax, float rmin, float rdelta,
                       int nstep, bool mad) {
    return simd::qkx2<32>(nmax, x, w, L, the_min, rmin, rdelta, nstep, mad);
  }
  static float qx16(const float* x, int8_t* L) { return simd::qx<16>(32, x, L); }
  static float error32(const float* x, float d, float dm, int nmax) { return simd::block_error32(x, d, dm, nmax); }
};

template <class Fit>
void quantize_q2_K(const float* x, void* vy, int64_t n);
template <class Fit>
void quantize_q2_K_weighted(const float* x, void* vy, int64_t n, const float* qw);

}  // namespace

void quantize_row_q2_K_ref(const float* x, void* vy, int64_t n) { quantize_q2_K<RefFit>(x, vy, n); }
void quantize_row_q2_K(const float* x, void* vy, int64_t n) { quantize_q2_K<FastFit>(x, vy, n); }
void quantize_row_q2_K_imatrix(const float* x, void* vy, int64_t n, const float* qw) { quantize_q2_K_weighted<FastFit>(x, vy, n, qw); }

namespace {
template <class Fit>
void quantize_q2_K(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<block_q2_K*>(vy);
  uint8_t L[kQK_K];
  float weights[16], mins[16], scales[16];
  const float q4scale = 15.f;
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 16; ++j) {
      for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
      scales[j] = Fit::qkx2_16(x + 16 * j, weights, L + 16 * j, &mins[j], 3, -0.5f, 0.1f, 15, true);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }
    if (max_scale > 0) {
      float iscale = q4scale / max_scale;
      for (int j = 0; j < 16; ++j) y[i].scales[j] = static_cast<uint8_t>(nearest_int(iscale * scales[j]));
      y[i].d = fp32_to_fp16(max_scale / q4scale);
    } else {
      std::memset(y[i].scales, 0, 16);
      y[i].d = fp32_to_fp16(0.f);
    }
    if (max_min > 0) {
      float iscale = q4scale / max_min;
      for (int j = 0; j < 16; ++j) y[i].scales[j] |= static_cast<uint8_t>(nearest_int(iscale * mins[j]) << 4);
      y[i].dmin = fp32_to_fp16(max_min / q4scale);
    } else {
      y[i].dmin = fp32_to_fp16(0.f);
    }
    for (int j = 0; j < 16; ++j) {
      const float d = fp16_to_fp32(y[i].d) * (y[i].scales[j] & 0xF);
      if (!d) continue;
      const float dm = fp16_to_fp32(y[i].dmin) * (y[i].scales[j] >> 4);
      for (int ii = 0; ii < 16; ++ii) L[16 * j + ii] = static_cast<uint8_t>(clampi(nearest_int((x[16 * j + ii] + dm) / d), 0, 3));
    }
    pack_2bit(L, y[i].qs);
  }
}

// With an importance matrix, as llama.cpp fits Q2_K then: weights from the matrix and
// sqrt(sigma^2 + x^2), the asymmetric fit of each 16 values, the 4-bit scales and mins by
// make_qp_quants weighted by each sub-block's total weight, then the codes again.
template <class Fit>
void quantize_q2_K_weighted(const float* x, void* vy, int64_t n, const float* qw) {
  auto* y = static_cast<block_q2_K*>(vy);
  uint8_t L[kQK_K], Ls[16], Lm[16];
  float weights[16], mins[16], scales[16], sw[16];
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    float sum_x2 = 0;
    for (int j = 0; j < kQK_K; ++j) sum_x2 += x[j] * x[j];
    const float sigma2 = sum_x2 / kQK_K;
    for (int j = 0; j < 16; ++j) {
      sw[j] = 0;
      for (int l = 0; l < 16; ++l) weights[l] = qw[i * kQK_K + 16 * j + l] * std::sqrt(sigma2 + x[16 * j + l] * x[16 * j + l]);
      for (int l = 0; l < 16; ++l) sw[j] += weights[l];
      scales[j] = Fit::qkx2_16(x + 16 * j, weights, L + 16 * j, &mins[j], 3, -0.9f, 0.05f, 36, false);
    }
    y[i].d = fp32_to_fp16(make_qp_quants(16, 15, scales, Ls, sw));
    y[i].dmin = fp32_to_fp16(make_qp_quants(16, 15, mins, Lm, sw));
    const float dm = fp16_to_fp32(y[i].d), mm = fp16_to_fp32(y[i].dmin);
    for (int j = 0; j < 16; ++j) y[i].scales[j] = static_cast<uint8_t>(Ls[j] | (Lm[j] << 4));
    for (int j = 0; j < 16; ++j) {
      const float d = dm * (y[i].scales[j] & 0xF);
      if (!d) continue;
      const float m = mm * (y[i].scales[j] >> 4);
      for (int ii = 0; ii < 16; ++ii) L[16 * j + ii] = static_cast<uint8_t>(clampi(nearest_int((x[16 * j + ii] + m) / d), 0, 3));
    }
    pack_2bit(L, y[i].qs);
  }
}
}  // namespace

namespace {
// Q3_K, without an importance matrix as llama.cpp's reference, with one as its weighted fit: the
// matrix's weights times sqrt(sigma^2 + x^2) for each 16 values' symmetric fit, and the 6-bit
// scales fitted by make_qx_quants weighted by each sub-block's total weight.
void quantize_q3_K(const float* x, void* vy, int64_t n, const float* qw) {
  auto* y = static_cast<block_q3_K*>(vy);
  int8_t L[kQK_K];
  float scales[16];
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    std::memset(y[i].scales, 0, 12);
    const auto put_scale = [&](int j, int l) {  // l: 0..63
      if (j < 8) y[i].scales[j] = static_cast<uint8_t>(l & 0xF);
      else y[i].scales[j - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
      y[i].scales[j % 4 + 8] |= static_cast<uint8_t>((l >> 4) << (2 * (j / 4)));
    };
    if (qw) {
      float sum_x2 = 0, weights[16], sw[16];
      for (int j = 0; j < kQK_K; ++j) sum_x2 += x[j] * x[j];
      const float sigma2 = 2 * sum_x2 / kQK_K;
      for (int j = 0; j < 16; ++j) {
        float sumw = 0;
        for (int l = 0; l < 16; ++l) {
          weights[l] = qw[i * kQK_K + 16 * j + l] * std::sqrt(sigma2 + x[16 * j + l] * x[16 * j + l]);
          sumw += weights[l];
        }
        sw[j] = sumw;
        scales[j] = make_qx_quants_weighted(16, 4, x + 16 * j, L + 16 * j, weights);
      }
      int8_t Ls[16];
      const float d_block = make_qx_quants_weighted(16, 32, scales, Ls, sw);
      for (int j = 0; j < 16; ++j) put_scale(j, Ls[j]);
      y[i].d = fp32_to_fp16(d_block);
    } else {
      float max_scale = 0, amax = 0;
      for (int j = 0; j < 16; ++j) {
        scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
        float s = std::fabs(scales[j]);
        if (s > amax) {
          amax = s;
          max_scale = scales[j];
        }
      }
      if (max_scale) {
        const float iscale = -32.f / max_scale;
        for (int j = 0; j < 16; ++j) put_scale(j, clampi(nearest_int(iscale * scales[j]), -32, 31) + 32);
        y[i].d = fp32_to_fp16(1 / iscale);
      } else {
        y[i].d = fp32_to_fp16(0.f);
      }
    }
    for (int j = 0; j < 16; ++j) {
      const float d = fp16_to_fp32(y[i].d) * q3_scale(y[i].scales, j);
      if (!d) continue;
      for (int ii = 0; ii < 16; ++ii) L[16 * j + ii] = static_cast<int8_t>(clampi(nearest_int(x[16 * j + ii] / d), -4, 3) + 4);
    }
    // The third bit of each code goes to hmask; the low two bits are packed like Q2_K.
    std::memset(y[i].hmask, 0, 32);
    uint8_t low[kQK_K];
    for (int j = 0; j < kQK_K; ++j) {
      int l = L[j];
      if (l > 3) {
        y[i].hmask[j % 32] |= static_cast<uint8_t>(1 << (j / 32));
        l -= 4;
      }
      low[j] = static_cast<uint8_t>(l);
    }
    pack_2bit(low, y[i].qs);
  }
}
}  // namespace

void quantize_row_q3_K_ref(const float* x, void* vy, int64_t n) { quantize_q3_K(x, vy, n, nullptr); }
void quantize_row_q3_K_imatrix(const float* x, void* vy, int64_t n, const float* qw) { quantize_q3_K(x, vy, n, qw); }

namespace {

// Shared by Q4_K and Q5_K: per 32-element sub-block scale and min, then codes in [0, nmax].
template <class Fit>
void quantize_k4_k5(const float* x, uint16_t* d_out, uint16_t* dmin_out, uint8_t* packed_scales, uint8_t* L,
                    int nmax, float rmin, float rdelta, int nstep) {
  float weights[32], mins[8], scales[8];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
    scales[j] = Fit::qkx2_32(x + 32 * j, weights, L + 32 * j, &mins[j], nmax, rmin, rdelta, nstep, false);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  std::memset(packed_scales, 0, 12);
  for (int j = 0; j < 8; ++j) {
    int ls = nearest_int(inv_scale * scales[j]), lm = nearest_int(inv_min * mins[j]);
    set_scale_min_k4(j, packed_scales, ls < 63 ? ls : 63, lm < 63 ? lm : 63);
  }
  *d_out = fp32_to_fp16(max_scale / 63.f);
  *dmin_out = fp32_to_fp16(max_min / 63.f);
  const float d_all = fp16_to_fp32(*d_out), dmin_all = fp16_to_fp32(*dmin_out);
  // Beyond llama.cpp: the 6-bit rounding of each sub-block's scale and min is where most of the
  // error beyond the per-block fit comes from. Try each neighbouring (scale, min) code pair and
  // keep the one whose codes reconstruct the block with the least squared error. The baseline
  // pair is among the candidates, so this never does worse than plain rounding.
  int sc_best[8], m_best[8];
  for (int j = 0; j < 8; ++j) {
    int sc0, m0;
    get_scale_min_k4(j, packed_scales, &sc0, &m0);
    sc_best[j] = sc0;
    m_best[j] = m0;
    float best_err = -1.f;
    const float* xb = x + 32 * j;
    for (int dsc = -1; dsc <= 1; ++dsc)
      for (int dm_ = -1; dm_ <= 1; ++dm_) {
        const int sc = sc0 + dsc, m = m0 + dm_;
        if (sc < 0 || sc > 63 || m < 0 || m > 63) continue;
        const float err = Fit::error32(xb, d_all * sc, dmin_all * m, nmax);
        if (best_err < 0 || err < best_err) {
          best_err = err;
          sc_best[j] = sc;
          m_best[j] = m;
        }
      }
  }
  std::memset(packed_scales, 0, 12);
  for (int j = 0; j < 8; ++j) set_scale_min_k4(j, packed_scales, sc_best[j], m_best[j]);
  for (int j = 0; j < 8; ++j) {
    const float d = d_all * sc_best[j];
    const float dm = dmin_all * m_best[j];
    if (!d) {
      for (int ii = 0; ii < 32; ++ii) L[32 * j + ii] = 0;
      continue;
    }
    const float id = 1.f / d;
    for (int ii = 0; ii < 32; ++ii) L[32 * j + ii] = static_cast<uint8_t>(clampi(nearest_int((x[32 * j + ii] + dm) * id), 0, nmax));
  }
}

// With an importance matrix, as llama.cpp fits Q4_K and Q5_K then: each value weighted by its
// column's importance times sqrt(sigma^2 + x^2), the sub-block fits run on those weights, and
// the eight scales and eight mins quantized to 6 bits by make_qp_quants, weighted by each
// sub-block's total weight.
template <class Fit>
void quantize_k4_k5_weighted(const float* x, const float* qw, uint16_t* d_out, uint16_t* dmin_out, uint8_t* packed_scales,
                             uint8_t* L, int nmax) {
  float weights[32], mins[8], scales[8], sw[8];
  uint8_t Ls[8], Lm[8];
  float sum_x2 = 0;
  for (int l = 0; l < kQK_K; ++l) sum_x2 += x[l] * x[l];
  const float sigma2 = 2 * sum_x2 / kQK_K;
  for (int j = 0; j < 8; ++j) {
    float sumw = 0;
    for (int l = 0; l < 32; ++l) {
      weights[l] = qw[32 * j + l] * std::sqrt(sigma2 + x[32 * j + l] * x[32 * j + l]);
      sumw += weights[l];
    }
    sw[j] = sumw;
    scales[j] = Fit::qkx2_32(x + 32 * j, weights, L + 32 * j, &mins[j], nmax, -0.9f, 0.05f, 36, false);
  }
  const float d_block = make_qp_quants(8, 63, scales, Ls, sw);
  const float m_block = make_qp_quants(8, 63, mins, Lm, sw);
  std::memset(packed_scales, 0, 12);
  for (int j = 0; j < 8; ++j) set_scale_min_k4(j, packed_scales, std::min<int>(63, Ls[j]), std::min<int>(63, Lm[j]));
  *d_out = fp32_to_fp16(d_block);
  *dmin_out = fp32_to_fp16(m_block);
  for (int j = 0; j < 8; ++j) {
    int sc, m;
    get_scale_min_k4(j, packed_scales, &sc, &m);
    const float d = fp16_to_fp32(*d_out) * sc;
    if (!d) continue;  // the codes of the fit stay
    const float dm = fp16_to_fp32(*dmin_out) * m;
    for (int ii = 0; ii < 32; ++ii) L[32 * j + ii] = static_cast<uint8_t>(clampi(nearest_int((x[32 * j + ii] + dm) / d), 0, nmax));
  }
}

}  // namespace

namespace {
template <class Fit>
void quantize_q4_K(const float* x, void* vy, int64_t n, const float* qw = nullptr) {
  auto* y = static_cast<block_q4_K*>(vy);
  uint8_t L[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    if (qw) quantize_k4_k5_weighted<Fit>(x, qw + i * kQK_K, &y[i].d, &y[i].dmin, y[i].scales, L, 15);
    else quantize_k4_k5<Fit>(x, &y[i].d, &y[i].dmin, y[i].scales, L, 15, -1.f, 0.1f, 20);
    uint8_t* q = y[i].qs;
    for (int j = 0; j < kQK_K; j += 64, q += 32)
      for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
  }
}

template <class Fit>
void quantize_q5_K(const float* x, void* vy, int64_t n, const float* qw = nullptr) {
  auto* y = static_cast<block_q5_K*>(vy);
  uint8_t L[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    if (qw) quantize_k4_k5_weighted<Fit>(x, qw + i * kQK_K, &y[i].d, &y[i].dmin, y[i].scales, L, 31);
    else quantize_k4_k5<Fit>(x, &y[i].d, &y[i].dmin, y[i].scales, L, 31, -0.5f, 0.1f, 15);
    uint8_t* qh = y[i].qh;
    uint8_t* ql = y[i].qs;
    std::memset(qh, 0, kQK_K / 8);
    uint8_t m1 = 1, m2 = 2;
    for (int nn = 0; nn < kQK_K; nn += 64, ql += 32, m1 <<= 2, m2 <<= 2)
      for (int j = 0; j < 32; ++j) {
        int l1 = L[nn + j], l2 = L[nn + j + 32];
        if (l1 > 15) {
          l1 -= 16;
          qh[j] |= m1;
        }
        if (l2 > 15) {
          l2 -= 16;
          qh[j] |= m2;
        }
        ql[j] = static_cast<uint8_t>(l1 | (l2 << 4));
      }
  }
}

template <class Fit>
void quantize_q6_K(const float* x, void* vy, int64_t n, const float* qw = nullptr) {
  auto* y = static_cast<block_q6_K*>(vy);
  int8_t L[kQK_K];
  float scales[16];
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    float max_scale = 0, max_abs_scale = 0;
    for (int ib = 0; ib < 16; ++ib) {
      // With an importance matrix its values weight the fit in place of x^2, as in llama.cpp.
      scales[ib] = qw ? make_qx_quants_weighted(16, 32, x + 16 * ib, L + 16 * ib, qw + i * kQK_K + 16 * ib)
                      : Fit::qx16(x + 16 * ib, L + 16 * ib);
      float a = std::fabs(scales[ib]);
      if (a > max_abs_scale) {
        max_abs_scale = a;
        max_scale = scales[ib];
      }
    }
    if (max_abs_scale < kGroupMaxEps) {
      std::memset(&y[i], 0, sizeof(block_q6_K));
      y[i].d = fp32_to_fp16(0.f);
      continue;
    }
    const float iscale = -128.f / max_scale;
    y[i].d = fp32_to_fp16(1 / iscale);
    for (int ib = 0; ib < 16; ++ib) {
      int s = nearest_int(iscale * scales[ib]);
      y[i].scales[ib] = static_cast<int8_t>(s < 127 ? s : 127);
    }
    for (int j = 0; j < 16; ++j) {
      const float d = fp16_to_fp32(y[i].d) * y[i].scales[j];
      if (!d) continue;
      for (int ii = 0; ii < 16; ++ii) L[16 * j + ii] = static_cast<int8_t>(clampi(nearest_int(x[16 * j + ii] / d), -32, 31) + 32);
    }
    uint8_t* ql = y[i].ql;
    uint8_t* qh = y[i].qh;
    for (int j = 0; j < kQK_K; j += 128, ql += 64, qh += 32)
      for (int l = 0; l < 32; ++l) {
        const int q1 = L[j + l] & 0xF, q2 = L[j + l + 32] & 0xF, q3 = L[j + l + 64] & 0xF, q4 = L[j + l + 96] & 0xF;
        ql[l] = static_cast<uint8_t>(q1 | (q3 << 4));
        ql[l + 32] = static_cast<uint8_t>(q2 | (q4 << 4));
        qh[l] = static_cast<uint8_t>((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
                                     ((L[j + l + 96] >> 4) << 6));
      }
  }
}

}  // namespace

void quantize_row_q4_K_ref(const float* x, void* y, int64_t n) { quantize_q4_K<RefFit>(x, y, n); }
void quantize_row_q4_K(const float* x, void* y, int64_t n) { quantize_q4_K<FastFit>(x, y, n); }
void quantize_row_q5_K_ref(const float* x, void* y, int64_t n) { quantize_q5_K<RefFit>(x, y, n); }
void quantize_row_q5_K(const float* x, void* y, int64_t n) { quantize_q5_K<FastFit>(x, y, n); }
void quantize_row_q6_K_ref(const float* x, void* y, int64_t n) { quantize_q6_K<RefFit>(x, y, n); }
void quantize_row_q6_K(const float* x, void* y, int64_t n) { quantize_q6_K<FastFit>(x, y, n); }
void quantize_row_q4_K_imatrix(const float* x, void* y, int64_t n, const float* qw) { quantize_q4_K<FastFit>(x, y, n, qw); }
void quantize_row_q5_K_imatrix(const float* x, void* y, int64_t n, const float* qw) { quantize_q5_K<FastFit>(x, y, n, qw); }
void quantize_row_q6_K_imatrix(const float* x, void* y, int64_t n, const float* qw) { quantize_q6_K<RefFit>(x, y, n, qw); }

void quantize_row_q8_K_ref(const float* x, void* vy, int64_t n) {
  auto* y = static_cast<block_q8_K*>(vy);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    const float max = signed_absmax(x, kQK_K);
    if (!max) {
      y[i].d = 0;
      std::memset(y[i].qs, 0, kQK_K);
      std::memset(y[i].bsums, 0, sizeof y[i].bsums);
      continue;
    }
    const float iscale = -127.f / max;
    for (int j = 0; j < kQK_K; ++j) {
      int v = nearest_int(iscale * x[j]);
      y[i].qs[j] = static_cast<int8_t>(v < 127 ? v : 127);
    }
    for (int j = 0; j < kQK_K / 16; ++j) {
      int sum = 0;
      for (int ii = 0; ii < 16; ++ii) sum += y[i].qs[j * 16 + ii];
      y[i].bsums[j] = static_cast<int16_t>(sum);
    }
    y[i].d = 1 / iscale;
  }
}

// The same steps as the reference, 8 lanes at a time, so the blocks come out bit for bit alike:
// the first value of largest magnitude sets the scale; each code is nearest_int(iscale * x).
void quantize_row_q8_K(const float* x, void* vy, int64_t n) {
  using namespace simd;
  typedef int8_t v8c __attribute__((vector_size(8)));
  auto* y = static_cast<block_q8_K*>(vy);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    v8f m = splat(0.f);
    for (int k = 0; k < kQK_K; k += 8) {
      const v8f a = vabs(load(x + k));
      m = a > m ? a : m;  // a NaN is passed over, as the reference's strict > does
    }
    const float amax = hmax(m);
    if (!(amax > 0.f)) {
      y[i].d = 0;
      std::memset(y[i].qs, 0, kQK_K);
      std::memset(y[i].bsums, 0, sizeof y[i].bsums);
      continue;
    }
    float max = amax;
    for (int k = 0; k < kQK_K; k += 8) {
      const v8i hit = vabs(load(x + k)) == amax;
      if (((hit[0] | hit[1]) | (hit[2] | hit[3])) | ((hit[4] | hit[5]) | (hit[6] | hit[7]))) {
        int j = 0;
        while (!hit[j]) ++j;
        max = x[k + j];
        break;
      }
    }
    const float iscale = -127.f / max;
    for (int k = 0; k < kQK_K; k += 16) {
      v8i q[2];
      for (int h = 0; h < 2; ++h) {
        const v8f v = iscale * load(x + k + 8 * h);
        q[h] = nearest(v);
        q[h] = q[h] < 127 ? q[h] : splat_i(127);
        const v8c c = __builtin_convertvector(q[h], v8c);
        std::memcpy(y[i].qs + k + 8 * h, &c, sizeof c);
      }
      const v8i s = q[0] + q[1];
      y[i].bsums[k / 16] = static_cast<int16_t>(((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])));
    }
    y[i].d = 1 / iscale;
  }
}

void dequantize_row_q2_K(const void* vx, float* y, int64_t n) {
  auto* x = static_cast<const block_q2_K*>(vx);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = fp16_to_fp32(x[i].d), dmin = fp16_to_fp32(x[i].dmin);
    const uint8_t* q = x[i].qs;
    int is = 0;
    for (int nn = 0; nn < kQK_K; nn += 128, q += 32)
      for (int shift = 0; shift < 8; shift += 2)
        for (int half = 0; half < 2; ++half) {
          const uint8_t sc = x[i].scales[is++];
          const float dl = d * (sc & 0xF), ml = dmin * (sc >> 4);
          for (int l = 0; l < 16; ++l) *y++ = dl * ((q[l + 16 * half] >> shift) & 3) - ml;
        }
  }
}

void dequantize_row_q3_K(const void* vx, float* y, int64_t n) {
  auto* x = static_cast<const block_q3_K*>(vx);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d_all = fp16_to_fp32(x[i].d);
    const uint8_t* q = x[i].qs;
    const uint8_t* hm = x[i].hmask;
    uint8_t m = 1;
    int is = 0;
    for (int nn = 0; nn < kQK_K; nn += 128, q += 32)
      for (int shift = 0; shift < 8; shift += 2, m <<= 1)
        for (int half = 0; half < 2; ++half) {
          const float dl = d_all * q3_scale(x[i].scales, is++);
          for (int l = 0; l < 16; ++l) {
            int k = l + 16 * half;
            *y++ = dl * (((q[k] >> shift) & 3) - ((hm[k] & m) ? 0 : 4));
          }
        }
  }
}

void dequantize_row_q4_K(const void* vx, float* y, int64_t n) {
  auto* x = static_cast<const block_q4_K*>(vx);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = fp16_to_fp32(x[i].d), dmin = fp16_to_fp32(x[i].dmin);
    const uint8_t* q = x[i].qs;
    for (int j = 0, is = 0; j < kQK_K; j += 64, is += 2, q += 32) {
      int sc, m;
      get_scale_min_k4(is, x[i].scales, &sc, &m);
      const float d1 = d * sc, m1 = dmin * m;
      get_scale_min_k4(is + 1, x[i].scales, &sc, &m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
    }
  }
}

void dequantize_row_q5_K(const void* vx, float* y, int64_t n) {
  auto* x = static_cast<const block_q5_K*>(vx);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = fp16_to_fp32(x[i].d), dmin = fp16_to_fp32(x[i].dmin);
    const uint8_t* ql = x[i].qs;
    const uint8_t* qh = x[i].qh;
    uint8_t u1 = 1, u2 = 2;
    for (int j = 0, is = 0; j < kQK_K; j += 64, is += 2, ql += 32, u1 <<= 2, u2 <<= 2) {
      int sc, m;
      get_scale_min_k4(is, x[i].scales, &sc, &m);
      const float d1 = d * sc, m1 = dmin * m;
      get_scale_min_k4(is + 1, x[i].scales, &sc, &m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
    }
  }
}

void dequantize_row_q6_K(const void* vx, float* y, int64_t n) {
  auto* x = static_cast<const block_q6_K*>(vx);
  int8_t q[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i, y += kQK_K) {
    const float d = fp16_to_fp32(x[i].d);
    q6k_codes(x[i], q);
    for (int j = 0; j < kQK_K; ++j) y[j] = d * x[i].scales[j / 16] * q[j];
  }
}

void dequantize_row_q8_K(const void* vx, float* y, int64_t n) {
  auto* x = static_cast<const block_q8_K*>(vx);
  for (int64_t i = 0; i < n / kQK_K; ++i)
    for (int j = 0; j < kQK_K; ++j) *y++ = x[i].d * x[i].qs[j];
}

}  // namespace llmkit::kernels

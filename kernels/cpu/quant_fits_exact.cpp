// The weighted fits whose results must be llama-quantize's to the bit, built without FMA
// contraction (as the IQ fits): make_qp_quants, shared by the weighted Q2_K and K-quant scale fits
// and the IQ2_XXS fit (which starts from its result), and make_qx_quants_weighted, the Q4_0/Q5_0
// (and Q6_K) fit with an importance matrix. The K-quants' own vector fits stay contracted: the
// speed matters more there than the last bit.
#include <algorithm>
#include <cmath>

#include "cpu/quant_common.h"

namespace llmkit::kernels {
namespace {
constexpr float kGroupMaxEps = 1e-15f;
}  // namespace

// Non-negative codes in [0, nmax] for non-negative values (the sub-block scales and mins of a
// super-block), weighted by `w`: the best of nine scales around nmax/max, then each code moved
// while that raises the weighted fit (sum w x l)^2 / (sum w l^2). Returns the scale.
float make_qp_quants(int n, int nmax, const float* x, uint8_t* L, const float* w) {
  float max = 0;
  for (int i = 0; i < n; ++i) max = std::max(max, x[i]);
  if (max < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  const auto error_at = [&](float iscale, bool cap) {
    const float scale = 1 / iscale;
    float e = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale * x[i]);
      // The first candidate's codes are held as bytes, as llama.cpp holds them: a negative value
      // (IQ2_XXS passes one where it flipped a sign) wraps to a large code and a large error.
      if (cap) l = std::min(nmax, l);
      else l = static_cast<uint8_t>(l);
      const float diff = x[i] - scale * static_cast<float>(l);
      e += w[i] * diff * diff;
    }
    return e;
  };
  float iscale = nmax / max;
  float best = error_at(iscale, false);  // the first candidate is not capped at nmax
  for (int is = -4; is <= 4; ++is) {
    if (is == 0) continue;
    const float candidate = (0.1f * is + nmax) / max;
    const float e = error_at(candidate, true);
    if (e < best) best = e, iscale = candidate;
  }
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::min(nmax, nearest_int(iscale * x[i]));
    L[i] = static_cast<uint8_t>(l);
    sumlx += w[i] * x[i] * l;
    suml2 += w[i] * l * l;
  }
  for (int pass = 0; pass < 5; ++pass) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      float slx = sumlx - w[i] * x[i] * L[i];
      float sl2 = suml2 - w[i] * L[i] * L[i];
      if (slx <= 0 || sl2 <= 0) continue;
      const int l = std::min(nmax, nearest_int(x[i] * sl2 / slx));
      if (l == L[i]) continue;
      slx += w[i] * x[i] * l;
      sl2 += w[i] * l * l;
      if (slx * slx * suml2 > sumlx * sumlx * sl2) {
        L[i] = static_cast<uint8_t>(l);
        sumlx = slx, suml2 = sl2;
        ++changed;
      }
    }
    if (!changed) break;
  }
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// make_qx_quants with an importance matrix's weights in place of x^2 (quants_k.cpp has the
// unweighted one).
float make_qx_quants_weighted(int n, int nmax, const float* x, int8_t* L, const float* qw) {
  const float max = signed_absmax(x, n);
  if (std::fabs(max) < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  const auto sums = [&](float iscale, float& sumlx, float& suml2) {
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1);
      sumlx += qw[i] * x[i] * l;
      suml2 += qw[i] * l * l;
    }
  };
  const auto codes = [&](float iscale) {
    for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(nmax + clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1));
  };
  float sumlx, suml2;
  float iscale = -nmax / max;
  codes(iscale);
  sums(iscale, sumlx, suml2);
  float scale = suml2 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(nmax + 0.1f * is) / max;
    sums(iscale, sumlx, suml2);
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      codes(iscale);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

}  // namespace llmkit::kernels

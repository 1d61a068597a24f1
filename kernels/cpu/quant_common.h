// Small helpers every block quantizer shares.
#pragma once
#include <cmath>
#include <cstdint>

#include "cpu/quants.h"

namespace llmkit::kernels {

inline int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// The value with the largest magnitude, sign kept (the first such value on ties). Symmetric
// formats scale by it so that it lands on the end of the code range with one more level
// (-8 of -8..7 for 4 bits), gaining half a step of precision.
inline float signed_absmax(const float* x, int n) {
  float amax = 0.f, max = 0.f;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  return max;
}

// The fits the K-quants and the legacy types share. make_qx_quants_weighted (quant_fits_exact.cpp):
// symmetric codes in [-nmax, nmax-1] (+ nmax in L) weighted by an importance matrix's `qw`;
// make_qkx2_quants (quants_k.cpp): codes in [0, nmax] with a scale and a minimum (-min in *the_min).
float make_qx_quants_weighted(int n, int nmax, const float* x, int8_t* L, const float* qw);
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                       uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad);

// Non-negative codes in [0, nmax] for non-negative values, weighted by w; returns the scale
// (quant_fits_exact.cpp).
float make_qp_quants(int n, int nmax, const float* x, uint8_t* L, const float* w);

// Q4_K/Q5_K: sub-block j's six-bit scale and min, out of the 12 packed bytes.
inline void get_scale_min_k4(int j, const uint8_t* q, int* sc, int* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Q6_K: the 256 codes of a block as signed values -32..31, in element order.
inline void q6k_codes(const block_q6_K& b, int8_t* v) {
  const uint8_t* ql = b.ql;
  const uint8_t* qh = b.qh;
  for (int nn = 0; nn < kQK_K; nn += 128, ql += 64, qh += 32)
    for (int l = 0; l < 32; ++l) {
      v[nn + l] = static_cast<int8_t>(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
      v[nn + l + 32] = static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
      v[nn + l + 64] = static_cast<int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
      v[nn + l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
    }
}

}  // namespace llmkit::kernels

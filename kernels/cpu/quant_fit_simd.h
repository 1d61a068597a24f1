// 8-lane versions of the K-quant fitting loops (GCC vector extensions: AVX2/AVX-512 when the
// build targets them, SSE pairs otherwise). Same algorithms as the scalar references in
// quants_k.cpp; only the order of floating-point sums differs, so results agree to rounding.
#pragma once
#include <cstdint>
#include <cstring>

#include "cpu/quants.h"

namespace llmkit::kernels::simd {

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

inline v8f load(const float* p) {
  v8f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline v8f splat(float f) { return v8f{f, f, f, f, f, f, f, f}; }
inline v8i splat_i(int i) { return v8i{i, i, i, i, i, i, i, i}; }
inline v8i nearest(v8f f) {
  v8f v = f + 12582912.f;
  v8i i = __builtin_bit_cast(v8i, v);
  return (i & 0x007fffff) - 0x00400000;
}
inline v8i clamp(v8i v, int lo, int hi) {
  v = v < lo ? splat_i(lo) : v;
  return v > hi ? splat_i(hi) : v;
}
inline v8f to_f(v8i v) { return __builtin_convertvector(v, v8f); }
inline v8f vabs(v8f v) {
  v8i i = __builtin_bit_cast(v8i, v) & 0x7fffffff;
  return __builtin_bit_cast(v8f, i);
}
inline float hsum(v8f v) { return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7])); }
inline float hmin(v8f v) {
  float m = v[0];
  for (int i = 1; i < 8; ++i) m = v[i] < m ? v[i] : m;
  return m;
}
inline float hmax(v8f v) {
  float m = v[0];
  for (int i = 1; i < 8; ++i) m = v[i] > m ? v[i] : m;
  return m;
}

// make_qkx2_quants for N = 16 or 32 elements.
template <int N>
float qkx2(int nmax, const float* x, const float* weights, uint8_t* L, float* the_min, float rmin, float rdelta,
           int nstep, bool use_mad) {
  constexpr int NV = N / 8;
  v8f xv[NV], wv[NV];
  for (int k = 0; k < NV; ++k) {
    xv[k] = load(x + 8 * k);
    wv[k] = load(weights + 8 * k);
  }
  v8f vmin = xv[0], vmax = xv[0], vsw = wv[0], vsx = wv[0] * xv[0];
  for (int k = 1; k < NV; ++k) {
    vmin = xv[k] < vmin ? xv[k] : vmin;
    vmax = xv[k] > vmax ? xv[k] : vmax;
    vsw += wv[k];
    vsx += wv[k] * xv[k];
  }
  float min = hmin(vmin), max = hmax(vmax);
  const float sum_w = hsum(vsw), sum_x = hsum(vsx);
  if (min > 0) min = 0;
  if (max == min) {
    std::memset(L, 0, N);
    *the_min = -min;
    return 0.f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  v8i lv[NV];
  v8f acc = splat(0.f);
  for (int k = 0; k < NV; ++k) {
    lv[k] = clamp(nearest(iscale * (xv[k] - min)), 0, nmax);
    v8f diff = scale * to_f(lv[k]) + min - xv[k];
    diff = use_mad ? vabs(diff) : diff * diff;
    acc += wv[k] * diff;
  }
  float best_mad = hsum(acc);
  if (nstep >= 1) {
    for (int is = 0; is <= nstep; ++is) {
      iscale = (rmin + rdelta * is + nmax) / (max - min);
      v8i la[NV];
      v8f sl = splat(0.f), sl2 = splat(0.f), sxl = splat(0.f);
      for (int k = 0; k < NV; ++k) {
        la[k] = clamp(nearest(iscale * (xv[k] - min)), 0, nmax);
        v8f lf = to_f(la[k]);
        v8f wl = wv[k] * lf;
        sl += wl;
        sl2 += wl * lf;
        sxl += wl * xv[k];
      }
      const float sum_l = hsum(sl), sum_l2 = hsum(sl2), sum_xl = hsum(sxl);
      const float D = sum_w * sum_l2 - sum_l * sum_l;
      if (D > 0) {
        float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
        float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
        if (this_min > 0) {
          this_min = 0;
          this_scale = sum_xl / sum_l2;
        }
        v8f m = splat(0.f);
        for (int k = 0; k < NV; ++k) {
          v8f diff = this_scale * to_f(la[k]) + this_min - xv[k];
          diff = use_mad ? vabs(diff) : diff * diff;
          m += wv[k] * diff;
        }
        const float mad = hsum(m);
        if (mad < best_mad) {
          for (int k = 0; k < NV; ++k) lv[k] = la[k];
          best_mad = mad;
          scale = this_scale;
          min = this_min;
        }
      }
    }
  }
  for (int k = 0; k < NV; ++k)
    for (int j = 0; j < 8; ++j) L[8 * k + j] = static_cast<uint8_t>(lv[k][j]);
  *the_min = -min;
  return scale;
}

// make_qx_quants with rmse_type 1 (weights x^2) for N = 16 elements: the Q6_K fit.
template <int N>
float qx(int nmax, const float* x, int8_t* L) {
  constexpr int NV = N / 8;
  v8f xv[NV], wv[NV];
  v8f va = splat(0.f);
  for (int k = 0; k < NV; ++k) {
    xv[k] = load(x + 8 * k);
    wv[k] = xv[k] * xv[k];
    v8f a = vabs(xv[k]);
    va = a > va ? a : va;
  }
  const float amax = hmax(va);
  if (amax < 1e-15f) {
    std::memset(L, 0, N);
    return 0.f;
  }
  float max = 0;
  for (int i = 0; i < N; ++i)
    if ((x[i] < 0 ? -x[i] : x[i]) == amax) {
      max = x[i];
      break;
    }
  auto sums = [&](float iscale, v8i* lv, float* sumlx, float* suml2) {
    v8f a = splat(0.f), b = splat(0.f);
    for (int k = 0; k < NV; ++k) {
      lv[k] = clamp(nearest(iscale * xv[k]), -nmax, nmax - 1);
      v8f lf = to_f(lv[k]);
      v8f wl = wv[k] * lf;
      a += wl * xv[k];
      b += wl * lf;
    }
    *sumlx = hsum(a);
    *suml2 = hsum(b);
  };
  v8i best_l[NV], lv[NV];
  float sumlx, suml2;
  sums(-nmax / max, best_l, &sumlx, &suml2);
  float scale = suml2 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    sums(-(nmax + 0.1f * is) / max, lv, &sumlx, &suml2);
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int k = 0; k < NV; ++k) best_l[k] = lv[k];
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  for (int k = 0; k < NV; ++k)
    for (int j = 0; j < 8; ++j) L[8 * k + j] = static_cast<int8_t>(best_l[k][j] + nmax);
  return scale;
}

// Squared reconstruction error of 32 values with scale d and offset dm (codes in [0, nmax]).
inline float block_error32(const float* x, float d, float dm, int nmax) {
  v8f acc = splat(0.f);
  if (d) {
    const float id = 1.f / d;
    for (int k = 0; k < 4; ++k) {
      v8f xv = load(x + 8 * k);
      v8f l = to_f(clamp(nearest((xv + dm) * id), 0, nmax));
      v8f diff = d * l - dm - xv;
      acc += diff * diff;
    }
  } else {
    for (int k = 0; k < 4; ++k) {
      v8f xv = load(x + 8 * k) + dm;
      acc += xv * xv;
    }
  }
  return hsum(acc);
}

}  // namespace llmkit::kernels::simd

// Dot products of the grid formats (IQ1_S ... IQ3_S) with Q8_K activations: a super-block decoded
// to byte codes and scales per 16 (iq_codes.h), then integer sums per 16 values, scaled. The AVX2
// path does the sums with vpmaddubsw (|code| <= 62 against the activation with the code's sign)
// and vpmaddwd with the scales.
#include "cpu/gemm.h"
#include "cpu/iq_codes.h"
#include "cpu/vec_dot.h"

#include "cpu/avx2_util.h"

namespace llmkit::kernels {
namespace {

template <class Block>
float iq_dot_ref(int64_t n, const Block* x, const block_q8_K* y) {
  float s = 0.f;
  IqCodes c;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    decode(x[b], c);
    int32_t sum = 0;
    for (int g = 0; g < 16; ++g) {
      int32_t acc = 0;
      for (int j = 16 * g; j < 16 * g + 16; ++j) acc += int32_t(c.v[j]) * int32_t(y[b].qs[j]);
      sum += c.sc[g] * acc;
    }
    s += c.d * y[b].d * static_cast<float>(sum);
  }
  return s;
}

#ifdef LLMKIT_AVX2
// One decoded super-block against one token's Q8_K block: 8 int32 lanes of scaled sums.
inline __m256i iq_block_sums(const IqCodes& c, const __m256i* mag, const block_q8_K& y) {
  __m256i sumi = _mm256_setzero_si256();
  for (int k = 0; k < 8; ++k) {  // 32 values: two groups of 16
    const __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i*>(c.v + 32 * k));
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y.qs + 32 * k));
    const __m256i prod = _mm256_maddubs_epi16(mag[k], _mm256_sign_epi8(q, v));
    const __m256i sc = _mm256_set_m128i(_mm_set1_epi16(c.sc[2 * k + 1]), _mm_set1_epi16(c.sc[2 * k]));
    sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(prod, sc));
  }
  return sumi;
}
inline void magnitudes(const IqCodes& c, __m256i* mag) {
  for (int k = 0; k < 8; ++k) {
    const __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i*>(c.v + 32 * k));
    mag[k] = _mm256_sign_epi8(v, v);
  }
}
#endif

template <class Block>
float iq_dot(int64_t n, const Block* x, const block_q8_K* y) {
#ifdef LLMKIT_AVX2
  __m256 acc = _mm256_setzero_ps();
  IqCodes c;
  __m256i mag[8];
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    decode(x[b], c);
    magnitudes(c, mag);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(c.d * y[b].d), _mm256_cvtepi32_ps(iq_block_sums(c, mag, y[b])), acc);
  }
  return avx2::hsum8(acc);
#else
  return iq_dot_ref(n, x, y);
#endif
}

// Several tokens: each super-block decoded once for all of them; every token's sums and their
// order are those of iq_dot, so its result is the same whichever way it is computed.
template <class Block>
void iq_gemm(int64_t n, const void* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride) {
  const auto* x = static_cast<const Block*>(w);
#ifdef LLMKIT_AVX2
  alignas(32) float acc_mem[kIqGemmTokens][8];
  __m256* acc = reinterpret_cast<__m256*>(acc_mem);
  for (int t = 0; t < ntok; ++t) acc[t] = _mm256_setzero_ps();
  IqCodes c;
  __m256i mag[8];
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    decode(x[b], c);
    magnitudes(c, mag);
    for (int t = 0; t < ntok; ++t) {
      const auto& yb = reinterpret_cast<const block_q8_K*>(static_cast<const uint8_t*>(a) + t * a_stride)[b];
      acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(c.d * yb.d), _mm256_cvtepi32_ps(iq_block_sums(c, mag, yb)), acc[t]);
    }
  }
  for (int t = 0; t < ntok; ++t) y[t * y_stride] = avx2::hsum8(acc[t]);
#else
  for (int t = 0; t < ntok; ++t)
    y[t * y_stride] = iq_dot_ref(n, x, reinterpret_cast<const block_q8_K*>(static_cast<const uint8_t*>(a) + t * a_stride));
#endif
}

}  // namespace

#define LLMKIT_IQ_DOT(name)                                                                      \
  float vec_dot_##name##_q8_K_ref(int64_t n, const block_##name* x, const block_q8_K* y) {      \
    return iq_dot_ref(n, x, y);                                                                  \
  }                                                                                              \
  float vec_dot_##name##_q8_K(int64_t n, const block_##name* x, const block_q8_K* y) { return iq_dot(n, x, y); } \
  void gemm_##name##_q8_K(int64_t n, const void* w, const void* a, size_t a_stride, int ntok, float* y,               \
                          size_t y_stride) {                                                                           \
    iq_gemm<block_##name>(n, w, a, a_stride, ntok, y, y_stride);                                                       \
  }
LLMKIT_IQ_DOT(iq2_xxs)
LLMKIT_IQ_DOT(iq2_xs)
LLMKIT_IQ_DOT(iq2_s)
LLMKIT_IQ_DOT(iq3_xxs)
LLMKIT_IQ_DOT(iq3_s)
LLMKIT_IQ_DOT(iq1_s)
LLMKIT_IQ_DOT(iq1_m)
#undef LLMKIT_IQ_DOT

}  // namespace llmkit::kernels

// AVX-512 VNNI (called only where cpu_has_avx512_vnni()): a decoded super-block as magnitudes and
// the mask of its negative codes, once per call; per token, each 64 values' activations take the
// codes' signs (a masked subtraction from zero), vpdpbusd sums four products a lane, and a lane's
// group scale multiplies it. One float sum per token, super-block by super-block, in the same order
// for one token (vec_dot) and for several (gemm): the results are equal bit for bit.
#if defined(__x86_64__)
#include <immintrin.h>
// GCC 12 warns about the placeholder operands inside its own AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#define LLMKIT_IQ_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
namespace llmkit::kernels {
namespace {

template <class Block>
LLMKIT_IQ_VNNI void iq_rows_vnni(int64_t n, const Block* x, const void* a, size_t a_stride, int ntok, float* y,
                                 size_t y_stride) {
  alignas(64) float acc_mem[kIqGemmTokens][16];
  __m512* acc = reinterpret_cast<__m512*>(acc_mem);
  for (int t = 0; t < ntok; ++t) acc[t] = _mm512_setzero_ps();
  IqCodes c;
  const __m512i zero = _mm512_setzero_si512();
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    decode(x[b], c);
    __m512i mag[4], scale[4];
    __mmask64 neg[4];
    for (int k = 0; k < 4; ++k) {
      const __m512i v = _mm512_load_si512(c.v + 64 * k);
      neg[k] = _mm512_movepi8_mask(v);
      mag[k] = _mm512_abs_epi8(v);
      // Lane l of the 64 values holds 4 of group 4 k + l / 4.
      const __m128i s4 = _mm_cvtepi16_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(c.sc + 4 * k)));
      scale[k] = _mm512_permutexvar_epi32(_mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0),
                                          _mm512_castsi128_si512(s4));
    }
    for (int t = 0; t < ntok; ++t) {
      const auto& yb = reinterpret_cast<const block_q8_K*>(static_cast<const uint8_t*>(a) + t * a_stride)[b];
      __m512i sum = zero;
      for (int k = 0; k < 4; ++k) {
        const __m512i q = _mm512_loadu_si512(yb.qs + 64 * k);
        const __m512i dp = _mm512_dpbusd_epi32(zero, mag[k], _mm512_mask_sub_epi8(q, neg[k], zero, q));
        sum = _mm512_add_epi32(sum, _mm512_mullo_epi32(dp, scale[k]));
      }
      acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(c.d * yb.d), _mm512_cvtepi32_ps(sum), acc[t]);
    }
  }
  for (int t = 0; t < ntok; ++t) y[t * y_stride] = _mm512_reduce_add_ps(acc[t]);
}

}  // namespace

#define LLMKIT_IQ_VNNI_FNS(name)                                                                                 \
  float vec_dot_##name##_q8_K_vnni(int64_t n, const void* x, const void* a) {                                    \
    float y;                                                                                                      \
    iq_rows_vnni(n, static_cast<const block_##name*>(x), a, 0, 1, &y, 1);                                         \
    return y;                                                                                                     \
  }                                                                                                               \
  void gemm_##name##_q8_K_vnni(int64_t n, const void* w, const void* a, size_t a_stride, int ntok, float* y,     \
                               size_t y_stride) {                                                                 \
    iq_rows_vnni(n, static_cast<const block_##name*>(w), a, a_stride, ntok, y, y_stride);                        \
  }
LLMKIT_IQ_VNNI_FNS(iq2_xxs)
LLMKIT_IQ_VNNI_FNS(iq2_xs)
LLMKIT_IQ_VNNI_FNS(iq2_s)
LLMKIT_IQ_VNNI_FNS(iq3_xxs)
LLMKIT_IQ_VNNI_FNS(iq3_s)
LLMKIT_IQ_VNNI_FNS(iq1_s)
LLMKIT_IQ_VNNI_FNS(iq1_m)
#undef LLMKIT_IQ_VNNI_FNS

}  // namespace llmkit::kernels
#endif

#include "cpu/gemm.h"

#include "cpu/fp16.h"
#include "cpu/quant_common.h"
#include "cpu/vec_dot.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define LLMKIT_X86 1
#endif

namespace llmkit::kernels {

#ifdef LLMKIT_X86
namespace {
// GCC 12 warns about the placeholder operands inside its own AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define LLMKIT_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

LLMKIT_VNNI inline float hsum256(__m256 m) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

}  // namespace

// Q4_K row x up to kGemmTokens Q8_K rows. Per super-block, the 256 four-bit codes become four
// 64-byte vectors laid out like the activations (sub-block 2j in the low half, 2j+1 in the
// high), multiplied with vpdpbusd (unsigned codes x signed activations, four products per lane),
// then each lane is scaled by its sub-block's six-bit scale. The minimum term uses the
// activations' 16-value sums.
LLMKIT_VNNI void gemm_q4_K_q8_K_vnni(int64_t n, const void* vw, const void* va, size_t a_stride, int ntok, float* y,
                                size_t y_stride) {
  const auto* w = static_cast<const block_q4_K*>(vw);
  const uint8_t* a = static_cast<const uint8_t*>(va);
  const int64_t nb = n / kQK_K;
  __m512 acc[kGemmTokens];
  __m256 acc_min[kGemmTokens];
  for (int t = 0; t < kGemmTokens; ++t) acc[t] = _mm512_setzero_ps(), acc_min[t] = _mm256_setzero_ps();
  const __m256i low = _mm256_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    const block_q4_K& x = w[b];
    int sc[8], mn[8];
    for (int j = 0; j < 8; ++j) get_scale_min_k4(j, x.scales, &sc[j], &mn[j]);
    __m512i codes[4], scales[4];
    for (int j = 0; j < 4; ++j) {
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qs + 32 * j));
      codes[j] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(q, low)),
                                    _mm256_and_si256(_mm256_srli_epi16(q, 4), low), 1);
      scales[j] = _mm512_inserti64x4(_mm512_set1_epi32(sc[2 * j]), _mm256_set1_epi32(sc[2 * j + 1]), 1);
    }
    // Mins, one per pair of 16-value sums.
    const __m256i mins = _mm256_setr_epi16(
        static_cast<int16_t>(mn[0]), static_cast<int16_t>(mn[0]), static_cast<int16_t>(mn[1]), static_cast<int16_t>(mn[1]),
        static_cast<int16_t>(mn[2]), static_cast<int16_t>(mn[2]), static_cast<int16_t>(mn[3]), static_cast<int16_t>(mn[3]),
        static_cast<int16_t>(mn[4]), static_cast<int16_t>(mn[4]), static_cast<int16_t>(mn[5]), static_cast<int16_t>(mn[5]),
        static_cast<int16_t>(mn[6]), static_cast<int16_t>(mn[6]), static_cast<int16_t>(mn[7]), static_cast<int16_t>(mn[7]));
    const float d = _cvtsh_ss(x.d), dmin = _cvtsh_ss(x.dmin);
    for (int t = 0; t < ntok; ++t) {
      const block_q8_K& q8 = reinterpret_cast<const block_q8_K*>(a + static_cast<size_t>(t) * a_stride)[b];
      __m512i sumi = _mm512_setzero_si512();
      for (int j = 0; j < 4; ++j) {
        const __m512i yv = _mm512_loadu_si512(q8.qs + 64 * j);
        sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), codes[j], yv), scales[j]));
      }
      acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(d * q8.d), _mm512_cvtepi32_ps(sumi), acc[t]);
      const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q8.bsums));
      acc_min[t] = _mm256_fmadd_ps(_mm256_set1_ps(dmin * q8.d), _mm256_cvtepi32_ps(_mm256_madd_epi16(bs, mins)), acc_min[t]);
    }
  }
  for (int t = 0; t < ntok; ++t) y[static_cast<size_t>(t) * y_stride] = _mm512_reduce_add_ps(acc[t]) - hsum256(acc_min[t]);
}

// Q6_K row x up to kGemmTokens Q8_K rows. The signed six-bit codes are shifted to 0..63 for
// vpdpbusd; the shift comes back out as 32 x (scale . the activations' 16-value sums).
LLMKIT_VNNI void gemm_q6_K_q8_K_vnni(int64_t n, const void* vw, const void* va, size_t a_stride, int ntok, float* y,
                                size_t y_stride) {
  const auto* w = static_cast<const block_q6_K*>(vw);
  const uint8_t* a = static_cast<const uint8_t*>(va);
  const int64_t nb = n / kQK_K;
  __m512 acc[kGemmTokens];
  __m256 acc_shift[kGemmTokens];
  for (int t = 0; t < kGemmTokens; ++t) acc[t] = _mm512_setzero_ps(), acc_shift[t] = _mm256_setzero_ps();
  alignas(64) int8_t v[kQK_K];
  for (int64_t b = 0; b < nb; ++b) {
    const block_q6_K& x = w[b];
    q6k_codes(x, v);
    const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x.scales));
    __m512i codes[4], scales[4];
    for (int j = 0; j < 4; ++j) {
      codes[j] = _mm512_add_epi8(_mm512_load_si512(v + 64 * j), _mm512_set1_epi8(32));
      // Lanes 4g..4g+3 of vector j belong to 16-value group 4j+g.
      const __m128i idx = _mm_setr_epi8(static_cast<char>(4 * j), static_cast<char>(4 * j), static_cast<char>(4 * j),
                                        static_cast<char>(4 * j), static_cast<char>(4 * j + 1), static_cast<char>(4 * j + 1),
                                        static_cast<char>(4 * j + 1), static_cast<char>(4 * j + 1), static_cast<char>(4 * j + 2),
                                        static_cast<char>(4 * j + 2), static_cast<char>(4 * j + 2), static_cast<char>(4 * j + 2),
                                        static_cast<char>(4 * j + 3), static_cast<char>(4 * j + 3), static_cast<char>(4 * j + 3),
                                        static_cast<char>(4 * j + 3));
      scales[j] = _mm512_cvtepi8_epi32(_mm_shuffle_epi8(sc8, idx));
    }
    const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);
    const float d = _cvtsh_ss(x.d);
    for (int t = 0; t < ntok; ++t) {
      const block_q8_K& q8 = reinterpret_cast<const block_q8_K*>(a + static_cast<size_t>(t) * a_stride)[b];
      __m512i sumi = _mm512_setzero_si512();
      for (int j = 0; j < 4; ++j) {
        const __m512i yv = _mm512_loadu_si512(q8.qs + 64 * j);
        sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), codes[j], yv), scales[j]));
      }
      const float dd = d * q8.d;
      acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(dd), _mm512_cvtepi32_ps(sumi), acc[t]);
      const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q8.bsums));
      acc_shift[t] = _mm256_fmadd_ps(_mm256_set1_ps(32.f * dd), _mm256_cvtepi32_ps(_mm256_madd_epi16(bs, sc16)), acc_shift[t]);
    }
  }
  for (int t = 0; t < ntok; ++t) y[static_cast<size_t>(t) * y_stride] = _mm512_reduce_add_ps(acc[t]) - hsum256(acc_shift[t]);
}

#endif

namespace {

// One dot product per token: the reference, and the path for CPUs without VNNI.
template <class Block, float (*Dot)(int64_t, const Block*, const block_q8_K*)>
void by_dots(int64_t n, const void* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride) {
  for (int t = 0; t < ntok; ++t)
    y[static_cast<size_t>(t) * y_stride] =
        Dot(n, static_cast<const Block*>(w),
            reinterpret_cast<const block_q8_K*>(static_cast<const uint8_t*>(a) + static_cast<size_t>(t) * a_stride));
}

}  // namespace

void gemm_q4_K_q8_K_ref(int64_t n, const void* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride) {
  by_dots<block_q4_K, vec_dot_q4_K_q8_K_ref>(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q6_K_q8_K_ref(int64_t n, const void* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride) {
  by_dots<block_q6_K, vec_dot_q6_K_q8_K_ref>(n, w, a, a_stride, ntok, y, y_stride);
}

void gemm_q4_K_q8_K(int64_t n, const void* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride) {
  by_dots<block_q4_K, vec_dot_q4_K_q8_K>(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q6_K_q8_K(int64_t n, const void* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride) {
  by_dots<block_q6_K, vec_dot_q6_K_q8_K>(n, w, a, a_stride, ntok, y, y_stride);
}

#ifndef LLMKIT_X86  // never chosen off x86-64, but the symbols must exist
void gemm_q4_K_q8_K_vnni(int64_t n, const void* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride) {
  gemm_q4_K_q8_K(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q6_K_q8_K_vnni(int64_t n, const void* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride) {
  gemm_q6_K_q8_K(n, w, a, a_stride, ntok, y, y_stride);
}
#endif

}  // namespace llmkit::kernels

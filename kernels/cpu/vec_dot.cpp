#include "cpu/vec_dot.h"

#include "cpu/fp16.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#define LLMKIT_AVX2 1
#endif

namespace llmkit::kernels {

float vec_dot_q8_0_q8_0_ref(int64_t n, const block_q8_0* x, const block_q8_0* y) {
  float s = 0.f;
  for (int64_t b = 0; b < n / kQK; ++b) {
    int32_t acc = 0;
    for (int j = 0; j < kQK; ++j) acc += int32_t(x[b].qs[j]) * int32_t(y[b].qs[j]);
    s += fp16_to_fp32(x[b].d) * fp16_to_fp32(y[b].d) * static_cast<float>(acc);
  }
  return s;
}

float vec_dot_q4_0_q8_0_ref(int64_t n, const block_q4_0* x, const block_q8_0* y) {
  float s = 0.f;
  for (int64_t b = 0; b < n / kQK; ++b) {
    int32_t acc = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      acc += ((x[b].qs[j] & 0x0F) - 8) * int32_t(y[b].qs[j]);
      acc += ((x[b].qs[j] >> 4) - 8) * int32_t(y[b].qs[j + 16]);
    }
    s += fp16_to_fp32(x[b].d) * fp16_to_fp32(y[b].d) * static_cast<float>(acc);
  }
  return s;
}

#ifdef LLMKIT_AVX2
namespace {
// Sum of the int8 products of two 32-byte vectors, as 8 int32 lanes: maddubs needs an unsigned
// operand, so take |x| and move x's sign onto y.
inline __m256i dot_i8(__m256i x, __m256i y) {
  const __m256i ax = _mm256_sign_epi8(x, x);
  const __m256i sy = _mm256_sign_epi8(y, x);
  return _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), _mm256_set1_epi16(1));
}
inline float h2f(uint16_t h) { return _cvtsh_ss(h); }  // F16C: one instruction
inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
}  // namespace
#endif

float vec_dot_q8_0_q8_0(int64_t n, const block_q8_0* x, const block_q8_0* y) {
#ifdef LLMKIT_AVX2
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQK; ++b) {
    const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].qs));
    const __m256i qy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[b].qs));
    const __m256 d = _mm256_set1_ps(h2f(x[b].d) * h2f(y[b].d));
    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_i8(qx, qy)), acc);
  }
  return hsum8(acc);
#else
  return vec_dot_q8_0_q8_0_ref(n, x, y);
#endif
}

float vec_dot_q4_0_q8_0(int64_t n, const block_q4_0* x, const block_q8_0* y) {
#ifdef LLMKIT_AVX2
  __m256 acc = _mm256_setzero_ps();
  const __m256i low = _mm256_set1_epi8(0x0F), eight = _mm256_set1_epi8(8);
  for (int64_t b = 0; b < n / kQK; ++b) {
    // 16 bytes of nibbles -> 32 values: low nibbles are elements 0-15, high nibbles 16-31.
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[b].qs));
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(raw, 4), raw);
    const __m256i qx = _mm256_sub_epi8(_mm256_and_si256(both, low), eight);
    const __m256i qy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[b].qs));
    const __m256 d = _mm256_set1_ps(h2f(x[b].d) * h2f(y[b].d));
    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_i8(qx, qy)), acc);
  }
  return hsum8(acc);
#else
  return vec_dot_q4_0_q8_0_ref(n, x, y);
#endif
}

const char* vec_dot_path() {
#ifdef LLMKIT_AVX2
  return "avx2";
#else
  return "scalar";
#endif
}

}  // namespace llmkit::kernels

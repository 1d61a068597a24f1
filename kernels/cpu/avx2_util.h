// AVX2 building blocks shared by the dot-product kernels (only when the build targets AVX2).
#pragma once
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#define LLMKIT_AVX2 1

namespace llmkit::kernels::avx2 {

inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
// Unsigned bytes times signed bytes, as 8 int32 lanes.
inline __m256i dot_u8_i8(__m256i u, __m256i y) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, y), _mm256_set1_epi16(1));
}
// Signed times signed: maddubs needs an unsigned operand, so take |x| and move x's sign onto y.
inline __m256i dot_i8(__m256i x, __m256i y) { return dot_u8_i8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x)); }

}  // namespace llmkit::kernels::avx2
#endif

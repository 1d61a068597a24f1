// Dot products of the grid formats (IQ1_S ... IQ3_S) with Q8_K activations: a super-block decoded
// to byte codes and scales per 16 (iq_codes.h), then integer sums per 16 values, scaled. The AVX2
// path does the sums with vpmaddubsw (|code| <= 62 against the activation with the code's sign)
// and vpmaddwd with the scales.
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

template <class Block>
float iq_dot(int64_t n, const Block* x, const block_q8_K* y) {
#ifdef LLMKIT_AVX2
  __m256 acc = _mm256_setzero_ps();
  IqCodes c;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    decode(x[b], c);
    __m256i sumi = _mm256_setzero_si256();
    for (int k = 0; k < 8; ++k) {  // 32 values: two groups of 16
      const __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i*>(c.v + 32 * k));
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[b].qs + 32 * k));
      const __m256i prod = _mm256_maddubs_epi16(_mm256_sign_epi8(v, v), _mm256_sign_epi8(q, v));
      const __m256i sc = _mm256_set_m128i(_mm_set1_epi16(c.sc[2 * k + 1]), _mm_set1_epi16(c.sc[2 * k]));
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(prod, sc));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(c.d * y[b].d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return avx2::hsum8(acc);
#else
  return iq_dot_ref(n, x, y);
#endif
}

}  // namespace

#define LLMKIT_IQ_DOT(name)                                                                      \
  float vec_dot_##name##_q8_K_ref(int64_t n, const block_##name* x, const block_q8_K* y) {      \
    return iq_dot_ref(n, x, y);                                                                  \
  }                                                                                              \
  float vec_dot_##name##_q8_K(int64_t n, const block_##name* x, const block_q8_K* y) { return iq_dot(n, x, y); }
LLMKIT_IQ_DOT(iq2_xxs)
LLMKIT_IQ_DOT(iq2_xs)
LLMKIT_IQ_DOT(iq2_s)
LLMKIT_IQ_DOT(iq3_xxs)
LLMKIT_IQ_DOT(iq3_s)
LLMKIT_IQ_DOT(iq1_s)
LLMKIT_IQ_DOT(iq1_m)
#undef LLMKIT_IQ_DOT

}  // namespace llmkit::kernels

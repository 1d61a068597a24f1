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
  __m256 acc[kGemmTokens];
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

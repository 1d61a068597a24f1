// Row dot products of IQ4_NL (against Q8_0 activations) and IQ4_XS (against Q8_K): the codes
// looked up in the level table, int8 products summed per block of 32, then scaled. The AVX2 paths
// look the 16 levels up with one byte shuffle.
#include "cpu/fp16.h"
#include "cpu/vec_dot.h"

#include "cpu/avx2_util.h"

namespace llmkit::kernels {
namespace {
// Sum over 32 values of level(code) x activation; byte j of qs holds codes j (low) and j + 16.
inline int32_t iq4_dot32(const uint8_t* qs, const int8_t* y) {
  int32_t acc = 0;
  for (int j = 0; j < 16; ++j)
    acc += kIq4nlValues[qs[j] & 0xF] * int32_t(y[j]) + kIq4nlValues[qs[j] >> 4] * int32_t(y[j + 16]);
  return acc;
}
}  // namespace

float vec_dot_iq4_nl_q8_0_ref(int64_t n, const block_iq4_nl* x, const block_q8_0* y) {
  float s = 0.f;
  for (int64_t b = 0; b < n / kQK; ++b)
    s += fp16_to_fp32(x[b].d) * fp16_to_fp32(y[b].d) * static_cast<float>(iq4_dot32(x[b].qs, y[b].qs));
  return s;
}

float vec_dot_iq4_xs_q8_K_ref(int64_t n, const block_iq4_xs* x, const block_q8_K* y) {
  float s = 0.f;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    int32_t sum = 0;
    for (int j = 0; j < 8; ++j) sum += (iq4_xs_scale(x[b], j) - 32) * iq4_dot32(x[b].qs + 16 * j, y[b].qs + 32 * j);
    s += fp16_to_fp32(x[b].d) * y[b].d * static_cast<float>(sum);
  }
  return s;
}

#ifdef LLMKIT_AVX2
namespace {
// The 32 levels of 16 code bytes (low nibbles first, then high), as signed bytes.
inline __m256i iq4_levels(const uint8_t* qs) {
  const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i codes = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), _mm256_set1_epi8(0x0F));
  return _mm256_shuffle_epi8(table, codes);
}
}  // namespace
#endif

float vec_dot_iq4_nl_q8_0(int64_t n, const block_iq4_nl* x, const block_q8_0* y) {
#ifdef LLMKIT_AVX2
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQK; ++b) {
    const __m256i qy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[b].qs));
    const __m256 d = _mm256_set1_ps(fp16_to_fp32(x[b].d) * fp16_to_fp32(y[b].d));
    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(avx2::dot_i8(iq4_levels(x[b].qs), qy)), acc);
  }
  return avx2::hsum8(acc);
#else
  return vec_dot_iq4_nl_q8_0_ref(n, x, y);
#endif
}

float vec_dot_iq4_xs_q8_K(int64_t n, const block_iq4_xs* x, const block_q8_K* y) {
#ifdef LLMKIT_AVX2
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    __m256i sumi = _mm256_setzero_si256();
    for (int j = 0; j < 8; ++j) {
      const __m256i qy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[b].qs + 32 * j));
      const __m256i dot = avx2::dot_i8(iq4_levels(x[b].qs + 16 * j), qy);
      sumi = _mm256_add_epi32(sumi, _mm256_mullo_epi32(dot, _mm256_set1_epi32(iq4_xs_scale(x[b], j) - 32)));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(fp16_to_fp32(x[b].d) * y[b].d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return avx2::hsum8(acc);
#else
  return vec_dot_iq4_xs_q8_K_ref(n, x, y);
#endif
}

}  // namespace llmkit::kernels

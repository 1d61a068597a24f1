#include "cpu/vec_dot.h"

#include "cpu/fp16.h"
#include "cpu/quant_common.h"

#include "cpu/avx2_util.h"

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
using avx2::dot_i8;
using avx2::hsum8;
inline float h2f(uint16_t h) { return _cvtsh_ss(h); }  // F16C: one instruction
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

float vec_dot_q4_K_q8_K_ref(int64_t n, const block_q4_K* x, const block_q8_K* y) {
  float s = 0.f;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    int sc[8], m[8];
    for (int j = 0; j < 8; ++j) get_scale_min_k4(j, x[b].scales, &sc[j], &m[j]);
    int32_t sum_q = 0, sum_m = 0;
    for (int j = 0; j < 8; ++j) {
      // Sub-block j: nibbles of bytes 32*(j/2).., low for even j, high for odd.
      const uint8_t* q4 = x[b].qs + 32 * (j / 2);
      const int8_t* q8 = y[b].qs + 32 * j;
      int32_t acc = 0;
      for (int l = 0; l < 32; ++l) acc += (j % 2 ? q4[l] >> 4 : q4[l] & 0xF) * int32_t(q8[l]);
      sum_q += sc[j] * acc;
      sum_m += m[j] * (y[b].bsums[2 * j] + y[b].bsums[2 * j + 1]);
    }
    s += y[b].d * (fp16_to_fp32(x[b].d) * static_cast<float>(sum_q) - fp16_to_fp32(x[b].dmin) * static_cast<float>(sum_m));
  }
  return s;
}

float vec_dot_q6_K_q8_K_ref(int64_t n, const block_q6_K* x, const block_q8_K* y) {
  float s = 0.f;
  int8_t v[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    q6k_codes(x[b], v);
    int32_t sum = 0;
    for (int j = 0; j < 16; ++j) {
      int32_t acc = 0;
      for (int l = 0; l < 16; ++l) acc += int32_t(v[16 * j + l]) * int32_t(y[b].qs[16 * j + l]);
      sum += x[b].scales[j] * acc;
    }
    s += y[b].d * fp16_to_fp32(x[b].d) * static_cast<float>(sum);
  }
  return s;
}

float vec_dot_q4_K_q8_K(int64_t n, const block_q4_K* x, const block_q8_K* y) {
#ifdef LLMKIT_AVX2
  __m256 acc = _mm256_setzero_ps();
  const __m256i low = _mm256_set1_epi8(0x0F);
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    int sc[8], m[8];
    for (int j = 0; j < 8; ++j) get_scale_min_k4(j, x[b].scales, &sc[j], &m[j]);
    __m256i sumi = _mm256_setzero_si256();
    for (int j = 0; j < 4; ++j) {
      const __m256i q4 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].qs + 32 * j));
      const __m256i lo = _mm256_and_si256(q4, low), hi = _mm256_and_si256(_mm256_srli_epi16(q4, 4), low);
      const __m256i y0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[b].qs + 64 * j));
      const __m256i y1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[b].qs + 64 * j + 32));
      // Codes are 0..15 (unsigned), activations signed: maddubs directly, then weight by scale.
      const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y0), _mm256_set1_epi16(sc[2 * j]));
      const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y1), _mm256_set1_epi16(sc[2 * j + 1]));
      sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
    }
    int32_t sum_m = 0;
    for (int j = 0; j < 8; ++j) sum_m += m[j] * (y[b].bsums[2 * j] + y[b].bsums[2 * j + 1]);
    const float d = y[b].d * h2f(x[b].d);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    acc = _mm256_sub_ps(acc, _mm256_set_ps(0, 0, 0, 0, 0, 0, 0, y[b].d * h2f(x[b].dmin) * static_cast<float>(sum_m)));
  }
  return hsum8(acc);
#else
  return vec_dot_q4_K_q8_K_ref(n, x, y);
#endif
}

float vec_dot_q6_K_q8_K(int64_t n, const block_q6_K* x, const block_q8_K* y) {
#ifdef LLMKIT_AVX2
  __m256 acc = _mm256_setzero_ps();
  alignas(32) int8_t v[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    q6k_codes(x[b], v);
    __m256i sumi = _mm256_setzero_si256();
    for (int j = 0; j < 8; ++j) {  // 32 values = two 16-value scale groups
      const __m256i qv = _mm256_load_si256(reinterpret_cast<const __m256i*>(v + 32 * j));
      const __m256i qy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[b].qs + 32 * j));
      const __m256i prod16 = _mm256_maddubs_epi16(_mm256_sign_epi8(qv, qv), _mm256_sign_epi8(qy, qv));
      const __m256i scales = _mm256_set_m128i(_mm_set1_epi16(x[b].scales[2 * j + 1]), _mm_set1_epi16(x[b].scales[2 * j]));
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(prod16, scales));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(y[b].d * h2f(x[b].d)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum8(acc);
#else
  return vec_dot_q6_K_q8_K_ref(n, x, y);
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

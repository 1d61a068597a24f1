#include "cpu/fp16.h"

#include <cmath>

#if defined(__F16C__) && defined(__AVX__)
#include <immintrin.h>
#define LLMKIT_F16C 1
#endif

namespace llmkit::kernels {

float fp16_to_fp32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t e = (h >> 10) & 0x1F;
  uint32_t m = h & 0x3FF;
  if (e == 0) {
    // Zero or subnormal: m * 2^-24, exact in float.
    float v = std::ldexp(static_cast<float>(m), -24);
    return sign ? -v : v;
  }
  // NaN comes out quiet, as F16C (vcvtph2ps) does, so both paths agree bit for bit.
  if (e == 31) return bits_f32(sign | 0x7F800000 | (m << 13) | (m ? 0x400000u : 0u));
  return bits_f32(sign | ((e + 112) << 23) | (m << 13));
}

uint16_t fp32_to_fp16(float f) {
  uint32_t x = f32_bits(f);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  uint32_t ax = x & 0x7FFFFFFF;
  if (ax > 0x7F800000) return static_cast<uint16_t>(sign | 0x7E00 | ((ax >> 13) & 0x3FF));  // NaN
  if (ax >= 0x47800000) return sign | 0x7C00;  // >= 65536 (and inf): infinity
  if (ax >= 0x38800000) {
    // Normal half: rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits.
    // A carry out of the mantissa correctly bumps the exponent (up to infinity).
    uint32_t h = (ax - 0x38000000) >> 13;
    uint32_t rem = ax & 0x1FFF;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  // Subnormal half (or zero): count in units of 2^-24.
  uint32_t e = ax >> 23;
  uint32_t shift = 126 - e;  // >= 14 here
  if (shift > 24) return sign;
  uint32_t m = (ax & 0x7FFFFF) | 0x800000;
  uint32_t h = m >> shift;
  uint32_t rem = m & ((1u << shift) - 1);
  uint32_t half = 1u << (shift - 1);
  if (rem > half || (rem == half && (h & 1))) ++h;
  return static_cast<uint16_t>(sign | h);
}

void fp16_to_fp32_row_ref(const uint16_t* x, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = fp16_to_fp32(x[i]);
}

void fp32_to_fp16_row_ref(const float* x, uint16_t* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = fp32_to_fp16(x[i]);
}

void fp16_to_fp32_row(const uint16_t* x, float* y, size_t n) {
  size_t i = 0;
#ifdef LLMKIT_F16C
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))));
#endif
  for (; i < n; ++i) y[i] = fp16_to_fp32(x[i]);
}

void fp32_to_fp16_row(const float* x, uint16_t* y, size_t n) {
  size_t i = 0;
#ifdef LLMKIT_F16C
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
#endif
  for (; i < n; ++i) y[i] = fp32_to_fp16(x[i]);
}

void bf16_to_fp32_row(const uint16_t* x, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = bf16_to_fp32(x[i]);
}

void fp32_to_bf16_row(const float* x, uint16_t* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = fp32_to_bf16(x[i]);
}

const char* fp16_path() {
#ifdef LLMKIT_F16C
  return "f16c";
#else
  return "scalar";
#endif
}

}  // namespace llmkit::kernels

// Half-precision (IEEE binary16) and bfloat16 conversions. Scalar functions are the reference;
// the *_row functions use F16C when the build targets a CPU that has it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace llmkit::kernels {

inline uint32_t f32_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
inline float bits_f32(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }

float fp16_to_fp32(uint16_t h);
// Round to nearest, ties to even; overflow to infinity; NaN stays NaN (quieted, payload kept).
uint16_t fp32_to_fp16(float f);

inline float bf16_to_fp32(uint16_t b) { return bits_f32(uint32_t(b) << 16); }
// Round to nearest, ties to even; NaN quieted (as ggml does).
inline uint16_t fp32_to_bf16(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7FFFFFFF) > 0x7F800000) return static_cast<uint16_t>((u >> 16) | 0x40);
  return static_cast<uint16_t>((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
}

// Scalar references.
void fp16_to_fp32_row_ref(const uint16_t* x, float* y, size_t n);
void fp32_to_fp16_row_ref(const float* x, uint16_t* y, size_t n);
// Fast paths (F16C when compiled in); bit-identical to the references.
void fp16_to_fp32_row(const uint16_t* x, float* y, size_t n);
void fp32_to_fp16_row(const float* x, uint16_t* y, size_t n);
void bf16_to_fp32_row(const uint16_t* x, float* y, size_t n);
void fp32_to_bf16_row(const float* x, uint16_t* y, size_t n);

// Which fast path this build uses ("f16c" or "scalar"), for benchmark records.
const char* fp16_path();

}  // namespace llmkit::kernels

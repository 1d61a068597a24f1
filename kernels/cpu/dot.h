// F32 dot products: the scalar reference and an 8-lane version (eight partial sums, so the
// additions do not form one serial chain).
#pragma once
#include <cstdint>

namespace llmkit::kernels {

float dot_f32_ref(const float* a, const float* b, int64_t n);
float dot_f32(const float* a, const float* b, int64_t n);
// A BF16 row (widened as it is read) against F32 values: one pass over the row, four partial sums
// of eight lanes, so that a row streamed from memory is not read twice (once to convert it).
float dot_bf16_f32_ref(const uint16_t* w, const float* x, int64_t n);
float dot_bf16_f32(const uint16_t* w, const float* x, int64_t n);

}  // namespace llmkit::kernels

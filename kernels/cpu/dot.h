// F32 dot products: the scalar reference and an 8-lane version (eight partial sums, so the
// additions do not form one serial chain).
#pragma once
#include <cstdint>

namespace llmkit::kernels {

float dot_f32_ref(const float* a, const float* b, int64_t n);
float dot_f32(const float* a, const float* b, int64_t n);

}  // namespace llmkit::kernels

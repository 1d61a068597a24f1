#include "cpu/gelu.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/fp16.h"

namespace llmkit::kernels {

float gelu_ref(float x) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f, kCubic = 0.044715f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + kCubic * x * x)));
}

namespace {

const uint16_t* gelu_table() {
  static const std::vector<uint16_t> table = [] {
    std::vector<uint16_t> t(65536);
    for (uint32_t i = 0; i < 65536; ++i) t[i] = fp32_to_fp16(gelu_ref(fp16_to_fp32(static_cast<uint16_t>(i))));
    return t;
  }();
  return table.data();
}

}  // namespace

void gelu_row(const float* x, float* y, int64_t n) {
  const uint16_t* t = gelu_table();
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (v <= -10.0f) y[i] = 0.0f;
    else if (v >= 10.0f) y[i] = v;
    else y[i] = fp16_to_fp32(t[fp32_to_fp16(v)]);
  }
}

}  // namespace llmkit::kernels

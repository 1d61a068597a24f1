#include "cpu/gelu.h"

#include <algorithm>
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

// In chunks: the conversions run on the row converters (F16C where the build has it), the
// lookups in between, then the few inputs beyond +-10 are patched.
void gelu_row(const float* x, float* y, int64_t n) {
  const uint16_t* t = gelu_table();
  constexpr int64_t kChunk = 256;
  uint16_t h[kChunk];
  for (int64_t i0 = 0; i0 < n; i0 += kChunk) {
    const int64_t m = std::min(kChunk, n - i0);
    fp32_to_fp16_row(x + i0, h, static_cast<size_t>(m));
    for (int64_t i = 0; i < m; ++i) h[i] = t[h[i]];
    float saved[kChunk];
    int64_t far = 0;
    for (int64_t i = 0; i < m; ++i) far += std::fabs(x[i0 + i]) >= 10.0f;
    if (far) std::memcpy(saved, x + i0, static_cast<size_t>(m) * sizeof(float));  // y may alias x
    fp16_to_fp32_row(h, y + i0, static_cast<size_t>(m));
    if (far)
      for (int64_t i = 0; i < m; ++i) {
        if (saved[i] <= -10.0f) y[i0 + i] = 0.0f;
        else if (saved[i] >= 10.0f) y[i0 + i] = saved[i];
      }
  }
}

void gelu_row_ref(const float* x, float* y, int64_t n) {
  const uint16_t* t = gelu_table();
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (v <= -10.0f) y[i] = 0.0f;
    else if (v >= 10.0f) y[i] = v;
    else y[i] = fp16_to_fp32(t[fp32_to_fp16(v)]);
  }
}

}  // namespace llmkit::kernels

#include "cpu/dot.h"

#include "cpu/quant_fit_simd.h"

namespace llmkit::kernels {

float dot_f32_ref(const float* a, const float* b, int64_t n) {
  float s = 0.f;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

float dot_f32(const float* a, const float* b, int64_t n) {
  using namespace simd;
  v8f acc0 = splat(0.f), acc1 = splat(0.f);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 += load(a + i) * load(b + i);
    acc1 += load(a + i + 8) * load(b + i + 8);
  }
  for (; i + 8 <= n; i += 8) acc0 += load(a + i) * load(b + i);
  float s = hsum(acc0 + acc1);
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace llmkit::kernels

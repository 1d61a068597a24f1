#include "cpu/swiglu.h"

#include <cmath>

#include "cpu/vexp.h"

namespace llmkit::kernels {

void swiglu_ref(const float* g, const float* u, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

// With e = e^-|x| (never above 1, so the vector exp's range is enough): silu(x) = x / (1 + e)
// for x >= 0 and x e / (1 + e) for x < 0, the same value written without e^x overflowing.
void swiglu(const float* g, const float* u, float* out, int64_t n) {
  using namespace vexp;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const v16f x = load16(g + i);
    const v16f ax = x < 0.f ? -x : x;
    const v16f e = exp_nonpositive(-ax);
    const v16f num = x < 0.f ? x * e : x;
    store16(out + i, num / (1.f + e) * load16(u + i));
  }
  swiglu_ref(g + i, u + i, out + i, n - i);
}

}  // namespace llmkit::kernels

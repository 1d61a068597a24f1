// Small helpers every block quantizer shares.
#pragma once
#include <cmath>

namespace llmkit::kernels {

inline int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// The value with the largest magnitude, sign kept (the first such value on ties). Symmetric
// formats scale by it so that it lands on the end of the code range with one more level
// (-8 of -8..7 for 4 bits), gaining half a step of precision.
inline float signed_absmax(const float* x, int n) {
  float amax = 0.f, max = 0.f;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  return max;
}

}  // namespace llmkit::kernels

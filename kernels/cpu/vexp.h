// exp on 16 lanes of GCC vectors (one AVX-512 register, or two AVX2 ones, as the build targets),
// for softmax and SiLU: both only need e^x for x <= 0.
#pragma once
#include <cstdint>
#include <cstring>

namespace llmkit::kernels::vexp {

typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));
typedef uint32_t v16u __attribute__((vector_size(64)));

inline v16f load16(const float* p) {
  v16f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store16(float* p, v16f v) { std::memcpy(p, &v, sizeof v); }
inline v16f splat16(float f) { return v16f{} + f; }

// exp(x) for x <= 0, 16 lanes: x = n ln2 + r with |r| <= ln2/2 (ln2 in two parts, so r is exact
// to float precision), e^r by its Taylor series to r^7 (truncation error < 2^-27 relative), then
// 2^n put into the exponent. Within 2 ulp of the correctly rounded value; 0 below -87.3, where
// e^x is no longer a normal float (std::exp would give a denormal).
inline v16f exp_nonpositive(v16f x) {
  const v16f t = x * 1.44269504f + 12582912.f;  // 1.5 * 2^23: round to the nearest integer
  const v16f nf = t - 12582912.f;
  // Unsigned lanes: for inputs below the cut (masks of -inf, -1e30) n is garbage and the exponent
  // sum below wraps; that is defined for unsigned and those lanes are zeroed by `keep` anyway.
  const v16u n = (__builtin_bit_cast(v16u, t) & 0x007fffffu) - 0x00400000u;
  const v16f r = (x - nf * 0.693145751953125f) - nf * 1.42860682030941723212e-6f;
  v16f e = splat16(1.f / 5040);
  e = e * r + 1.f / 720;
  e = e * r + 1.f / 120;
  e = e * r + 1.f / 24;
  e = e * r + 1.f / 6;
  e = e * r + 0.5f;
  e = e * r + 1.f;
  e = e * r + 1.f;
  const v16u bits = __builtin_bit_cast(v16u, e) + (n << 23);
  const v16u keep = __builtin_bit_cast(v16u, x >= -87.3f);  // all ones where the result is normal
  return __builtin_bit_cast(v16f, bits & keep);
}

}  // namespace llmkit::kernels::vexp

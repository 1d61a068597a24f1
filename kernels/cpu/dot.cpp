#include "cpu/dot.h"

#include <cstring>

#include "cpu/fp16.h"
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

float dot_bf16_f32_ref(const uint16_t* w, const float* x, int64_t n) {
  float s = 0.f;
  for (int64_t i = 0; i < n; ++i) s += bf16_to_fp32(w[i]) * x[i];
  return s;
}

namespace {
typedef uint16_t v8u16 __attribute__((vector_size(16)));
typedef uint32_t v8u32 __attribute__((vector_size(32)));
inline simd::v8f widen_bf16(const uint16_t* p) {
  v8u16 h;
  std::memcpy(&h, p, sizeof h);
  return __builtin_bit_cast(simd::v8f, __builtin_convertvector(h, v8u32) << 16);
}
}  // namespace

float dot_bf16_f32(const uint16_t* w, const float* x, int64_t n) {
  using namespace simd;
  v8f acc[4] = {splat(0.f), splat(0.f), splat(0.f), splat(0.f)};
  int64_t i = 0;
  // 8 KiB ahead, a line per step: generation streams rows from memory, row after row, faster
  // than the hardware prefetcher alone keeps up with (TinyLlama shape, 2 threads, Zen 5: 18.1 tok/s
  // without, 20.2-20.9 with).
  for (; i + 32 <= n; i += 32) {
    __builtin_prefetch(w + i + 4096);
    for (int j = 0; j < 4; ++j) acc[j] += widen_bf16(w + i + 8 * j) * load(x + i + 8 * j);
  }
  for (; i + 8 <= n; i += 8) acc[0] += widen_bf16(w + i) * load(x + i);
  float s = hsum((acc[0] + acc[1]) + (acc[2] + acc[3]));
  for (; i < n; ++i) s += bf16_to_fp32(w[i]) * x[i];
  return s;
}

}  // namespace llmkit::kernels

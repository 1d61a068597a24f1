// CUDA fp16 conversion against the CPU scalar reference. Skipped (exit 77) without a GPU.
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "cpu/fp16.h"
#include "cuda/fp16_cuda.h"

namespace k = llmkit::kernels;

int main() {
  if (k::cuda::device_count() == 0) {
    std::printf("SKIP: no CUDA device on this machine\n");
    return 77;
  }
  int failures = 0;
  // Every half value through the GPU and the scalar reference.
  std::vector<uint16_t> h(65536);
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint16_t>(i);
  std::vector<float> gpu(h.size()), ref(h.size());
  std::string err = k::cuda::fp16_to_fp32(h.data(), gpu.data(), h.size());
  if (!err.empty()) { std::printf("FAIL: %s\n", err.c_str()); return 1; }
  k::fp16_to_fp32_row_ref(h.data(), ref.data(), h.size());
  for (size_t i = 0; i < h.size(); ++i) {
    bool both_nan = gpu[i] != gpu[i] && ref[i] != ref[i];
    if (!both_nan && std::memcmp(&gpu[i], &ref[i], 4) != 0 && failures++ < 5)
      std::printf("FAIL fp16_to_fp32 0x%04x: gpu %g ref %g\n", h[i], gpu[i], ref[i]);
  }
  // Random finite floats the other way (NaN payload rules differ by design; finite must match).
  std::mt19937 rng(7);
  std::vector<float> f(1 << 20);
  for (auto& x : f) {
    uint32_t u;
    do { u = rng(); } while (((u >> 23) & 0xFF) == 0xFF);
    std::memcpy(&x, &u, 4);
  }
  std::vector<uint16_t> g16(f.size()), r16(f.size());
  err = k::cuda::fp32_to_fp16(f.data(), g16.data(), f.size());
  if (!err.empty()) { std::printf("FAIL: %s\n", err.c_str()); return 1; }
  k::fp32_to_fp16_row_ref(f.data(), r16.data(), f.size());
  for (size_t i = 0; i < f.size(); ++i)
    if (g16[i] != r16[i] && failures++ < 10)
      std::printf("FAIL fp32_to_fp16 %a: gpu 0x%04x ref 0x%04x\n", f[i], g16[i], r16[i]);
  std::printf("%s: %d mismatches\n", failures ? "FAIL" : "OK", failures);
  return failures ? 1 : 0;
}

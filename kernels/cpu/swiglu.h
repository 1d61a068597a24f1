// SwiGLU, the gated FFN activation of llama-family models: out = silu(g) * u, silu(x) = x / (1 + e^-x).
#pragma once
#include <cstdint>

namespace llmkit::kernels {

void swiglu_ref(const float* g, const float* u, float* out, int64_t n);  // std::exp, one at a time
void swiglu(const float* g, const float* u, float* out, int64_t n);      // 16 lanes (out may be g or u)

}  // namespace llmkit::kernels

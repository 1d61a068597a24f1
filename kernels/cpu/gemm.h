// One weight row against several activation rows (tokens) at once: the weight's codes and scales
// are unpacked once and used for every token, which is what makes prompt processing faster than
// token-by-token dot products. The AVX-512 VNNI kernels run only where cpu_has_avx512_vnni() (the
// kernel table chooses); the others, and the references, take one dot product of vec_dot.h per token.
#pragma once
#include <cstddef>
#include <cstdint>

#include "cpu/quants.h"

namespace llmkit::kernels {

constexpr int kGemmTokens = 8;  // tokens per call at most

// y[t * y_stride] = dot(w, a_t) for t < ntok, where a_t = (bytes of a) + t * a_stride.
using GemmRowFn = void (*)(int64_t n, const void* w, const void* a, size_t a_stride, int ntok, float* y,
                           size_t y_stride);

void gemm_q4_K_q8_K_ref(int64_t n, const void* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride);
void gemm_q4_K_q8_K(int64_t n, const void* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride);
void gemm_q4_K_q8_K_vnni(int64_t n, const void* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride);

void gemm_q6_K_q8_K_ref(int64_t n, const void* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride);
void gemm_q6_K_q8_K(int64_t n, const void* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride);
void gemm_q6_K_q8_K_vnni(int64_t n, const void* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride);

}  // namespace llmkit::kernels

// Dot products of a quantized weight row with activations quantized to Q8_0 (32 values per
// block, one f16 scale), in the integer domain as ggml does: int8 products summed per block,
// then scaled. Scalar references and AVX2 paths (when the build targets AVX2).
#pragma once
#include <cstddef>
#include <cstdint>

#include "cpu/quants.h"

namespace llmkit::kernels {

// n: elements (a multiple of 32).
float vec_dot_q8_0_q8_0_ref(int64_t n, const block_q8_0* x, const block_q8_0* y);
float vec_dot_q4_0_q8_0_ref(int64_t n, const block_q4_0* x, const block_q8_0* y);
float vec_dot_q8_0_q8_0(int64_t n, const block_q8_0* x, const block_q8_0* y);
float vec_dot_q4_0_q8_0(int64_t n, const block_q4_0* x, const block_q8_0* y);
// K-quants against activations quantized to Q8_K (256 values, float scale, 16-value sums).
float vec_dot_q4_K_q8_K_ref(int64_t n, const block_q4_K* x, const block_q8_K* y);
float vec_dot_q6_K_q8_K_ref(int64_t n, const block_q6_K* x, const block_q8_K* y);
float vec_dot_q4_K_q8_K(int64_t n, const block_q4_K* x, const block_q8_K* y);
float vec_dot_q6_K_q8_K(int64_t n, const block_q6_K* x, const block_q8_K* y);

// The formats decoded to byte codes first (vec_dot_codes.cpp).
float vec_dot_q4_1_q8_1_ref(int64_t n, const block_q4_1* x, const block_q8_1* y);
float vec_dot_q5_0_q8_0_ref(int64_t n, const block_q5_0* x, const block_q8_0* y);
float vec_dot_q5_1_q8_1_ref(int64_t n, const block_q5_1* x, const block_q8_1* y);
float vec_dot_q4_1_q8_1(int64_t n, const block_q4_1* x, const block_q8_1* y);
float vec_dot_q5_0_q8_0(int64_t n, const block_q5_0* x, const block_q8_0* y);
float vec_dot_q5_1_q8_1(int64_t n, const block_q5_1* x, const block_q8_1* y);
float vec_dot_q2_K_q8_K_ref(int64_t n, const block_q2_K* x, const block_q8_K* y);
float vec_dot_q3_K_q8_K_ref(int64_t n, const block_q3_K* x, const block_q8_K* y);
float vec_dot_q5_K_q8_K_ref(int64_t n, const block_q5_K* x, const block_q8_K* y);
float vec_dot_q2_K_q8_K(int64_t n, const block_q2_K* x, const block_q8_K* y);
float vec_dot_q3_K_q8_K(int64_t n, const block_q3_K* x, const block_q8_K* y);
float vec_dot_q5_K_q8_K(int64_t n, const block_q5_K* x, const block_q8_K* y);
// The 4-bit non-linear formats (vec_dot_iq4.cpp).
float vec_dot_iq4_nl_q8_0_ref(int64_t n, const block_iq4_nl* x, const block_q8_0* y);
float vec_dot_iq4_xs_q8_K_ref(int64_t n, const block_iq4_xs* x, const block_q8_K* y);
float vec_dot_iq4_nl_q8_0(int64_t n, const block_iq4_nl* x, const block_q8_0* y);
float vec_dot_iq4_xs_q8_K(int64_t n, const block_iq4_xs* x, const block_q8_K* y);
// The grid formats against Q8_K (vec_dot_iq.cpp).
// gemm_*: several tokens (kernels/cpu/gemm.h's form, but up to kIqGemmTokens of them), each
// super-block decoded once for all.
constexpr int kIqGemmTokens = 64;
#define LLMKIT_IQ_DOT_DECL(name)                                                           \
  float vec_dot_##name##_q8_K_ref(int64_t n, const block_##name* x, const block_q8_K* y); \
  float vec_dot_##name##_q8_K(int64_t n, const block_##name* x, const block_q8_K* y);     \
  void gemm_##name##_q8_K(int64_t n, const void* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride);
LLMKIT_IQ_DOT_DECL(iq2_xxs)
LLMKIT_IQ_DOT_DECL(iq2_xs)
LLMKIT_IQ_DOT_DECL(iq2_s)
LLMKIT_IQ_DOT_DECL(iq3_xxs)
LLMKIT_IQ_DOT_DECL(iq3_s)
LLMKIT_IQ_DOT_DECL(iq1_s)
LLMKIT_IQ_DOT_DECL(iq1_m)
#undef LLMKIT_IQ_DOT_DECL
// The same with AVX-512 VNNI (x86-64; call only where cpu_has_avx512_vnni()): vec_dot, and
// gemm_rows for up to kIqTileRows rows (row_bytes apart) x any number of tokens at once (the rows
// decoded once), y[t * y_stride + r]; each row and token the same result bit for bit.
constexpr int kIqTileRows = 16;
#define LLMKIT_IQ_VNNI_DECL(name)                                                                           \
  float vec_dot_##name##_q8_K_vnni(int64_t n, const void* x, const void* a);                             \
  void gemm_rows_##name##_q8_K_vnni(int64_t n, const void* w, size_t row_bytes, int nrows, const void* a, \
                                    size_t a_stride, int ntok, float* y, size_t y_stride);
LLMKIT_IQ_VNNI_DECL(iq2_xxs)
LLMKIT_IQ_VNNI_DECL(iq2_xs)
LLMKIT_IQ_VNNI_DECL(iq2_s)
LLMKIT_IQ_VNNI_DECL(iq3_xxs)
LLMKIT_IQ_VNNI_DECL(iq3_s)
LLMKIT_IQ_VNNI_DECL(iq1_s)
LLMKIT_IQ_VNNI_DECL(iq1_m)
#undef LLMKIT_IQ_VNNI_DECL

const char* vec_dot_path();  // "avx2" or "scalar"

}  // namespace llmkit::kernels

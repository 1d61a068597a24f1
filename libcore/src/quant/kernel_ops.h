// The kernel table of each ggml type, chosen once per process for this CPU (kernel_table.cpp):
// row conversions, the integer dot product and the activation type it takes, several-token
// kernels, and the interleaved layouts weights are repacked into at load. Inside libcore only:
// tools call the functions of llmkit/quant.h and never see a kernel.
#pragma once
#include <cstddef>
#include <cstdint>

#include "llmkit/ggml_type.h"

namespace llmkit {

using DequantizeRowFn = void (*)(const void* src, float* dst, int64_t n);
using QuantizeRowFn = void (*)(const float* src, void* dst, int64_t n);
// One row weighted by an importance matrix's means (n of them).
using QuantizeWeightedFn = void (*)(const float* src, void* dst, int64_t n, const float* weights);

// Dot product of a weight row with an activation row quantized to `vec_dot_type`.
using VecDotFn = float (*)(int64_t n, const void* weights, const void* activations);

// The same against several activation rows at once (see kernels/cpu/gemm.h).
using GemmRowsFn = void (*)(int64_t n, const void* weights, size_t row_bytes, int nrows, const void* activations,
                            size_t act_stride, int ntok, float* y, size_t y_stride);
using GemmRowFn = void (*)(int64_t n, const void* weights, const void* activations, size_t act_stride, int ntok,
                           float* y, size_t y_stride);

struct QuantOps {
  DequantizeRowFn to_float;
  QuantizeRowFn from_float;
  VecDotFn vec_dot = nullptr;  // integer-domain dot product, when the type has one
  GgmlType vec_dot_type = GgmlType::F32;
  GemmRowFn gemm = nullptr;  // several tokens per call, when the type has a kernel for it
  // Activations and cache rows at run time, where the CPU backend llama.cpp runs quantizes
  // differently from its file quantizer; nullptr: from_float.
  QuantizeRowFn act_from_float = nullptr;
  // With an importance matrix, where the type weights its fit by one; nullptr: from_float.
  QuantizeWeightedFn from_float_weighted = nullptr;
  // Several rows (up to kernels' kIqTileRows, row_bytes apart) x any number of tokens per call,
  // y[t * y_stride + r], where unpacking the rows once for all tokens pays (the grid formats on
  // AVX-512); nullptr elsewhere.
  GemmRowsFn gemm_rows = nullptr;
  // Tokens one gemm call may take: kGemmTokens (8), or more where unpacking a row costs more than
  // a token's products (the grid formats decode each super-block once per call).
  int gemm_tokens = 8;
};

// Weight rows repacked at load into an interleaved layout of `rows` rows per group
// (kernels/cpu/interleaved.h), with a kernel that computes a whole group against several tokens.
struct PackedOps {
  int rows;                                // rows per group
  // The activations the kernel takes: bytes per row of n, and how to make them from F32 (nullptr:
  // the F32 row as it is).
  uint64_t (*act_bytes)(int64_t n);
  void (*prepare)(const float* x, void* dst, int64_t n);
  uint64_t (*group_bytes)(int64_t n);      // bytes of one group of rows with n columns
  void (*pack)(const void* rows, size_t row_bytes, int64_t n, void* dst);
  // y[t * y_stride + r] for r < rows, t < ntok (prepared activations, act_stride apart).
  void (*gemm)(int64_t n, const void* group, const void* activations, size_t act_stride, int ntok, float* y,
               size_t y_stride);
  // The same for two consecutive groups (2 * rows outputs per token) where a kernel gains from
  // sharing activation loads across them; nullptr where it does not.
  void (*gemm_pair)(int64_t n, const void* groups, const void* activations, size_t act_stride, int ntok, float* y,
                    size_t y_stride) = nullptr;
};
// The kernel paths, best last. The process runs the best its CPU has, or the one LLMKIT_KERNELS
// names (scalar, avx2, avxvnni, avx512; auto: the best), so that every path can be tested and
// measured on one machine; naming a path the CPU lacks is an Error("bad_kernels").
enum class KernelPath { Scalar, Avx2, AvxVnni, Avx512 };
KernelPath kernel_path();
const char* kernel_path_name(KernelPath p);

// nullptr when llmkit cannot convert this type (yet).
const QuantOps* quant_ops(GgmlType t);
// nullptr when the path has no packed kernel for the type (the scalar path has none).
const PackedOps* packed_ops(GgmlType t);

}  // namespace llmkit

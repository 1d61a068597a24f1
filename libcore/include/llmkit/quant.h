// Row (de)quantization for every type llmkit computes with, dispatched by ggml type.
#pragma once
#include <cstdint>
#include <vector>

#include "llmkit/ggml_type.h"

namespace llmkit {

using DequantizeRowFn = void (*)(const void* src, float* dst, int64_t n);
using QuantizeRowFn = void (*)(const float* src, void* dst, int64_t n);

// Dot product of a weight row with an activation row quantized to `vec_dot_type`.
using VecDotFn = float (*)(int64_t n, const void* weights, const void* activations);

// The same against several activation rows at once (see kernels/cpu/gemm.h).
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
// nullptr when this CPU has no packed kernel for the type (they need AVX-512 VNNI).
const PackedOps* packed_ops(GgmlType t);
// The matrix kernels this CPU runs: "avx512vnni" (with repacked weights), "avx2" or "scalar".
const char* cpu_kernel_path();

// nullptr when llmkit cannot convert this type (yet): IQ*, TQ*, MXFP4, integer types.
const QuantOps* quant_ops(GgmlType t);
bool can_quantize(GgmlType t);
bool can_dequantize(GgmlType t);

// n is a multiple of the type's block size. Throw Error("unsupported_type") when not available.
void dequantize_row(GgmlType t, const void* src, float* dst, int64_t n);
void quantize_row(GgmlType t, const float* src, void* dst, int64_t n);
// The same for activations and KV cache rows (QuantOps::act_from_float).
void quantize_act_row(GgmlType t, const float* src, void* dst, int64_t n);

class GgufFile;
struct TensorInfo;
// A whole tensor as F32 (for comparisons and error measurements; reads all its data).
std::vector<float> dequantize_tensor(const GgufFile& f, const TensorInfo& t);

}  // namespace llmkit

// Row (de)quantization for every type llmkit computes with, dispatched by ggml type. The kernel
// tables behind it (dot products, repacked layouts) are libcore's own: quant/kernel_ops.h.
#pragma once
#include <cstdint>
#include <vector>

#include "llmkit/ggml_type.h"

namespace llmkit {

// The matrix kernels this process runs: "avx512" (AVX-512 VNNI, weights repacked), "avxvnni"
// (AVX2 with AVX-VNNI, repacked), "avx2" (AVX2, repacked) or "scalar" (row layout, reference dot
// products); LLMKIT_KERNELS chooses.
const char* cpu_kernel_path();

// false when llmkit cannot convert this type (yet): IQ*, TQ*, MXFP4, integer types.
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

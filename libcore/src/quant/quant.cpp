#include "llmkit/quant.h"
#include "quant/kernel_ops.h"

#include <cstring>

#include "cpu/fp16.h"
#include "cpu/quants.h"
#include "cpu/cpu_features.h"
#include "cpu/gemm.h"
#include "cpu/interleaved.h"
#include "cpu/vec_dot.h"
#include "llmkit/error.h"
#include "llmkit/gguf.h"

namespace llmkit {
namespace {

namespace k = kernels;

void f32_to_f32(const void* s, float* d, int64_t n) { std::memcpy(d, s, static_cast<size_t>(n) * 4); }
void f32_from_f32(const float* s, void* d, int64_t n) { std::memcpy(d, s, static_cast<size_t>(n) * 4); }
void f16_to_f32(const void* s, float* d, int64_t n) { k::fp16_to_fp32_row(static_cast<const uint16_t*>(s), d, static_cast<size_t>(n)); }
void f16_from_f32(const float* s, void* d, int64_t n) { k::fp32_to_fp16_row(s, static_cast<uint16_t*>(d), static_cast<size_t>(n)); }
void bf16_to_f32(const void* s, float* d, int64_t n) { k::bf16_to_fp32_row(static_cast<const uint16_t*>(s), d, static_cast<size_t>(n)); }
void bf16_from_f32(const float* s, void* d, int64_t n) { k::fp32_to_bf16_row(s, static_cast<uint16_t*>(d), static_cast<size_t>(n)); }

const QuantOps kF32{f32_to_f32, f32_from_f32};
const QuantOps kF16{f16_to_f32, f16_from_f32};
const QuantOps kBF16{bf16_to_f32, bf16_from_f32};
float dot_q4_0(int64_t n, const void* w, const void* a) {
  return k::vec_dot_q4_0_q8_0(n, static_cast<const k::block_q4_0*>(w), static_cast<const k::block_q8_0*>(a));
}
float dot_q8_0(int64_t n, const void* w, const void* a) {
  return k::vec_dot_q8_0_q8_0(n, static_cast<const k::block_q8_0*>(w), static_cast<const k::block_q8_0*>(a));
}

float dot_q4_K(int64_t n, const void* w, const void* a) {
  return k::vec_dot_q4_K_q8_K(n, static_cast<const k::block_q4_K*>(w), static_cast<const k::block_q8_K*>(a));
}
float dot_q6_K(int64_t n, const void* w, const void* a) {
  return k::vec_dot_q6_K_q8_K(n, static_cast<const k::block_q6_K*>(w), static_cast<const k::block_q8_K*>(a));
}

#define LLMKIT_DOT(name, wblock, ablock)                                                    \
  float dot_##name(int64_t n, const void* w, const void* a) {                               \
    return k::vec_dot_##name(n, static_cast<const k::wblock*>(w), static_cast<const k::ablock*>(a)); \
  }
LLMKIT_DOT(q4_1_q8_1, block_q4_1, block_q8_1)
LLMKIT_DOT(q5_0_q8_0, block_q5_0, block_q8_0)
LLMKIT_DOT(q5_1_q8_1, block_q5_1, block_q8_1)
LLMKIT_DOT(q2_K_q8_K, block_q2_K, block_q8_K)
LLMKIT_DOT(q3_K_q8_K, block_q3_K, block_q8_K)
LLMKIT_DOT(q5_K_q8_K, block_q5_K, block_q8_K)
#undef LLMKIT_DOT

const QuantOps kQ4_0{k::dequantize_row_q4_0, k::quantize_row_q4_0_ref, dot_q4_0, GgmlType::Q8_0};
const QuantOps kQ4_1{k::dequantize_row_q4_1, k::quantize_row_q4_1_ref, dot_q4_1_q8_1, GgmlType::Q8_1};
const QuantOps kQ5_0{k::dequantize_row_q5_0, k::quantize_row_q5_0_ref, dot_q5_0_q8_0, GgmlType::Q8_0};
const QuantOps kQ5_1{k::dequantize_row_q5_1, k::quantize_row_q5_1_ref, dot_q5_1_q8_1, GgmlType::Q8_1};
const QuantOps kQ8_0{k::dequantize_row_q8_0, k::quantize_row_q8_0, dot_q8_0, GgmlType::Q8_0, nullptr, k::quantize_row_q8_0_act};
const QuantOps kQ2_K{k::dequantize_row_q2_K, k::quantize_row_q2_K, dot_q2_K_q8_K, GgmlType::Q8_K};
const QuantOps kQ3_K{k::dequantize_row_q3_K, k::quantize_row_q3_K_ref, dot_q3_K_q8_K, GgmlType::Q8_K};
const QuantOps kQ4_K{k::dequantize_row_q4_K, k::quantize_row_q4_K, dot_q4_K, GgmlType::Q8_K, k::gemm_q4_K_q8_K};
const QuantOps kQ5_K{k::dequantize_row_q5_K, k::quantize_row_q5_K, dot_q5_K_q8_K, GgmlType::Q8_K};
const QuantOps kQ6_K{k::dequantize_row_q6_K, k::quantize_row_q6_K, dot_q6_K, GgmlType::Q8_K, k::gemm_q6_K_q8_K};
const QuantOps kQ8_K{k::dequantize_row_q8_K, k::quantize_row_q8_K};
// Only ever activations (Q4_1 and Q5_1 weights meet them), made at run time.
const QuantOps kQ8_1{k::dequantize_row_q8_1, k::quantize_row_q8_1_act};

}  // namespace

const QuantOps* quant_ops(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return &kF32;
    case GgmlType::F16: return &kF16;
    case GgmlType::BF16: return &kBF16;
    case GgmlType::Q4_0: return &kQ4_0;
    case GgmlType::Q4_1: return &kQ4_1;
    case GgmlType::Q5_0: return &kQ5_0;
    case GgmlType::Q5_1: return &kQ5_1;
    case GgmlType::Q8_0: return &kQ8_0;
    case GgmlType::Q2_K: return &kQ2_K;
    case GgmlType::Q3_K: return &kQ3_K;
    case GgmlType::Q4_K: return &kQ4_K;
    case GgmlType::Q5_K: return &kQ5_K;
    case GgmlType::Q6_K: return &kQ6_K;
    case GgmlType::Q8_K: return &kQ8_K;
    case GgmlType::Q8_1: return &kQ8_1;
    default: return nullptr;
  }
}

namespace {
// A packed layout's entry: Block is one group's unit of Cols columns; Act the activations' form.
uint64_t q8_K_bytes(int64_t n) { return ggml_bytes(GgmlType::Q8_K, static_cast<uint64_t>(n)); }
void q8_K_prepare(const float* x, void* dst, int64_t n) { k::quantize_row_q8_K(x, dst, n); }
uint64_t q8_0u_bytes(int64_t n) { return sizeof(k::block_q8_0u) * static_cast<uint64_t>(n / 32); }
void q8_0u_prepare(const float* x, void* dst, int64_t n) { k::quantize_row_q8_0u(x, static_cast<k::block_q8_0u*>(dst), n); }
uint64_t f32_bytes(int64_t n) { return 4 * static_cast<uint64_t>(n); }

template <class Block, int Cols, void (*Pack)(const void*, size_t, int64_t, Block*),
          void (*Gemm)(int64_t, const Block*, const void*, size_t, int, float*, size_t)>
constexpr PackedOps packed(uint64_t (*act_bytes)(int64_t), void (*prepare)(const float*, void*, int64_t)) {
  return {k::kPackRows, act_bytes, prepare,
          [](int64_t n) -> uint64_t { return sizeof(Block) * (Cols == 1 ? k::kPackRows : 1) * static_cast<uint64_t>(n / Cols); },
          [](const void* rows, size_t row_bytes, int64_t n, void* dst) { Pack(rows, row_bytes, n, static_cast<Block*>(dst)); },
          [](int64_t n, const void* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride) {
            Gemm(n, static_cast<const Block*>(w), a, a_stride, ntok, y, y_stride);
          }};
}
// The same with a kernel for two consecutive groups at once.
template <class Block, int Cols, void (*Pack)(const void*, size_t, int64_t, Block*),
          void (*Gemm)(int64_t, const Block*, const void*, size_t, int, float*, size_t),
          void (*Pair)(int64_t, const Block*, const void*, size_t, int, float*, size_t)>
constexpr PackedOps packed_pair(uint64_t (*act_bytes)(int64_t), void (*prepare)(const float*, void*, int64_t)) {
  PackedOps ops = packed<Block, Cols, Pack, Gemm>(act_bytes, prepare);
  ops.gemm_pair = [](int64_t n, const void* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride) {
    Pair(n, static_cast<const Block*>(w), a, a_stride, ntok, y, y_stride);
  };
  return ops;
}

// F16 groups are columns of 16 halves (Cols 1: one column per unit of 16 rows).
const PackedOps kQ4_Kx16 = packed<k::block_q4_Kx16, k::kQK_K, k::pack_q4_K_x16, k::gemm_q4_Kx16_q8_K>(q8_K_bytes, q8_K_prepare);
const PackedOps kQ6_Kx16 = packed<k::block_q6_Kx16, k::kQK_K, k::pack_q6_K_x16, k::gemm_q6_Kx16_q8_K>(q8_K_bytes, q8_K_prepare);
const PackedOps kQ8_0x16 = packed<k::block_q8_0x16, 32, k::pack_q8_0_x16, k::gemm_q8_0x16_q8_0>(q8_0u_bytes, q8_0u_prepare);
const PackedOps kQ4_0x16 = packed<k::block_q4_0x16, 32, k::pack_q4_0_x16, k::gemm_q4_0x16_q8_0>(q8_0u_bytes, q8_0u_prepare);
const PackedOps kQ5_0x16 = packed<k::block_q5_0x16, 32, k::pack_q5_0_x16, k::gemm_q5_0x16_q8_0>(q8_0u_bytes, q8_0u_prepare);
const PackedOps kF16x16 = packed_pair<uint16_t, 1, k::pack_f16_x16, k::gemm_f16x16_f32, k::gemm_f16x32_f32>(f32_bytes, nullptr);
}  // namespace

const PackedOps* packed_ops(GgmlType t) {
  if (!k::cpu_has_avx512_vnni()) return nullptr;
  switch (t) {
    case GgmlType::Q4_K: return &kQ4_Kx16;
    case GgmlType::Q6_K: return &kQ6_Kx16;
    case GgmlType::Q8_0: return &kQ8_0x16;
    case GgmlType::Q4_0: return &kQ4_0x16;
    case GgmlType::Q5_0: return &kQ5_0x16;
    case GgmlType::F16: return &kF16x16;
    default: return nullptr;
  }
}

const char* cpu_kernel_path() { return k::cpu_has_avx512_vnni() ? "avx512vnni" : k::vec_dot_path(); }

bool can_quantize(GgmlType t) { return quant_ops(t) != nullptr; }
bool can_dequantize(GgmlType t) { return quant_ops(t) != nullptr; }

void dequantize_row(GgmlType t, const void* src, float* dst, int64_t n) {
  const QuantOps* ops = quant_ops(t);
  if (!ops) throw Error("unsupported_type", std::string("cannot convert ") + ggml_type_name(t) + " to F32");
  ops->to_float(src, dst, n);
}

void quantize_row(GgmlType t, const float* src, void* dst, int64_t n) {
  const QuantOps* ops = quant_ops(t);
  if (!ops) throw Error("unsupported_type", std::string("cannot quantize to ") + ggml_type_name(t));
  ops->from_float(src, dst, n);
}

void quantize_act_row(GgmlType t, const float* src, void* dst, int64_t n) {
  const QuantOps* ops = quant_ops(t);
  if (!ops) throw Error("unsupported_type", std::string("cannot quantize to ") + ggml_type_name(t));
  (ops->act_from_float ? ops->act_from_float : ops->from_float)(src, dst, n);
}

std::vector<float> dequantize_tensor(const GgufFile& f, const TensorInfo& t) {
  std::vector<float> out(t.n_elements);
  if (t.n_elements == 0) return out;
  auto d = f.tensor_data(t);
  const int64_t row = t.ne[0];
  const uint64_t row_bytes = ggml_bytes(t.type, static_cast<uint64_t>(row));
  for (uint64_t r = 0; r < t.n_elements / static_cast<uint64_t>(row); ++r)
    dequantize_row(t.type, d.data() + r * row_bytes, out.data() + r * static_cast<uint64_t>(row), row);
  return out;
}

}  // namespace llmkit

// The kernel table: which kernels compute each ggml type, chosen once per process for the CPU
// (or for LLMKIT_KERNELS), as simdjson picks its implementation. Four paths:
//   avx512  weights repacked 16 rows at a time, AVX-512 VNNI kernels (interleaved_vnni.cpp);
//   avxvnni the same layouts, AVX2 kernels with AVX-VNNI integer dots (interleaved_avx2.inc);
//   avx2    the same layouts, AVX2 kernels (interleaved_avx2.inc);
//   scalar  row layout and the scalar reference dot products: the baseline the others are tested
//           against, on any CPU.
// The row-layout dot products of the two SIMD paths (for the rows a layout leaves over and the
// types without one) are the AVX2 ones of vec_dot.h where the build targets AVX2.
#include <cstdlib>
#include <cstring>
#include <string>

#include "cpu/cpu_features.h"
#include "cpu/fp16.h"
#include "cpu/gemm.h"
#include "cpu/interleaved.h"
#include "cpu/quants.h"
#include "cpu/vec_dot.h"
#include "llmkit/error.h"
#include "llmkit/quant.h"
#include "quant/kernel_ops.h"

namespace llmkit {
namespace {

namespace k = kernels;

bool cpu_has(KernelPath p) {
  switch (p) {
    case KernelPath::Scalar: return true;
    case KernelPath::Avx2: return k::cpu_has_avx2();
    case KernelPath::AvxVnni: return k::cpu_has_avx_vnni();
    case KernelPath::Avx512: return k::cpu_has_avx512_vnni();
  }
  return false;
}

KernelPath choose_path() {
  constexpr KernelPath kAll[] = {KernelPath::Scalar, KernelPath::Avx2, KernelPath::AvxVnni, KernelPath::Avx512};
  const char* want = std::getenv("LLMKIT_KERNELS");
  if (!want || !*want || std::strcmp(want, "auto") == 0) {
    KernelPath best = KernelPath::Scalar;
    for (KernelPath p : kAll)
      if (cpu_has(p)) best = p;
    return best;
  }
  static const char* const kNeeds[] = {"", "AVX2 with FMA and F16C", "AVX-VNNI (with AVX2, FMA and F16C)", "AVX-512 VNNI"};
  for (KernelPath p : kAll) {
    if (std::strcmp(want, kernel_path_name(p)) != 0) continue;
    if (!cpu_has(p))
      throw Error("bad_kernels", std::string("LLMKIT_KERNELS=") + want + ", but this CPU has no " + kNeeds[static_cast<int>(p)]);
    return p;
  }
  throw Error("bad_kernels", std::string("LLMKIT_KERNELS=") + want + ": expected auto, scalar, avx2, avxvnni or avx512");
}

// --- Row layouts -----------------------------------------------------------------------------

void f32_to_f32(const void* s, float* d, int64_t n) { std::memcpy(d, s, static_cast<size_t>(n) * 4); }
void f32_from_f32(const float* s, void* d, int64_t n) { std::memcpy(d, s, static_cast<size_t>(n) * 4); }
void f16_to_f32(const void* s, float* d, int64_t n) { k::fp16_to_fp32_row(static_cast<const uint16_t*>(s), d, static_cast<size_t>(n)); }
void f16_from_f32(const float* s, void* d, int64_t n) { k::fp32_to_fp16_row(s, static_cast<uint16_t*>(d), static_cast<size_t>(n)); }
void bf16_to_f32(const void* s, float* d, int64_t n) { k::bf16_to_fp32_row(static_cast<const uint16_t*>(s), d, static_cast<size_t>(n)); }
void bf16_from_f32(const float* s, void* d, int64_t n) { k::fp32_to_bf16_row(s, static_cast<uint16_t*>(d), static_cast<size_t>(n)); }

// Each integer dot product twice: the SIMD one and its scalar reference (suffix _ref).
#define LLMKIT_DOT(name, wblock, ablock)                                                               \
  float dot_##name(int64_t n, const void* w, const void* a) {                                          \
    return k::vec_dot_##name(n, static_cast<const k::wblock*>(w), static_cast<const k::ablock*>(a));     \
  }                                                                                                     \
  float dot_##name##_ref(int64_t n, const void* w, const void* a) {                                    \
    return k::vec_dot_##name##_ref(n, static_cast<const k::wblock*>(w), static_cast<const k::ablock*>(a)); \
  }
LLMKIT_DOT(q4_0_q8_0, block_q4_0, block_q8_0)
LLMKIT_DOT(q8_0_q8_0, block_q8_0, block_q8_0)
LLMKIT_DOT(q4_1_q8_1, block_q4_1, block_q8_1)
LLMKIT_DOT(q5_0_q8_0, block_q5_0, block_q8_0)
LLMKIT_DOT(q5_1_q8_1, block_q5_1, block_q8_1)
LLMKIT_DOT(q2_K_q8_K, block_q2_K, block_q8_K)
LLMKIT_DOT(q3_K_q8_K, block_q3_K, block_q8_K)
LLMKIT_DOT(q4_K_q8_K, block_q4_K, block_q8_K)
LLMKIT_DOT(q5_K_q8_K, block_q5_K, block_q8_K)
LLMKIT_DOT(q6_K_q8_K, block_q6_K, block_q8_K)
LLMKIT_DOT(iq4_nl_q8_0, block_iq4_nl, block_q8_0)
LLMKIT_DOT(iq4_xs_q8_K, block_iq4_xs, block_q8_K)
LLMKIT_DOT(iq2_xxs_q8_K, block_iq2_xxs, block_q8_K)
LLMKIT_DOT(iq2_xs_q8_K, block_iq2_xs, block_q8_K)
LLMKIT_DOT(iq2_s_q8_K, block_iq2_s, block_q8_K)
LLMKIT_DOT(iq3_xxs_q8_K, block_iq3_xxs, block_q8_K)
LLMKIT_DOT(iq3_s_q8_K, block_iq3_s, block_q8_K)
LLMKIT_DOT(iq1_s_q8_K, block_iq1_s, block_q8_K)
LLMKIT_DOT(iq1_m_q8_K, block_iq1_m, block_q8_K)
#undef LLMKIT_DOT

// The grid formats' several-token kernels, on the SIMD paths (the scalar path has none: one
// reference dot product per token).
#define gemm_iq(f) f
#define gemm_iq_ref(f) nullptr

// One table per path, indexed by the types llmkit computes with.
struct RowTable {
  QuantOps f32{f32_to_f32, f32_from_f32}, f16{f16_to_f32, f16_from_f32}, bf16{bf16_to_f32, bf16_from_f32};
  QuantOps q4_0, q4_1, q5_0, q5_1, q8_0, q2_K, q3_K, q4_K, q5_K, q6_K, iq4_nl, iq4_xs;
  // The grid formats.
  QuantOps iq2_xxs, iq2_xs, iq2_s, iq3_xxs, iq3_s, iq1_s, iq1_m;
  QuantOps q8_K{k::dequantize_row_q8_K, k::quantize_row_q8_K};
  // Only ever activations (Q4_1 and Q5_1 weights meet them), made at run time.
  QuantOps q8_1{k::dequantize_row_q8_1, k::quantize_row_q8_1_act};
};

#define LLMKIT_ROWS(sfx, gemm_q4_K, gemm_q6_K)                                                                        \
  [] {                                                                                                                \
    RowTable t;                                                                                                       \
    t.q4_0 = {k::dequantize_row_q4_0, k::quantize_row_q4_0_ref, dot_q4_0_q8_0##sfx, GgmlType::Q8_0};                 \
    t.q4_1 = {k::dequantize_row_q4_1, k::quantize_row_q4_1_ref, dot_q4_1_q8_1##sfx, GgmlType::Q8_1};                 \
    t.q5_0 = {k::dequantize_row_q5_0, k::quantize_row_q5_0_ref, dot_q5_0_q8_0##sfx, GgmlType::Q8_0};                 \
    t.q5_1 = {k::dequantize_row_q5_1, k::quantize_row_q5_1_ref, dot_q5_1_q8_1##sfx, GgmlType::Q8_1};                 \
    t.q8_0 = {k::dequantize_row_q8_0, k::quantize_row_q8_0, dot_q8_0_q8_0##sfx, GgmlType::Q8_0, nullptr,             \
              k::quantize_row_q8_0_act};                                                                              \
    t.q2_K = {k::dequantize_row_q2_K, k::quantize_row_q2_K, dot_q2_K_q8_K##sfx, GgmlType::Q8_K};                     \
    t.q3_K = {k::dequantize_row_q3_K, k::quantize_row_q3_K_ref, dot_q3_K_q8_K##sfx, GgmlType::Q8_K};                 \
    t.q4_K = {k::dequantize_row_q4_K, k::quantize_row_q4_K, dot_q4_K_q8_K##sfx, GgmlType::Q8_K, gemm_q4_K};          \
    t.q5_K = {k::dequantize_row_q5_K, k::quantize_row_q5_K, dot_q5_K_q8_K##sfx, GgmlType::Q8_K};                     \
    t.q6_K = {k::dequantize_row_q6_K, k::quantize_row_q6_K, dot_q6_K_q8_K##sfx, GgmlType::Q8_K, gemm_q6_K};          \
    t.q4_K.from_float_weighted = k::quantize_row_q4_K_imatrix;                                                        \
    t.q5_K.from_float_weighted = k::quantize_row_q5_K_imatrix;                                                        \
    t.q6_K.from_float_weighted = k::quantize_row_q6_K_imatrix;                                                        \
    t.q2_K.from_float_weighted = k::quantize_row_q2_K_imatrix;                                                        \
    t.q3_K.from_float_weighted = k::quantize_row_q3_K_imatrix;                                                        \
    t.q4_0.from_float_weighted = k::quantize_row_q4_0_imatrix;                                                        \
    t.q4_1.from_float_weighted = k::quantize_row_q4_1_imatrix;                                                        \
    t.q5_0.from_float_weighted = k::quantize_row_q5_0_imatrix;                                                        \
    t.q5_1.from_float_weighted = k::quantize_row_q5_1_imatrix;                                                        \
    t.iq4_nl = {k::dequantize_row_iq4_nl, k::quantize_row_iq4_nl, dot_iq4_nl_q8_0##sfx, GgmlType::Q8_0, nullptr,     \
                k::quantize_row_q8_0_act, k::quantize_row_iq4_nl_imatrix};                                            \
    t.iq4_xs = {k::dequantize_row_iq4_xs, k::quantize_row_iq4_xs, dot_iq4_xs_q8_K##sfx, GgmlType::Q8_K, nullptr,     \
                nullptr, k::quantize_row_iq4_xs_imatrix};                                                             \
    t.iq2_xxs = {k::dequantize_row_iq2_xxs, k::quantize_row_iq2_xxs, dot_iq2_xxs_q8_K##sfx, GgmlType::Q8_K, gemm_iq##sfx(k::gemm_iq2_xxs_q8_K), nullptr, k::quantize_row_iq2_xxs_imatrix}; \
    t.iq2_xs = {k::dequantize_row_iq2_xs, k::quantize_row_iq2_xs, dot_iq2_xs_q8_K##sfx, GgmlType::Q8_K, gemm_iq##sfx(k::gemm_iq2_xs_q8_K), nullptr, k::quantize_row_iq2_xs_imatrix}; \
    t.iq2_s = {k::dequantize_row_iq2_s, k::quantize_row_iq2_s, dot_iq2_s_q8_K##sfx, GgmlType::Q8_K, gemm_iq##sfx(k::gemm_iq2_s_q8_K), nullptr, k::quantize_row_iq2_s_imatrix}; \
    t.iq3_xxs = {k::dequantize_row_iq3_xxs, k::quantize_row_iq3_xxs, dot_iq3_xxs_q8_K##sfx, GgmlType::Q8_K, gemm_iq##sfx(k::gemm_iq3_xxs_q8_K),  \
                 nullptr, k::quantize_row_iq3_xxs_imatrix};                                                           \
    t.iq3_s = {k::dequantize_row_iq3_s, k::quantize_row_iq3_s, dot_iq3_s_q8_K##sfx, GgmlType::Q8_K, gemm_iq##sfx(k::gemm_iq3_s_q8_K),        \
               nullptr, k::quantize_row_iq3_s_imatrix};                                                               \
    t.iq1_s = {k::dequantize_row_iq1_s, k::quantize_row_iq1_s, dot_iq1_s_q8_K##sfx, GgmlType::Q8_K, gemm_iq##sfx(k::gemm_iq1_s_q8_K), nullptr, k::quantize_row_iq1_s_imatrix}; \
    t.iq1_m = {k::dequantize_row_iq1_m, k::quantize_row_iq1_m, dot_iq1_m_q8_K##sfx, GgmlType::Q8_K, gemm_iq##sfx(k::gemm_iq1_m_q8_K), nullptr, k::quantize_row_iq1_m_imatrix}; \
    return t;                                                                                                         \
  }()
const RowTable kRowsScalar = LLMKIT_ROWS(_ref, k::gemm_q4_K_q8_K_ref, k::gemm_q6_K_q8_K_ref);
const RowTable kRowsAvx2 = [] {
  RowTable t = LLMKIT_ROWS(, k::gemm_q4_K_q8_K, k::gemm_q6_K_q8_K);
  for (QuantOps* ops : {&t.iq2_xxs, &t.iq2_xs, &t.iq2_s, &t.iq3_xxs, &t.iq3_s, &t.iq1_s, &t.iq1_m})
    ops->gemm_tokens = k::kIqGemmTokens;
  return t;
}();
const RowTable kRowsAvx512 = [] {
  RowTable t = LLMKIT_ROWS(, k::gemm_q4_K_q8_K_vnni, k::gemm_q6_K_q8_K_vnni);
#if defined(__x86_64__)
  // The grid formats' AVX-512 VNNI row kernels (one and several tokens alike).
  const struct {
    QuantOps* ops;
    VecDotFn dot;
    GemmRowsFn gemm_rows;
  } vnni[] = {{&t.iq2_xxs, k::vec_dot_iq2_xxs_q8_K_vnni, k::gemm_rows_iq2_xxs_q8_K_vnni},
              {&t.iq2_xs, k::vec_dot_iq2_xs_q8_K_vnni, k::gemm_rows_iq2_xs_q8_K_vnni},
              {&t.iq2_s, k::vec_dot_iq2_s_q8_K_vnni, k::gemm_rows_iq2_s_q8_K_vnni},
              {&t.iq3_xxs, k::vec_dot_iq3_xxs_q8_K_vnni, k::gemm_rows_iq3_xxs_q8_K_vnni},
              {&t.iq3_s, k::vec_dot_iq3_s_q8_K_vnni, k::gemm_rows_iq3_s_q8_K_vnni},
              {&t.iq1_s, k::vec_dot_iq1_s_q8_K_vnni, k::gemm_rows_iq1_s_q8_K_vnni},
              {&t.iq1_m, k::vec_dot_iq1_m_q8_K_vnni, k::gemm_rows_iq1_m_q8_K_vnni}};
  // A 16-row tile per call (the grid decoded once for all the tokens); no one-row gemm.
  for (const auto& v : vnni) v.ops->vec_dot = v.dot, v.ops->gemm = nullptr, v.ops->gemm_rows = v.gemm_rows;
#endif
  return t;
}();
#undef LLMKIT_ROWS

// --- Interleaved layouts ---------------------------------------------------------------------

uint64_t q8_K_bytes(int64_t n) { return ggml_bytes(GgmlType::Q8_K, static_cast<uint64_t>(n)); }
void q8_K_prepare(const float* x, void* dst, int64_t n) { k::quantize_row_q8_K(x, dst, n); }
uint64_t q8_0u_bytes(int64_t n) { return sizeof(k::block_q8_0u) * static_cast<uint64_t>(n / 32); }
void q8_0u_prepare(const float* x, void* dst, int64_t n) { k::quantize_row_q8_0u(x, static_cast<k::block_q8_0u*>(dst), n); }
uint64_t q8_0s_bytes(int64_t n) { return sizeof(k::block_q8_0s) * static_cast<uint64_t>(n / 32); }
void q8_0s_prepare(const float* x, void* dst, int64_t n) { k::quantize_row_q8_0s(x, static_cast<k::block_q8_0s*>(dst), n); }
uint64_t q8_1f_bytes(int64_t n) { return sizeof(k::block_q8_1f) * static_cast<uint64_t>(n / 32); }
void q8_1f_prepare(const float* x, void* dst, int64_t n) { k::quantize_row_q8_1f(x, static_cast<k::block_q8_1f*>(dst), n); }
uint64_t f32_bytes(int64_t n) { return 4 * static_cast<uint64_t>(n); }

// A packed layout's entry: Block is one group's unit of Cols columns; Act the activations' form.
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

struct PackedTable {
  PackedOps q4_K, q5_K, q6_K, q8_0, q4_0, q5_0, q4_1, f16, bf16, iq4_nl, iq4_xs;
};
// F16 and BF16 groups are columns of 16 values (Cols 1: one column per unit of 16 rows).
const PackedTable kPackedAvx512{
    packed<k::block_q4_Kx16, k::kQK_K, k::pack_q4_K_x16, k::gemm_q4_Kx16_q8_K>(q8_K_bytes, q8_K_prepare),
    packed<k::block_q5_Kx16, k::kQK_K, k::pack_q5_K_x16, k::gemm_q5_Kx16_q8_K>(q8_K_bytes, q8_K_prepare),
    packed<k::block_q6_Kx16, k::kQK_K, k::pack_q6_K_x16, k::gemm_q6_Kx16_q8_K>(q8_K_bytes, q8_K_prepare),
    packed<k::block_q8_0x16, 32, k::pack_q8_0_x16, k::gemm_q8_0x16_q8_0>(q8_0u_bytes, q8_0u_prepare),
    packed<k::block_q4_0x16, 32, k::pack_q4_0_x16, k::gemm_q4_0x16_q8_0>(q8_0u_bytes, q8_0u_prepare),
    packed<k::block_q5_0x16, 32, k::pack_q5_0_x16, k::gemm_q5_0x16_q8_0>(q8_0u_bytes, q8_0u_prepare),
    packed<k::block_q4_1x16, 32, k::pack_q4_1_x16, k::gemm_q4_1x16_q8_1>(q8_1f_bytes, q8_1f_prepare),
    packed_pair<uint16_t, 1, k::pack_f16_x16, k::gemm_f16x16_f32, k::gemm_f16x32_f32>(f32_bytes, nullptr),
    packed_pair<uint16_t, 1, k::pack_f16_x16, k::gemm_bf16x16_f32, k::gemm_bf16x32_f32>(f32_bytes, nullptr),
    packed<k::block_q4_0x16, 32, k::pack_q4_0_x16, k::gemm_iq4_nlx16_q8_0>(q8_0u_bytes, q8_0u_prepare),
    packed<k::block_iq4_xsx16, k::kQK_K, k::pack_iq4_xs_x16, k::gemm_iq4_xsx16_q8_K>(q8_K_bytes, q8_K_prepare),
};
// The AVX2 and AVX-VNNI tables: one compilation of interleaved_avx2.inc each, the same F16 and BF16.
#define LLMKIT_PACKED_X86(sfx)                                                                                        \
  PackedTable {                                                                                                       \
    packed<k::block_q4_Kx16, k::kQK_K, k::pack_q4_K_x16, k::gemm_q4_Kx16_q8_K_##sfx>(q8_K_bytes, q8_K_prepare),       \
    packed<k::block_q5_Kx16, k::kQK_K, k::pack_q5_K_x16, k::gemm_q5_Kx16_q8_K_##sfx>(q8_K_bytes, q8_K_prepare),       \
    packed<k::block_q6_Kx16, k::kQK_K, k::pack_q6_K_x16, k::gemm_q6_Kx16_q8_K_##sfx>(q8_K_bytes, q8_K_prepare),       \
    packed<k::block_q8_0x16, 32, k::pack_q8_0_x16, k::gemm_q8_0x16_q8_0s_##sfx>(q8_0s_bytes, q8_0s_prepare),          \
    packed<k::block_q4_0x16, 32, k::pack_q4_0_x16, k::gemm_q4_0x16_q8_0s_##sfx>(q8_0s_bytes, q8_0s_prepare),          \
    packed<k::block_q5_0x16, 32, k::pack_q5_0_x16, k::gemm_q5_0x16_q8_0s_##sfx>(q8_0s_bytes, q8_0s_prepare),          \
    packed<k::block_q4_1x16, 32, k::pack_q4_1_x16, k::gemm_q4_1x16_q8_1_##sfx>(q8_1f_bytes, q8_1f_prepare),           \
    packed_pair<uint16_t, 1, k::pack_f16_x16, k::gemm_f16x16_f32_avx2, k::gemm_f16x32_f32_avx2>(f32_bytes, nullptr), \
    packed_pair<uint16_t, 1, k::pack_f16_x16, k::gemm_bf16x16_f32_avx2, k::gemm_bf16x32_f32_avx2>(f32_bytes, nullptr), \
    packed<k::block_q4_0x16, 32, k::pack_q4_0_x16, k::gemm_iq4_nlx16_q8_0s_##sfx>(q8_0s_bytes, q8_0s_prepare),      \
    packed<k::block_iq4_xsx16, k::kQK_K, k::pack_iq4_xs_x16, k::gemm_iq4_xsx16_q8_K_##sfx>(q8_K_bytes, q8_K_prepare), \
  }
const PackedTable kPackedAvx2 = LLMKIT_PACKED_X86(avx2);
const PackedTable kPackedAvxVnni = LLMKIT_PACKED_X86(avxvnni);
#undef LLMKIT_PACKED_X86

}  // namespace

const char* kernel_path_name(KernelPath p) {
  switch (p) {
    case KernelPath::Scalar: return "scalar";
    case KernelPath::Avx2: return "avx2";
    case KernelPath::AvxVnni: return "avxvnni";
    case KernelPath::Avx512: return "avx512";
  }
  return "?";
}

KernelPath kernel_path() {
  static const KernelPath path = choose_path();
  return path;
}

const char* cpu_kernel_path() { return kernel_path_name(kernel_path()); }

const QuantOps* quant_ops(GgmlType t) {
  const KernelPath path = kernel_path();
  const RowTable& r = path == KernelPath::Scalar ? kRowsScalar : path == KernelPath::Avx512 ? kRowsAvx512 : kRowsAvx2;
  switch (t) {
    case GgmlType::F32: return &r.f32;
    case GgmlType::F16: return &r.f16;
    case GgmlType::BF16: return &r.bf16;
    case GgmlType::Q4_0: return &r.q4_0;
    case GgmlType::Q4_1: return &r.q4_1;
    case GgmlType::Q5_0: return &r.q5_0;
    case GgmlType::Q5_1: return &r.q5_1;
    case GgmlType::Q8_0: return &r.q8_0;
    case GgmlType::Q2_K: return &r.q2_K;
    case GgmlType::Q3_K: return &r.q3_K;
    case GgmlType::Q4_K: return &r.q4_K;
    case GgmlType::Q5_K: return &r.q5_K;
    case GgmlType::Q6_K: return &r.q6_K;
    case GgmlType::Q8_K: return &r.q8_K;
    case GgmlType::Q8_1: return &r.q8_1;
    case GgmlType::IQ4_NL: return &r.iq4_nl;
    case GgmlType::IQ4_XS: return &r.iq4_xs;
    case GgmlType::IQ2_XXS: return &r.iq2_xxs;
    case GgmlType::IQ2_XS: return &r.iq2_xs;
    case GgmlType::IQ2_S: return &r.iq2_s;
    case GgmlType::IQ3_XXS: return &r.iq3_xxs;
    case GgmlType::IQ3_S: return &r.iq3_s;
    case GgmlType::IQ1_S: return &r.iq1_s;
    case GgmlType::IQ1_M: return &r.iq1_m;
    default: return nullptr;
  }
}

const PackedOps* packed_ops(GgmlType t) {
  const KernelPath path = kernel_path();
  if (path == KernelPath::Scalar) return nullptr;
  const PackedTable& p = path == KernelPath::Avx512 ? kPackedAvx512 : path == KernelPath::AvxVnni ? kPackedAvxVnni : kPackedAvx2;
  switch (t) {
    case GgmlType::Q4_K: return &p.q4_K;
    case GgmlType::Q5_K: return &p.q5_K;
    case GgmlType::Q6_K: return &p.q6_K;
    case GgmlType::Q8_0: return &p.q8_0;
    case GgmlType::Q4_0: return &p.q4_0;
    case GgmlType::Q5_0: return &p.q5_0;
    case GgmlType::Q4_1: return &p.q4_1;
    case GgmlType::F16: return &p.f16;
    case GgmlType::BF16: return &p.bf16;
    case GgmlType::IQ4_NL: return &p.iq4_nl;
    case GgmlType::IQ4_XS: return &p.iq4_xs;
    default: return nullptr;
  }
}

}  // namespace llmkit

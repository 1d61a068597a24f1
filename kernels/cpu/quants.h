// ggml's block formats, bit for bit: layouts, scalar reference quantization (llama.cpp's
// non-imatrix results) and dequantization. Rows are `n` floats, n a multiple of the block size.
#pragma once
#include <cstddef>
#include <cstdint>

namespace llmkit::kernels {

constexpr int kQK = 32;     // elements per block of the legacy formats
constexpr int kQK_K = 256;  // elements per super-block of the K-quants

struct block_q4_0 { uint16_t d; uint8_t qs[kQK / 2]; };
struct block_q4_1 { uint16_t d, m; uint8_t qs[kQK / 2]; };
struct block_q5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[kQK / 2]; };
struct block_q5_1 { uint16_t d, m; uint8_t qh[4]; uint8_t qs[kQK / 2]; };
struct block_q8_0 { uint16_t d; int8_t qs[kQK]; };
// Q8_1: Q8_0's codes plus s = d * sum(qs) (both F16), the activations Q4_1 and Q5_1 meet.
struct block_q8_1 { uint16_t d, s; int8_t qs[kQK]; };
struct block_q2_K { uint8_t scales[kQK_K / 16]; uint8_t qs[kQK_K / 4]; uint16_t d, dmin; };
struct block_q3_K { uint8_t hmask[kQK_K / 8]; uint8_t qs[kQK_K / 4]; uint8_t scales[12]; uint16_t d; };
struct block_q4_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[kQK_K / 2]; };
struct block_q5_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[kQK_K / 8]; uint8_t qs[kQK_K / 2]; };
struct block_q6_K { uint8_t ql[kQK_K / 2]; uint8_t qh[kQK_K / 4]; int8_t scales[kQK_K / 16]; uint16_t d; };
struct block_q8_K { float d; int8_t qs[kQK_K]; int16_t bsums[kQK_K / 16]; };

// The 4-bit non-linear formats: each nibble picks one of 16 fixed levels (kIq4nlValues), denser
// near zero, where most weights lie. IQ4_NL: blocks of 32 with one f16 scale (Q4_0's layout);
// IQ4_XS: super-blocks of 256, an f16 scale and a six-bit signed scale (stored + 32, low four bits
// in scales_l, top two in scales_h) per 32 values.
inline constexpr int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
struct block_iq4_nl { uint16_t d; uint8_t qs[kQK / 2]; };
struct block_iq4_xs { uint16_t d; uint16_t scales_h; uint8_t scales_l[kQK_K / 64]; uint8_t qs[kQK_K / 2]; };
static_assert(sizeof(block_iq4_nl) == 18 && sizeof(block_iq4_xs) == 136);
// The six-bit scale of sub-block s (0..7) of an IQ4_XS super-block, as stored (0..63; minus 32 is the value).
inline int iq4_xs_scale(const block_iq4_xs& b, int s) {
  return ((b.scales_l[s / 2] >> (4 * (s % 2))) & 0xF) | ((b.scales_h >> (2 * s)) & 3) << 4;
}

// The grid formats (IQ1_S/M, IQ2_XXS/XS/S, IQ3_XXS/S): each group of 8 (or 4) values is one point
// of a fixed grid (kernels/cpu/iq_grids.h) picked by an index, with its signs; a scale per 32 (or
// 16) values under an f16 one per 256. IQ1 adds a shift of +-1/8 per 32 or 16 values.
struct block_iq2_xxs { uint16_t d; uint16_t qs[kQK_K / 8]; };
struct block_iq2_xs { uint16_t d; uint16_t qs[kQK_K / 8]; uint8_t scales[kQK_K / 32]; };
struct block_iq2_s { uint16_t d; uint8_t qs[kQK_K / 4]; uint8_t qh[kQK_K / 32]; uint8_t scales[kQK_K / 32]; };
struct block_iq3_xxs { uint16_t d; uint8_t qs[3 * kQK_K / 8]; };
struct block_iq3_s { uint16_t d; uint8_t qs[kQK_K / 4]; uint8_t qh[kQK_K / 32]; uint8_t signs[kQK_K / 8]; uint8_t scales[kQK_K / 64]; };
struct block_iq1_s { uint16_t d; uint8_t qs[kQK_K / 8]; uint16_t qh[kQK_K / 32]; };
struct block_iq1_m { uint8_t qs[kQK_K / 8]; uint8_t qh[kQK_K / 16]; uint8_t scales[kQK_K / 32]; };
static_assert(sizeof(block_iq2_xxs) == 66 && sizeof(block_iq2_xs) == 74 && sizeof(block_iq2_s) == 82 &&
              sizeof(block_iq3_xxs) == 98 && sizeof(block_iq3_s) == 110 && sizeof(block_iq1_s) == 50 &&
              sizeof(block_iq1_m) == 56);

static_assert(sizeof(block_q4_0) == 18 && sizeof(block_q4_1) == 20 && sizeof(block_q5_0) == 22 &&
              sizeof(block_q5_1) == 24 && sizeof(block_q8_0) == 34);
static_assert(sizeof(block_q2_K) == 84 && sizeof(block_q3_K) == 110 && sizeof(block_q4_K) == 144 &&
              sizeof(block_q5_K) == 176 && sizeof(block_q6_K) == 210 && sizeof(block_q8_K) == 292);

// Scalar reference quantizers (llama.cpp's algorithms without an importance matrix).
void quantize_row_q4_0_ref(const float* x, void* y, int64_t n);
void quantize_row_q4_1_ref(const float* x, void* y, int64_t n);
void quantize_row_q5_0_ref(const float* x, void* y, int64_t n);
void quantize_row_q5_1_ref(const float* x, void* y, int64_t n);
void quantize_row_q8_0_ref(const float* x, void* y, int64_t n);
void quantize_row_q2_K_ref(const float* x, void* y, int64_t n);
void quantize_row_q3_K_ref(const float* x, void* y, int64_t n);
void quantize_row_q4_K_ref(const float* x, void* y, int64_t n);
void quantize_row_q5_K_ref(const float* x, void* y, int64_t n);
void quantize_row_q6_K_ref(const float* x, void* y, int64_t n);
void quantize_row_q8_K_ref(const float* x, void* y, int64_t n);
void quantize_row_q8_K(const float* x, void* y, int64_t n);  // 8-lane, bit for bit the reference

// With an importance matrix (`qw`: one weight per column, n of them: one row at a time), as
// llama.cpp quantizes then (its *_impl fits with quant_weights).
void quantize_row_q4_K_imatrix(const float* x, void* y, int64_t n, const float* qw);
void quantize_row_q5_K_imatrix(const float* x, void* y, int64_t n, const float* qw);
void quantize_row_q6_K_imatrix(const float* x, void* y, int64_t n, const float* qw);
void quantize_row_q2_K_imatrix(const float* x, void* y, int64_t n, const float* qw);
void quantize_row_q3_K_imatrix(const float* x, void* y, int64_t n, const float* qw);
void quantize_row_q4_0_imatrix(const float* x, void* y, int64_t n, const float* qw);
void quantize_row_q4_1_imatrix(const float* x, void* y, int64_t n, const float* qw);
void quantize_row_q5_0_imatrix(const float* x, void* y, int64_t n, const float* qw);
void quantize_row_q5_1_imatrix(const float* x, void* y, int64_t n, const float* qw);
// IQ4_NL and IQ4_XS as llama-quantize makes them (seven trial scales either side of the first
// guess); without a matrix the fit weights each value by its square.
void quantize_row_iq4_nl(const float* x, void* y, int64_t n);
void quantize_row_iq4_xs(const float* x, void* y, int64_t n);
void quantize_row_iq4_nl_imatrix(const float* x, void* y, int64_t n, const float* qw);
void quantize_row_iq4_xs_imatrix(const float* x, void* y, int64_t n, const float* qw);
// IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS and IQ3_S, llama-quantize's bytes (quants_iq_grid.cpp).
// llama-quantize refuses IQ2_XXS and IQ2_XS without a matrix; here they then weight by x^2.
#define LLMKIT_GRID_QUANT_DECL(name)                                   \
  void quantize_row_##name(const float* x, void* y, int64_t n); \
  void quantize_row_##name##_imatrix(const float* x, void* y, int64_t n, const float* qw);
LLMKIT_GRID_QUANT_DECL(iq2_xxs)
LLMKIT_GRID_QUANT_DECL(iq2_xs)
LLMKIT_GRID_QUANT_DECL(iq2_s)
LLMKIT_GRID_QUANT_DECL(iq3_xxs)
LLMKIT_GRID_QUANT_DECL(iq3_s)
LLMKIT_GRID_QUANT_DECL(iq1_s)  // quants_iq1.cpp (without a matrix: weights x^2)
LLMKIT_GRID_QUANT_DECL(iq1_m)
#undef LLMKIT_GRID_QUANT_DECL

// Fast paths (8-lane fitting loops); same algorithms as the references, sums in another order.
void quantize_row_q2_K(const float* x, void* y, int64_t n);
void quantize_row_q4_K(const float* x, void* y, int64_t n);
void quantize_row_q5_K(const float* x, void* y, int64_t n);
void quantize_row_q6_K(const float* x, void* y, int64_t n);
void quantize_row_q8_0(const float* x, void* y, int64_t n);  // bit-identical to the reference
// Activations and the KV cache at run time, as ggml's x86 CPU backend quantizes them (its
// quantize_row_q8_0, not the reference used for weights): the scale 127/amax rather than
// 1/(amax/127), halves rounded to even rather than away from zero. Matching it keeps greedy
// continuations token for token with llama.cpp on Q4_0/Q5_0/Q8_0 weights.
void quantize_row_q8_0_act(const float* x, void* y, int64_t n);
// Q8_1 the same way (ggml's x86 quantize_row_q8_1): s is the F32 scale times the codes' sum.
void quantize_row_q8_1_act(const float* x, void* y, int64_t n);
void dequantize_row_q8_1(const void* x, float* y, int64_t n);

void dequantize_row_q4_0(const void* x, float* y, int64_t n);
void dequantize_row_q4_1(const void* x, float* y, int64_t n);
void dequantize_row_q5_0(const void* x, float* y, int64_t n);
void dequantize_row_q5_1(const void* x, float* y, int64_t n);
void dequantize_row_q8_0(const void* x, float* y, int64_t n);
void dequantize_row_q2_K(const void* x, float* y, int64_t n);
void dequantize_row_q3_K(const void* x, float* y, int64_t n);
void dequantize_row_q4_K(const void* x, float* y, int64_t n);
void dequantize_row_q5_K(const void* x, float* y, int64_t n);
void dequantize_row_q6_K(const void* x, float* y, int64_t n);
void dequantize_row_q8_K(const void* x, float* y, int64_t n);
void dequantize_row_iq4_nl(const void* x, float* y, int64_t n);
void dequantize_row_iq2_xxs(const void* x, float* y, int64_t n);
void dequantize_row_iq2_xs(const void* x, float* y, int64_t n);
void dequantize_row_iq2_s(const void* x, float* y, int64_t n);
void dequantize_row_iq3_xxs(const void* x, float* y, int64_t n);
void dequantize_row_iq3_s(const void* x, float* y, int64_t n);
void dequantize_row_iq1_s(const void* x, float* y, int64_t n);
void dequantize_row_iq1_m(const void* x, float* y, int64_t n);
void dequantize_row_iq4_xs(const void* x, float* y, int64_t n);

// Round to nearest, ties to even, for |f| < 2^22 (all the quantizers need).
inline int nearest_int(float f) {
  float v = f + 12582912.f;  // 1.5 * 2^23: the integer lands in the low mantissa bits
  int i;
  __builtin_memcpy(&i, &v, 4);
  return (i & 0x007fffff) - 0x00400000;
}

}  // namespace llmkit::kernels

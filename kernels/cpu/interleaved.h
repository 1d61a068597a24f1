// Weights of 16 rows interleaved at load time ("repacked"), so that one 512-bit vector holds the
// same four columns of 16 rows: a vpdpbusd then multiplies 16 rows by four broadcast activation
// bytes at once, and the results land one row per lane, ready to be stored. Scales and minimums
// are laid out the same way (one row per lane). This is what lets a prompt run near the CPU's
// integer throughput instead of spending most of its time on per-row shuffles and reductions.
//
// Two sets of kernels read these layouts: AVX-512 VNNI (interleaved_vnni.cpp, one 512-bit vector
// per line of 16 rows) and AVX2 (interleaved_avx2.inc, the line as two halves of 8 rows, compiled with and without
// AVX-VNNI); the
// kernel table (libcore/src/quant) picks one for the CPU. The scalar references read the same
// layout and exist to test the fast paths (and the packing) against the plain dot products.
#pragma once
#include <cstddef>
#include <cstdint>

#include "cpu/quants.h"

namespace llmkit::kernels {

constexpr int kPackRows = 16;   // rows per interleaved group
constexpr int kPackTokens = 8;  // activation rows the kernels hold in registers at once

// One super-block (256 columns) of 16 Q4_K rows.
struct block_q4_Kx16 {
  uint16_t d[kPackRows], dmin[kPackRows];  // f16, per row
  uint8_t scales[8][kPackRows];            // six-bit scale of sub-block s (32 columns), row r
  uint8_t mins[4][kPackRows][2];           // six-bit minimums of sub-blocks 2p and 2p+1, row r
  // Sub-block s, column group g, row r: four bytes whose low nibbles are columns 32s+4g..+3 and
  // high nibbles columns 32s+16+4g..+3.
  uint8_t qs[8][4][kPackRows][4];
};
static_assert(sizeof(block_q4_Kx16) == 2368);

// One super-block (256 columns) of 16 Q5_K rows: Q4_K's layout plus the fifth bits, in qh[s][r]
// bit j for column 32s + j.
struct block_q5_Kx16 {
  uint16_t d[kPackRows], dmin[kPackRows];
  uint8_t scales[8][kPackRows];
  uint8_t mins[4][kPackRows][2];
  uint8_t qs[8][4][kPackRows][4];
  uint32_t qh[8][kPackRows];
};
void pack_q5_K_x16(const void* rows, size_t row_bytes, int64_t n, block_q5_Kx16* dst);
void gemm_q5_Kx16_q8_K_ref(int64_t n, const block_q5_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                           size_t y_stride);
void gemm_q5_Kx16_q8_K(int64_t n, const block_q5_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                       size_t y_stride);  // AVX-512 VNNI
void gemm_q5_Kx16_q8_K_avx2(int64_t n, const block_q5_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                            size_t y_stride);

// One super-block (256 columns) of 16 Q6_K rows. Codes are stored as 0..63 (the value + 32).
struct block_q6_Kx16 {
  uint16_t d[kPackRows];                 // f16, per row
  int8_t scales[8][kPackRows][2];        // scales of 16-column sub-blocks 2p and 2p+1, row r
  // Column pair-block p (32 columns), group g, row r: low nibbles of columns 32p+4g..+3 (low
  // nibble) and 32p+16+4g..+3 (high nibble).
  uint8_t ql[8][4][kPackRows][4];
  // Top two bits: in qh[p][h][r][i], bits 2c..2c+1 belong to column 32p + 16h + 4c + i.
  uint8_t qh[8][2][kPackRows][4];
};
static_assert(sizeof(block_q6_Kx16) == 16 * sizeof(block_q6_K));

// One block (32 columns) of 16 Q8_0 rows: the same four columns of 16 rows in each 64 bytes.
struct block_q8_0x16 {
  uint16_t d[kPackRows];           // f16, per row
  int8_t qs[8][kPackRows][4];      // columns 4q..4q+3, row r
};
static_assert(sizeof(block_q8_0x16) == 16 * sizeof(block_q8_0));

// One block (32 columns) of 16 Q4_0 rows.
struct block_q4_0x16 {
  uint16_t d[kPackRows];           // f16, per row
  uint8_t qs[4][kPackRows][4];     // group g, row r: columns 4g..+3 (low nibbles), 16+4g..+3 (high)
};
static_assert(sizeof(block_q4_0x16) == 16 * sizeof(block_q4_0));

// One block (32 columns) of 16 Q5_0 rows: Q4_0's nibbles plus each row's fifth bits as in Q5_0.
struct block_q5_0x16 {
  uint16_t d[kPackRows];           // f16, per row
  uint32_t qh[kPackRows];          // row r: bit j is the fifth bit of column j
  uint8_t qs[4][kPackRows][4];     // as block_q4_0x16
};
static_assert(sizeof(block_q5_0x16) == 16 * sizeof(block_q5_0));

// 16 consecutive rows of n columns (a multiple of 256), row_bytes apart, into n/256 blocks.
void pack_q4_K_x16(const void* rows, size_t row_bytes, int64_t n, block_q4_Kx16* dst);

// y[t * y_stride + r] = dot(row r of the group, a_t) for r < 16, t < ntok (any; kPackTokens at a time), where
// a_t = (bytes of a) + t * a_stride holds n/256 Q8_K blocks.
void gemm_q4_Kx16_q8_K_ref(int64_t n, const block_q4_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                           size_t y_stride);
void gemm_q4_Kx16_q8_K(int64_t n, const block_q4_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                       size_t y_stride);  // AVX-512 VNNI: call only when cpu_has_avx512_vnni()

// Q8_0 activations made ready for vpdpbusd, once per matrix product rather than once per group
// of rows: the scale as F32 and the codes biased by 128 to unsigned bytes.
struct block_q8_0u {
  float d;
  uint8_t qs[32];
};
void quantize_row_q8_0u(const float* x, block_q8_0u* y, int64_t n);  // the values of quantize_row_q8_0

// The AVX2 kernels' form of the same activations: vpmaddubsw saturates where a biased byte (up to
// 255) meets a large weight, so the codes stay signed, with their sum for the formats whose codes
// are stored with an offset (Q4_0's 8, Q5_0's 16).
struct block_q8_0s {
  float d;
  int32_t sum;  // of qs
  int8_t qs[32];
};
void quantize_row_q8_0s(const float* x, block_q8_0s* y, int64_t n);  // the values of quantize_row_q8_0

// The same for Q8_0 and Q4_0 rows against those activations (n a multiple of 32).
void pack_q8_0_x16(const void* rows, size_t row_bytes, int64_t n, block_q8_0x16* dst);
void pack_q4_0_x16(const void* rows, size_t row_bytes, int64_t n, block_q4_0x16* dst);
void pack_q5_0_x16(const void* rows, size_t row_bytes, int64_t n, block_q5_0x16* dst);
void gemm_q8_0x16_q8_0_ref(int64_t n, const block_q8_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                           size_t y_stride);
void gemm_q8_0x16_q8_0(int64_t n, const block_q8_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                       size_t y_stride);
void gemm_q4_0x16_q8_0_ref(int64_t n, const block_q4_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                           size_t y_stride);
void gemm_q4_0x16_q8_0(int64_t n, const block_q4_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                       size_t y_stride);
void gemm_q5_0x16_q8_0_ref(int64_t n, const block_q5_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                           size_t y_stride);
void gemm_q5_0x16_q8_0(int64_t n, const block_q5_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                       size_t y_stride);

// One block (32 columns) of 16 Q4_1 rows: Q4_0's nibble layout, each row's minimum beside its scale.
struct block_q4_1x16 {
  uint16_t d[kPackRows], m[kPackRows];  // f16, per row
  uint8_t qs[4][kPackRows][4];          // as block_q4_0x16
};
static_assert(sizeof(block_q4_1x16) == 16 * sizeof(block_q4_1));
// Q4_1's activations (Q8_1) with the scale and the scaled sum as F32: the values of
// quantize_row_q8_1_act, so the sums equal the plain dot product's.
struct block_q8_1f {
  float d, s;
  int8_t qs[32];
};
void quantize_row_q8_1f(const float* x, block_q8_1f* y, int64_t n);
void pack_q4_1_x16(const void* rows, size_t row_bytes, int64_t n, block_q4_1x16* dst);
void gemm_q4_1x16_q8_1_ref(int64_t n, const block_q4_1x16* w, const void* a, size_t a_stride, int ntok, float* y,
                           size_t y_stride);
void gemm_q4_1x16_q8_1(int64_t n, const block_q4_1x16* w, const void* a, size_t a_stride, int ntok, float* y,
                       size_t y_stride);  // AVX-512 VNNI
void gemm_q4_1x16_q8_1_avx2(int64_t n, const block_q4_1x16* w, const void* a, size_t a_stride, int ntok, float* y,
                            size_t y_stride);

// IQ4_NL rows take Q4_0's layout (block_q4_0x16, pack_q4_0_x16: the same bytes), their codes
// looked up in kIq4nlValues rather than offset by 8.
void gemm_iq4_nlx16_q8_0_ref(int64_t n, const block_q4_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                             size_t y_stride);
void gemm_iq4_nlx16_q8_0(int64_t n, const block_q4_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                         size_t y_stride);  // AVX-512 VNNI, block_q8_0u activations
void gemm_iq4_nlx16_q8_0s_ref(int64_t n, const block_q4_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                              size_t y_stride);
void gemm_iq4_nlx16_q8_0s_avx2(int64_t n, const block_q4_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                               size_t y_stride);
void gemm_iq4_nlx16_q8_0s_avxvnni(int64_t n, const block_q4_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                                  size_t y_stride);

// One super-block (256 columns) of 16 IQ4_XS rows: Q4_K's code layout, one signed scale (-32..31)
// per row and 32-column sub-block, no minimums.
struct block_iq4_xsx16 {
  uint16_t d[kPackRows];           // f16, per row
  int8_t scales[8][kPackRows];     // sub-block s, row r
  uint8_t qs[8][4][kPackRows][4];  // as block_q4_Kx16
};
void pack_iq4_xs_x16(const void* rows, size_t row_bytes, int64_t n, block_iq4_xsx16* dst);
void gemm_iq4_xsx16_q8_K_ref(int64_t n, const block_iq4_xsx16* w, const void* a, size_t a_stride, int ntok, float* y,
                             size_t y_stride);
void gemm_iq4_xsx16_q8_K(int64_t n, const block_iq4_xsx16* w, const void* a, size_t a_stride, int ntok, float* y,
                         size_t y_stride);  // AVX-512 VNNI
void gemm_iq4_xsx16_q8_K_avx2(int64_t n, const block_iq4_xsx16* w, const void* a, size_t a_stride, int ntok, float* y,
                              size_t y_stride);
void gemm_iq4_xsx16_q8_K_avxvnni(int64_t n, const block_iq4_xsx16* w, const void* a, size_t a_stride, int ntok,
                                 float* y, size_t y_stride);

// F16 rows: column k of 16 rows as 16 consecutive halves (32 bytes), against F32 activations.
void pack_f16_x16(const void* rows, size_t row_bytes, int64_t n, uint16_t* dst);
void gemm_f16x16_f32_ref(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y,
                         size_t y_stride);
void gemm_f16x16_f32(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride);
// Two such groups one after the other (32 rows, y[t * y_stride + r] for r < 32): each activation
// value, broadcast once, feeds both, which takes the kernel from load-bound to FMA-bound. The
// same sums in the same order as two x16 calls, so the results are those of two x16 calls.
void gemm_f16x32_f32_ref(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y,
                         size_t y_stride);
void gemm_f16x32_f32(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride);
// BF16 rows the same (packed by pack_f16_x16, which moves any 16-bit values): widened by a shift.
void gemm_bf16x16_f32_ref(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y,
                          size_t y_stride);
void gemm_bf16x32_f32_ref(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y,
                          size_t y_stride);
void gemm_bf16x16_f32(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride);
void gemm_bf16x32_f32(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride);

void pack_q6_K_x16(const void* rows, size_t row_bytes, int64_t n, block_q6_Kx16* dst);
void gemm_q6_Kx16_q8_K_ref(int64_t n, const block_q6_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                           size_t y_stride);
void gemm_q6_Kx16_q8_K(int64_t n, const block_q6_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                       size_t y_stride);

// The AVX2 kernels (256-bit; vpmaddubsw/vpmaddwd integer dots), for CPUs with AVX2, FMA and F16C
// (cpu_has_avx2()); the K-quants and F16 take the same activations as their AVX-512 kernels, the
// Q8_0 family block_q8_0s.
void gemm_q4_Kx16_q8_K_avx2(int64_t n, const block_q4_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                            size_t y_stride);
void gemm_q6_Kx16_q8_K_avx2(int64_t n, const block_q6_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                            size_t y_stride);
void gemm_q8_0x16_q8_0s_ref(int64_t n, const block_q8_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                            size_t y_stride);
void gemm_q4_0x16_q8_0s_ref(int64_t n, const block_q4_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                            size_t y_stride);
void gemm_q5_0x16_q8_0s_ref(int64_t n, const block_q5_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                            size_t y_stride);
void gemm_q8_0x16_q8_0s_avx2(int64_t n, const block_q8_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                             size_t y_stride);
void gemm_q4_0x16_q8_0s_avx2(int64_t n, const block_q4_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                             size_t y_stride);
void gemm_q5_0x16_q8_0s_avx2(int64_t n, const block_q5_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                             size_t y_stride);
// The same with AVX-VNNI integer dots (vpdpbusd on ymm; cpu_has_avx_vnni()), the same results bit
// for bit. F16 has no integer dot and no such variant.
void gemm_q4_Kx16_q8_K_avxvnni(int64_t n, const block_q4_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                               size_t y_stride);
void gemm_q5_Kx16_q8_K_avxvnni(int64_t n, const block_q5_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                               size_t y_stride);
void gemm_q6_Kx16_q8_K_avxvnni(int64_t n, const block_q6_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                               size_t y_stride);
void gemm_q8_0x16_q8_0s_avxvnni(int64_t n, const block_q8_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                                size_t y_stride);
void gemm_q4_0x16_q8_0s_avxvnni(int64_t n, const block_q4_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                                size_t y_stride);
void gemm_q5_0x16_q8_0s_avxvnni(int64_t n, const block_q5_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                                size_t y_stride);
void gemm_q4_1x16_q8_1_avxvnni(int64_t n, const block_q4_1x16* w, const void* a, size_t a_stride, int ntok, float* y,
                               size_t y_stride);
void gemm_f16x16_f32_avx2(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y,
                          size_t y_stride);
void gemm_f16x32_f32_avx2(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y,
                          size_t y_stride);  // two groups, as gemm_f16x32_f32
void gemm_bf16x16_f32_avx2(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y,
                           size_t y_stride);
void gemm_bf16x32_f32_avx2(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y,
                           size_t y_stride);

}  // namespace llmkit::kernels

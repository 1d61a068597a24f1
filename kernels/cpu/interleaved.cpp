// Packing into the interleaved layouts and the scalar references that read them.
#include "cpu/interleaved.h"

#include <cstring>

#include "cpu/fp16.h"
#include "cpu/quant_common.h"

namespace llmkit::kernels {

namespace {
// The references' common frame: for every token and row, the sum over blocks of block_dot(block,
// row, the token's activation block). Blocks of Cols columns; activations of type Act.
template <class Block, class Act, int Cols, class BlockDot>
void by_blocks(int64_t n, const Block* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride,
               BlockDot block_dot) {
  for (int t = 0; t < ntok; ++t) {
    const auto* q8 = reinterpret_cast<const Act*>(static_cast<const uint8_t*>(a) + t * a_stride);
    for (int r = 0; r < kPackRows; ++r) {
      float acc = 0;
      for (int64_t b = 0; b < n / Cols; ++b) acc += block_dot(w[b], r, q8[b]);
      y[t * y_stride + r] = acc;
    }
  }
}
}  // namespace

namespace {
// The scales, minimums and nibbles of a K-quant with Q4_K's scale packing (Q4_K, Q5_K), for row r.
template <class Src, class Dst>
void pack_k4_common(const Src& x, int r, Dst& o) {
  o.d[r] = x.d;
  o.dmin[r] = x.dmin;
  int sc[8], mn[8];
  for (int s = 0; s < 8; ++s) get_scale_min_k4(s, x.scales, &sc[s], &mn[s]);
  for (int s = 0; s < 8; ++s) o.scales[s][r] = static_cast<uint8_t>(sc[s]);
  for (int p = 0; p < 4; ++p) {
    o.mins[p][r][0] = static_cast<uint8_t>(mn[2 * p]);
    o.mins[p][r][1] = static_cast<uint8_t>(mn[2 * p + 1]);
  }
  // Column c of the block: byte qs[32 (c / 64) + c % 32], low nibble when c % 64 < 32.
  auto code = [&](int c) { return (x.qs[32 * (c / 64) + c % 32] >> (c % 64 < 32 ? 0 : 4)) & 0xF; };
  for (int s = 0; s < 8; ++s)
    for (int g = 0; g < 4; ++g)
      for (int i = 0; i < 4; ++i)
        o.qs[s][g][r][i] = static_cast<uint8_t>(code(32 * s + 4 * g + i) | code(32 * s + 16 + 4 * g + i) << 4);
}

// Row r's dot with a Q8_K block, given the code (0..31) of a column.
template <class Block, class Code>
float k4_block_dot(const Block& x, int r, const block_q8_K& q8, Code code) {
  int32_t sumi = 0, summ = 0;
  for (int s = 0; s < 8; ++s) {
    int32_t sub = 0;
    for (int c = 32 * s; c < 32 * s + 32; ++c) sub += code(x, r, c) * q8.qs[c];
    sumi += sub * x.scales[s][r];
    summ += x.mins[s / 2][r][s % 2] * (q8.bsums[2 * s] + q8.bsums[2 * s + 1]);
  }
  return fp16_to_fp32(x.d[r]) * q8.d * static_cast<float>(sumi) - fp16_to_fp32(x.dmin[r]) * q8.d * static_cast<float>(summ);
}
// The nibble of column c (0..255) of row r in the packed layout.
template <class Block>
int k4_nibble(const Block& x, int r, int c) {
  const int s = c / 32, j = c % 32;
  return (x.qs[s][(j % 16) / 4][r][j % 4] >> (j < 16 ? 0 : 4)) & 0xF;
}
}  // namespace

void pack_q4_K_x16(const void* rows, size_t row_bytes, int64_t n, block_q4_Kx16* dst) {
  for (int r = 0; r < kPackRows; ++r) {
    const auto* src = reinterpret_cast<const block_q4_K*>(static_cast<const uint8_t*>(rows) + r * row_bytes);
    for (int64_t b = 0; b < n / kQK_K; ++b) pack_k4_common(src[b], r, dst[b]);
  }
}

void pack_q5_K_x16(const void* rows, size_t row_bytes, int64_t n, block_q5_Kx16* dst) {
  for (int r = 0; r < kPackRows; ++r) {
    const auto* src = reinterpret_cast<const block_q5_K*>(static_cast<const uint8_t*>(rows) + r * row_bytes);
    for (int64_t b = 0; b < n / kQK_K; ++b) {
      pack_k4_common(src[b], r, dst[b]);
      // The fifth bit of column c: bit c / 32 of qh[c % 32].
      for (int s = 0; s < 8; ++s) {
        uint32_t bits = 0;
        for (int j = 0; j < 32; ++j) bits |= static_cast<uint32_t>((src[b].qh[j] >> s) & 1) << j;
        dst[b].qh[s][r] = bits;
      }
    }
  }
}

void gemm_q4_Kx16_q8_K_ref(int64_t n, const block_q4_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                           size_t y_stride) {
  by_blocks<block_q4_Kx16, block_q8_K, kQK_K>(n, w, a, a_stride, ntok, y, y_stride,
                                                [](const block_q4_Kx16& x, int r, const block_q8_K& q8) {
    return k4_block_dot(x, r, q8, k4_nibble<block_q4_Kx16>);
  });
}

void gemm_q5_Kx16_q8_K_ref(int64_t n, const block_q5_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                           size_t y_stride) {
  by_blocks<block_q5_Kx16, block_q8_K, kQK_K>(n, w, a, a_stride, ntok, y, y_stride,
                                                [](const block_q5_Kx16& x, int r, const block_q8_K& q8) {
    return k4_block_dot(x, r, q8, [](const block_q5_Kx16& b, int row, int c) {
      return k4_nibble(b, row, c) | static_cast<int>((b.qh[c / 32][row] >> (c % 32)) & 1) << 4;
    });
  });
}

void quantize_row_q8_0u(const float* x, block_q8_0u* y, int64_t n) {
  block_q8_0 q;
  for (int64_t b = 0; b < n / 32; ++b) {
    quantize_row_q8_0_act(x + 32 * b, &q, 32);
    y[b].d = fp16_to_fp32(q.d);
    for (int i = 0; i < 32; ++i) y[b].qs[i] = static_cast<uint8_t>(q.qs[i] + 128);
  }
}

void quantize_row_q8_0s(const float* x, block_q8_0s* y, int64_t n) {
  block_q8_0 q;
  for (int64_t b = 0; b < n / 32; ++b) {
    quantize_row_q8_0_act(x + 32 * b, &q, 32);
    y[b].d = fp16_to_fp32(q.d);
    int32_t sum = 0;
    for (int i = 0; i < 32; ++i) sum += y[b].qs[i] = q.qs[i];
    y[b].sum = sum;
  }
}

void pack_q8_0_x16(const void* rows, size_t row_bytes, int64_t n, block_q8_0x16* dst) {
  for (int r = 0; r < kPackRows; ++r) {
    const auto* src = reinterpret_cast<const block_q8_0*>(static_cast<const uint8_t*>(rows) + r * row_bytes);
    for (int64_t b = 0; b < n / 32; ++b) {
      dst[b].d[r] = src[b].d;
      for (int q = 0; q < 8; ++q) std::memcpy(dst[b].qs[q][r], src[b].qs + 4 * q, 4);
    }
  }
}

void pack_q4_0_x16(const void* rows, size_t row_bytes, int64_t n, block_q4_0x16* dst) {
  for (int r = 0; r < kPackRows; ++r) {
    const auto* src = reinterpret_cast<const block_q4_0*>(static_cast<const uint8_t*>(rows) + r * row_bytes);
    for (int64_t b = 0; b < n / 32; ++b) {
      dst[b].d[r] = src[b].d;
      // Q4_0 already holds column j in the low nibble and j + 16 in the high nibble of byte j.
      for (int g = 0; g < 4; ++g) std::memcpy(dst[b].qs[g][r], src[b].qs + 4 * g, 4);
    }
  }
}

void quantize_row_q8_1f(const float* x, block_q8_1f* y, int64_t n) {
  block_q8_1 q;
  for (int64_t b = 0; b < n / 32; ++b) {
    quantize_row_q8_1_act(x + 32 * b, &q, 32);
    y[b].d = fp16_to_fp32(q.d);
    y[b].s = fp16_to_fp32(q.s);
    std::memcpy(y[b].qs, q.qs, 32);
  }
}

void pack_q4_1_x16(const void* rows, size_t row_bytes, int64_t n, block_q4_1x16* dst) {
  for (int r = 0; r < kPackRows; ++r) {
    const auto* src = reinterpret_cast<const block_q4_1*>(static_cast<const uint8_t*>(rows) + r * row_bytes);
    for (int64_t b = 0; b < n / 32; ++b) {
      dst[b].d[r] = src[b].d;
      dst[b].m[r] = src[b].m;
      for (int g = 0; g < 4; ++g) std::memcpy(dst[b].qs[g][r], src[b].qs + 4 * g, 4);
    }
  }
}

void gemm_q4_1x16_q8_1_ref(int64_t n, const block_q4_1x16* w, const void* a, size_t a_stride, int ntok, float* y,
                           size_t y_stride) {
  by_blocks<block_q4_1x16, block_q8_1f, 32>(n, w, a, a_stride, ntok, y, y_stride,
                                             [](const block_q4_1x16& x, int r, const block_q8_1f& q8) {
    int32_t sumi = 0;
    for (int c = 0; c < 32; ++c) sumi += ((x.qs[(c % 16) / 4][r][c % 4] >> (c < 16 ? 0 : 4)) & 0xF) * q8.qs[c];
    return fp16_to_fp32(x.d[r]) * q8.d * static_cast<float>(sumi) + fp16_to_fp32(x.m[r]) * q8.s;
  });
}

void pack_q5_0_x16(const void* rows, size_t row_bytes, int64_t n, block_q5_0x16* dst) {
  for (int r = 0; r < kPackRows; ++r) {
    const auto* src = reinterpret_cast<const block_q5_0*>(static_cast<const uint8_t*>(rows) + r * row_bytes);
    for (int64_t b = 0; b < n / 32; ++b) {
      dst[b].d[r] = src[b].d;
      std::memcpy(&dst[b].qh[r], src[b].qh, 4);
      for (int g = 0; g < 4; ++g) std::memcpy(dst[b].qs[g][r], src[b].qs + 4 * g, 4);
    }
  }
}

namespace {
// Row r against activations of the Q8_0 family (block_q8_0u, biased, or block_q8_0s, signed),
// given the weight code of (block, column).
inline int act_code(const block_q8_0u& a, int c) { return a.qs[c] - 128; }
inline int act_code(const block_q8_0s& a, int c) { return a.qs[c]; }
template <class Act, class Block, class Code>
void q8_0_act_ref(int64_t n, const Block* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride,
                  Code code) {
  by_blocks<Block, Act, 32>(n, w, a, a_stride, ntok, y, y_stride, [&](const Block& x, int r, const Act& q8) {
    int32_t sumi = 0;
    for (int c = 0; c < 32; ++c) sumi += code(x, r, c) * act_code(q8, c);
    return fp16_to_fp32(x.d[r]) * q8.d * static_cast<float>(sumi);
  });
}
int q8_0_code(const block_q8_0x16& x, int r, int c) { return x.qs[c / 4][r][c % 4]; }
int q4_0_code(const block_q4_0x16& x, int r, int c) { return ((x.qs[(c % 16) / 4][r][c % 4] >> (c < 16 ? 0 : 4)) & 0xF) - 8; }
int iq4_nl_code(const block_q4_0x16& x, int r, int c) {
  return kIq4nlValues[(x.qs[(c % 16) / 4][r][c % 4] >> (c < 16 ? 0 : 4)) & 0xF];
}
int q5_0_code(const block_q5_0x16& x, int r, int c) {
  const int nibble = (x.qs[(c % 16) / 4][r][c % 4] >> (c < 16 ? 0 : 4)) & 0xF;
  return (nibble | static_cast<int>((x.qh[r] >> c) & 1) << 4) - 16;
}
}  // namespace

void gemm_q8_0x16_q8_0_ref(int64_t n, const block_q8_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                           size_t y_stride) {
  q8_0_act_ref<block_q8_0u>(n, w, a, a_stride, ntok, y, y_stride, q8_0_code);
}
void gemm_q4_0x16_q8_0_ref(int64_t n, const block_q4_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                           size_t y_stride) {
  q8_0_act_ref<block_q8_0u>(n, w, a, a_stride, ntok, y, y_stride, q4_0_code);
}
void gemm_q5_0x16_q8_0_ref(int64_t n, const block_q5_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                           size_t y_stride) {
  q8_0_act_ref<block_q8_0u>(n, w, a, a_stride, ntok, y, y_stride, q5_0_code);
}
void gemm_q8_0x16_q8_0s_ref(int64_t n, const block_q8_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                            size_t y_stride) {
  q8_0_act_ref<block_q8_0s>(n, w, a, a_stride, ntok, y, y_stride, q8_0_code);
}
void gemm_q4_0x16_q8_0s_ref(int64_t n, const block_q4_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                            size_t y_stride) {
  q8_0_act_ref<block_q8_0s>(n, w, a, a_stride, ntok, y, y_stride, q4_0_code);
}
void gemm_q5_0x16_q8_0s_ref(int64_t n, const block_q5_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                            size_t y_stride) {
  q8_0_act_ref<block_q8_0s>(n, w, a, a_stride, ntok, y, y_stride, q5_0_code);
}

void gemm_iq4_nlx16_q8_0_ref(int64_t n, const block_q4_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                             size_t y_stride) {
  q8_0_act_ref<block_q8_0u>(n, w, a, a_stride, ntok, y, y_stride, iq4_nl_code);
}
void gemm_iq4_nlx16_q8_0s_ref(int64_t n, const block_q4_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                              size_t y_stride) {
  q8_0_act_ref<block_q8_0s>(n, w, a, a_stride, ntok, y, y_stride, iq4_nl_code);
}

void pack_iq4_xs_x16(const void* rows, size_t row_bytes, int64_t n, block_iq4_xsx16* dst) {
  for (int r = 0; r < kPackRows; ++r) {
    const auto* src = reinterpret_cast<const block_iq4_xs*>(static_cast<const uint8_t*>(rows) + r * row_bytes);
    for (int64_t b = 0; b < n / kQK_K; ++b) {
      const block_iq4_xs& x = src[b];
      block_iq4_xsx16& o = dst[b];
      o.d[r] = x.d;
      for (int s = 0; s < 8; ++s) {
        o.scales[s][r] = static_cast<int8_t>(iq4_xs_scale(x, s) - 32);
        // Sub-block s holds its columns j and j + 16 in byte 16 s + j, as Q4_0 does.
        for (int g = 0; g < 4; ++g) std::memcpy(o.qs[s][g][r], x.qs + 16 * s + 4 * g, 4);
      }
    }
  }
}

void gemm_iq4_xsx16_q8_K_ref(int64_t n, const block_iq4_xsx16* w, const void* a, size_t a_stride, int ntok, float* y,
                             size_t y_stride) {
  by_blocks<block_iq4_xsx16, block_q8_K, kQK_K>(n, w, a, a_stride, ntok, y, y_stride,
                                                  [](const block_iq4_xsx16& x, int r, const block_q8_K& q8) {
    int32_t sumi = 0;
    for (int s = 0; s < 8; ++s) {
      int32_t sub = 0;
      for (int c = 32 * s; c < 32 * s + 32; ++c) sub += kIq4nlValues[k4_nibble(x, r, c)] * q8.qs[c];
      sumi += sub * x.scales[s][r];
    }
    return fp16_to_fp32(x.d[r]) * q8.d * static_cast<float>(sumi);
  });
}

void pack_f16_x16(const void* rows, size_t row_bytes, int64_t n, uint16_t* dst) {
  for (int r = 0; r < kPackRows; ++r) {
    const auto* src = reinterpret_cast<const uint16_t*>(static_cast<const uint8_t*>(rows) + r * row_bytes);
    for (int64_t k = 0; k < n; ++k) dst[k * kPackRows + r] = src[k];
  }
}

namespace {
template <float (*Widen)(uint16_t)>
void half_x16_ref(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride) {
  for (int t = 0; t < ntok; ++t) {
    const auto* x = reinterpret_cast<const float*>(static_cast<const uint8_t*>(a) + t * a_stride);
    for (int r = 0; r < kPackRows; ++r) {
      float acc = 0;
      for (int64_t k = 0; k < n; ++k) acc += Widen(w[k * kPackRows + r]) * x[k];
      y[t * y_stride + r] = acc;
    }
  }
}

// Two groups one after the other: two single-group calls.
template <float (*Widen)(uint16_t)>
void half_x32_ref(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride) {
  half_x16_ref<Widen>(n, w, a, a_stride, ntok, y, y_stride);
  half_x16_ref<Widen>(n, w + n * kPackRows, a, a_stride, ntok, y + kPackRows, y_stride);
}
}  // namespace

void gemm_f16x16_f32_ref(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y,
                         size_t y_stride) {
  half_x16_ref<fp16_to_fp32>(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_f16x32_f32_ref(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y,
                         size_t y_stride) {
  half_x32_ref<fp16_to_fp32>(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_bf16x16_f32_ref(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y,
                          size_t y_stride) {
  half_x16_ref<bf16_to_fp32>(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_bf16x32_f32_ref(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y,
                          size_t y_stride) {
  half_x32_ref<bf16_to_fp32>(n, w, a, a_stride, ntok, y, y_stride);
}

void pack_q6_K_x16(const void* rows, size_t row_bytes, int64_t n, block_q6_Kx16* dst) {
  const int64_t nb = n / kQK_K;
  alignas(64) int8_t v[kQK_K];
  for (int r = 0; r < kPackRows; ++r) {
    const auto* src = reinterpret_cast<const block_q6_K*>(static_cast<const uint8_t*>(rows) + r * row_bytes);
    for (int64_t b = 0; b < nb; ++b) {
      const block_q6_K& x = src[b];
      block_q6_Kx16& o = dst[b];
      o.d[r] = x.d;
      q6k_codes(x, v);
      auto code = [&](int c) { return static_cast<uint8_t>(v[c] + 32); };
      for (int p = 0; p < 8; ++p) {
        o.scales[p][r][0] = x.scales[2 * p];
        o.scales[p][r][1] = x.scales[2 * p + 1];
        for (int g = 0; g < 4; ++g)
          for (int i = 0; i < 4; ++i)
            o.ql[p][g][r][i] = static_cast<uint8_t>((code(32 * p + 4 * g + i) & 0xF) | (code(32 * p + 16 + 4 * g + i) & 0xF) << 4);
        for (int h = 0; h < 2; ++h)
          for (int i = 0; i < 4; ++i) {
            uint8_t bits = 0;
            for (int c = 0; c < 4; ++c) bits |= static_cast<uint8_t>((code(32 * p + 16 * h + 4 * c + i) >> 4) << (2 * c));
            o.qh[p][h][r][i] = bits;
          }
      }
    }
  }
}

void gemm_q6_Kx16_q8_K_ref(int64_t n, const block_q6_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                           size_t y_stride) {
  by_blocks<block_q6_Kx16, block_q8_K, kQK_K>(n, w, a, a_stride, ntok, y, y_stride,
                                                [](const block_q6_Kx16& x, int r, const block_q8_K& q8) {
    int32_t sumi = 0;
    for (int p = 0; p < 8; ++p)
      for (int h = 0; h < 2; ++h) {
        int32_t sub = 0;
        for (int g = 0; g < 4; ++g)
          for (int i = 0; i < 4; ++i) {
            const int c = 32 * p + 16 * h + 4 * g + i;
            const int code = ((x.ql[p][g][r][i] >> (4 * h)) & 0xF) | ((x.qh[p][h][r][i] >> (2 * g)) & 3) << 4;
            sub += (code - 32) * q8.qs[c];
          }
        sumi += sub * x.scales[p][r][h];
      }
    return fp16_to_fp32(x.d[r]) * q8.d * static_cast<float>(sumi);
  });
}

}  // namespace llmkit::kernels

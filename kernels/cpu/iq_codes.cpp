#include "cpu/iq_codes.h"

#include <array>
#include <cstring>

#include "cpu/fp16.h"
#include "cpu/iq_grids.h"

namespace llmkit::kernels {
namespace {

// A grid's points in ggml's byte form, expanded from the level indices of iq_grids.h at compile time.
template <class Word, size_t N, size_t L>
constexpr std::array<Word, N> expand(const uint16_t (&points)[N], const uint8_t (&levels)[L], int bits) {
  std::array<Word, N> out{};
  for (size_t i = 0; i < N; ++i) {
    Word w = 0;
    for (size_t j = 0; j < sizeof(Word); ++j)
      w |= static_cast<Word>(levels[(points[i] >> (bits * j)) & ((1 << bits) - 1)]) << (8 * j);
    out[i] = w;
  }
  return out;
}
constexpr uint8_t kIq2Levels[] = {8, 25, 43};
constexpr uint8_t kIq3xxsLevels[] = {4, 12, 20, 28, 36, 44, 52, 62};
constexpr uint8_t kIq3sLevels[] = {1, 3, 5, 7, 9, 11, 13, 15};
constexpr uint8_t kIq1Levels[] = {0xFF, 0x00, 0x01};
constexpr auto kIq2xxs = expand<uint64_t>(iq_points::kIq2xxsPoints, kIq2Levels, 2);
constexpr auto kIq2xs = expand<uint64_t>(iq_points::kIq2xsPoints, kIq2Levels, 2);
constexpr auto kIq2s = expand<uint64_t>(iq_points::kIq2sPoints, kIq2Levels, 2);
constexpr auto kIq3xxs = expand<uint32_t>(iq_points::kIq3xxsPoints, kIq3xxsLevels, 3);
constexpr auto kIq3s = expand<uint32_t>(iq_points::kIq3sPoints, kIq3sLevels, 3);
constexpr auto kIq1s = expand<uint64_t>(iq_points::kIq1sPoints, kIq1Levels, 2);

// 0xFF in byte j where bit j of s is set.
constexpr std::array<uint64_t, 256> kSignBytes = [] {
  std::array<uint64_t, 256> t{};
  for (int s = 0; s < 256; ++s)
    for (int j = 0; j < 8; ++j)
      if (s >> j & 1) t[static_cast<size_t>(s)] |= uint64_t{0xFF} << (8 * j);
  return t;
}();

// Eight positive magnitudes (bytes 1..127) with the signs of s applied: x ^ m + (m & 1) negates the
// bytes where m is 0xFF, and no byte carries into the next since none is zero.
inline uint64_t signed8(uint64_t magnitudes, unsigned s) {
  const uint64_t m = kSignBytes[s & 0xFF];
  return (magnitudes ^ m) + (m & 0x0101010101010101ull);
}
inline void put8(int8_t* dst, uint64_t v) { std::memcpy(dst, &v, 8); }
// IQ1's codes: 8 x the point's coordinates (-1, 0, 1) plus the shift (+-1), bytewise.
typedef int8_t v8c __attribute__((vector_size(8)));
inline void put_iq1(int8_t* dst, uint64_t point, int shift) {
  v8c g;
  std::memcpy(&g, &point, 8);
  const v8c v = g * static_cast<int8_t>(8) + static_cast<int8_t>(shift);
  std::memcpy(dst, &v, 8);
}
inline uint32_t load32(const void* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace

const uint64_t* iq2xxs_grid() { return kIq2xxs.data(); }
const uint64_t* iq2xs_grid() { return kIq2xs.data(); }
const uint64_t* iq2s_grid() { return kIq2s.data(); }
const uint32_t* iq3xxs_grid() { return kIq3xxs.data(); }
const uint32_t* iq3s_grid() { return kIq3s.data(); }
const uint64_t* iq1s_grid() { return kIq1s.data(); }

// IQ2_XXS: per 32 values four bytes of grid indices, then 4 x 7 sign bits and a 4-bit scale;
// value = d (0.5 + scale) / 4 x point: the factor d / 8 and the integer scale 2 s + 1.
void decode(const block_iq2_xxs& b, IqCodes& c) {
  c.d = fp16_to_fp32(b.d) * 0.125f;
  for (int ib = 0; ib < 8; ++ib) {
    const uint32_t idx = load32(b.qs + 4 * ib), aux = load32(b.qs + 4 * ib + 2);
    c.sc[2 * ib] = c.sc[2 * ib + 1] = static_cast<int16_t>(2 * (aux >> 28) + 1);
    for (int l = 0; l < 4; ++l)
      put8(c.v + 32 * ib + 8 * l, signed8(kIq2xxs[(idx >> (8 * l)) & 0xFF], iq_signs7((aux >> (7 * l)) & 127)));
  }
}

// IQ2_XS: a 9-bit index and 7 sign bits per 8 values; a 4-bit scale per 16.
void decode(const block_iq2_xs& b, IqCodes& c) {
  c.d = fp16_to_fp32(b.d) * 0.125f;
  for (int ib = 0; ib < 8; ++ib) {
    c.sc[2 * ib] = static_cast<int16_t>(2 * (b.scales[ib] & 0xF) + 1);
    c.sc[2 * ib + 1] = static_cast<int16_t>(2 * (b.scales[ib] >> 4) + 1);
    for (int l = 0; l < 4; ++l) {
      const uint16_t q = b.qs[4 * ib + l];
      put8(c.v + 32 * ib + 8 * l, signed8(kIq2xs[q & 511], iq_signs7(q >> 9)));
    }
  }
}

// IQ2_S: a 10-bit index (8 bits in qs, 2 in qh) and a byte of signs per 8 values; 4-bit scales per 16.
void decode(const block_iq2_s& b, IqCodes& c) {
  c.d = fp16_to_fp32(b.d) * 0.125f;
  const uint8_t* signs = b.qs + kQK_K / 8;
  for (int ib = 0; ib < 8; ++ib) {
    c.sc[2 * ib] = static_cast<int16_t>(2 * (b.scales[ib] & 0xF) + 1);
    c.sc[2 * ib + 1] = static_cast<int16_t>(2 * (b.scales[ib] >> 4) + 1);
    for (int l = 0; l < 4; ++l) {
      const unsigned idx = b.qs[4 * ib + l] | ((b.qh[ib] << (8 - 2 * l)) & 0x300);
      put8(c.v + 32 * ib + 8 * l, signed8(kIq2s[idx], signs[4 * ib + l]));
    }
  }
}

// IQ3_XXS: two 4-value points per 8 values (byte indices), then per 32 values 4 x 7 sign bits and a
// 4-bit scale; value = d (0.5 + scale) / 2 x point: factor d / 4, integer scale 2 s + 1.
void decode(const block_iq3_xxs& b, IqCodes& c) {
  c.d = fp16_to_fp32(b.d) * 0.25f;
  const uint8_t* qs = b.qs;
  const uint8_t* scales_signs = b.qs + kQK_K / 4;
  for (int ib = 0; ib < 8; ++ib) {
    const uint32_t aux = load32(scales_signs + 4 * ib);
    c.sc[2 * ib] = c.sc[2 * ib + 1] = static_cast<int16_t>(2 * (aux >> 28) + 1);
    for (int l = 0; l < 4; ++l) {
      const uint64_t mag = kIq3xxs[qs[8 * ib + 2 * l]] | static_cast<uint64_t>(kIq3xxs[qs[8 * ib + 2 * l + 1]]) << 32;
      put8(c.v + 32 * ib + 8 * l, signed8(mag, iq_signs7((aux >> (7 * l)) & 127)));
    }
  }
}

// IQ3_S: 9-bit indices of 4-value points (8 bits in qs, the ninth in qh), a byte of signs per 8
// values, a 4-bit scale per 32: value = d (1 + 2 s) x point.
void decode(const block_iq3_s& b, IqCodes& c) {
  c.d = fp16_to_fp32(b.d);
  for (int ib = 0; ib < 8; ++ib) {
    const int s = (b.scales[ib / 2] >> (4 * (ib % 2))) & 0xF;
    c.sc[2 * ib] = c.sc[2 * ib + 1] = static_cast<int16_t>(1 + 2 * s);
    const uint8_t* qs = b.qs + 8 * ib;
    const unsigned qh = b.qh[ib];
    for (int l = 0; l < 4; ++l) {
      const unsigned i1 = qs[2 * l] | ((qh << (8 - 2 * l)) & 256), i2 = qs[2 * l + 1] | ((qh << (7 - 2 * l)) & 256);
      const uint64_t mag = kIq3s[i1] | static_cast<uint64_t>(kIq3s[i2]) << 32;
      put8(c.v + 32 * ib + 8 * l, signed8(mag, b.signs[4 * ib + l]));
    }
  }
}

// IQ1_S: 11-bit indices of points with coordinates -1, 0, 1 (8 bits in qs, 3 in qh), per 32 values
// a 3-bit scale and the sign of a shift of 1/8: value = d (2 s + 1) (point +- 1/8). Codes hold
// 8 (point +- 1/8), so the factor is d / 8.
void decode(const block_iq1_s& b, IqCodes& c) {
  c.d = fp16_to_fp32(b.d) * 0.125f;
  for (int ib = 0; ib < 8; ++ib) {
    const unsigned qh = b.qh[ib];
    c.sc[2 * ib] = c.sc[2 * ib + 1] = static_cast<int16_t>(2 * ((qh >> 12) & 7) + 1);
    const int shift = qh & 0x8000 ? -1 : 1;
    for (int l = 0; l < 4; ++l) put_iq1(c.v + 32 * ib + 8 * l, kIq1s[b.qs[4 * ib + l] | (((qh >> (3 * l)) & 7) << 8)], shift);
  }
}

// IQ1_M: IQ1_S's points with the index's top bits and the shift's sign per 8 values in qh, 3-bit
// scales per 16 values, and the f16 super-scale spread over the top nibbles of the four scale words.
void decode(const block_iq1_m& b, IqCodes& c) {
  uint16_t sc[4];
  std::memcpy(sc, b.scales, sizeof sc);
  const uint16_t d16 = static_cast<uint16_t>((sc[0] >> 12) | ((sc[1] >> 8) & 0x00F0) | ((sc[2] >> 4) & 0x0F00) | (sc[3] & 0xF000));
  c.d = fp16_to_fp32(d16) * 0.125f;
  for (int ib = 0; ib < 8; ++ib) {
    c.sc[2 * ib] = static_cast<int16_t>(2 * ((sc[ib / 2] >> (6 * (ib % 2))) & 7) + 1);
    c.sc[2 * ib + 1] = static_cast<int16_t>(2 * ((sc[ib / 2] >> (6 * (ib % 2) + 3)) & 7) + 1);
    const uint8_t* qs = b.qs + 4 * ib;
    const uint8_t* qh = b.qh + 2 * ib;
    for (int l = 0; l < 4; ++l) {
      const unsigned h = qh[l / 2] >> (4 * (l % 2));  // this group's nibble: index bits 8-10, shift sign
      put_iq1(c.v + 32 * ib + 8 * l, kIq1s[qs[l] | ((h & 7) << 8)], h & 8 ? -1 : 1);
    }
  }
}

namespace {
template <class Block>
void dequantize_iq(const void* vx, float* y, int64_t n) {
  const auto* x = static_cast<const Block*>(vx);
  IqCodes c;
  for (int64_t b = 0; b < n / kQK_K; ++b, y += kQK_K) {
    decode(x[b], c);
    // The group's scale first (d x scale, as ggml forms it), then each code: ggml's products.
    for (int g = 0; g < 16; ++g) {
      const float dl = c.d * static_cast<float>(c.sc[g]);
      for (int j = 0; j < 16; ++j) y[16 * g + j] = dl * static_cast<float>(c.v[16 * g + j]);
    }
  }
}
}  // namespace

void dequantize_row_iq2_xxs(const void* x, float* y, int64_t n) { dequantize_iq<block_iq2_xxs>(x, y, n); }
void dequantize_row_iq2_xs(const void* x, float* y, int64_t n) { dequantize_iq<block_iq2_xs>(x, y, n); }
void dequantize_row_iq2_s(const void* x, float* y, int64_t n) { dequantize_iq<block_iq2_s>(x, y, n); }
void dequantize_row_iq3_xxs(const void* x, float* y, int64_t n) { dequantize_iq<block_iq3_xxs>(x, y, n); }
void dequantize_row_iq3_s(const void* x, float* y, int64_t n) { dequantize_iq<block_iq3_s>(x, y, n); }
void dequantize_row_iq1_s(const void* x, float* y, int64_t n) { dequantize_iq<block_iq1_s>(x, y, n); }
void dequantize_row_iq1_m(const void* x, float* y, int64_t n) { dequantize_iq<block_iq1_m>(x, y, n); }

}  // namespace llmkit::kernels

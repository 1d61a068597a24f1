// ggml's block formats read 16 values at a time, for the GPU kernels and, compiled as plain C++,
// for the host tests that check them against the CPU's dequantization without a GPU.
//
// Every format this header reads comes down to the same shape per 16 consecutive values: small
// integer codes q[i] with one scale and one offset, value = scale * q[i] + offset (the offset is
// -min for the formats with minimums, 0 for the symmetric ones). A matrix x vector kernel then
// takes an integer dot product of the codes with 8-bit activations (dp4a) and applies the scale
// and offset once per 16 values, which is how the CPU kernels work too. Scale and offset are
// computed with the same float operations as the CPU's dequantization, so scale * q + offset is
// bit for bit the CPU's value.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define LLMKIT_HD __host__ __device__ __forceinline__
#else
#define LLMKIT_HD inline
#endif

namespace llmkit::kernels::gpu {

// ggml's type ids (the GGUF tensor type field) of the formats the GPU kernels read.
enum : int {
  kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8,
  kQ2_K = 10, kQ3_K = 11, kQ4_K = 12, kQ5_K = 13, kQ6_K = 14, kBF16 = 30,
};

// Values per block and bytes per block of each quantized format (0 for the others).
LLMKIT_HD int block_values(int type) {
  switch (type) {
    case kQ4_0: case kQ4_1: case kQ5_0: case kQ5_1: case kQ8_0: return 32;
    case kQ2_K: case kQ3_K: case kQ4_K: case kQ5_K: case kQ6_K: return 256;
    default: return 0;
  }
}
LLMKIT_HD int block_bytes(int type) {
  switch (type) {
    case kQ4_0: return 18;
    case kQ4_1: return 20;
    case kQ5_0: return 22;
    case kQ5_1: return 24;
    case kQ8_0: return 34;
    case kQ2_K: return 84;
    case kQ3_K: return 110;
    case kQ4_K: return 144;
    case kQ5_K: return 176;
    case kQ6_K: return 210;
    default: return 0;
  }
}
LLMKIT_HD bool is_block_type(int type) { return block_values(type) != 0; }
// Formats with a minimum (value = scale * q - min); the others are symmetric (offset 0).
LLMKIT_HD bool has_offset(int type) {
  return type == kQ4_1 || type == kQ5_1 || type == kQ2_K || type == kQ4_K || type == kQ5_K;
}

// IEEE half and bfloat16 to float by bit manipulation: the same code on host and device.
LLMKIT_HD float bits_to_float(uint32_t u) {
  union { uint32_t u; float f; } v{u};
  return v.f;
}
LLMKIT_HD float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F, man = h & 0x3FF;
  if (exp == 0x1F) return bits_to_float(sign | 0x7F800000u | (man << 13));  // inf, NaN
  if (exp == 0) {
    if (man == 0) return bits_to_float(sign);
    // Subnormal: normalise the mantissa (exact in float).
    exp = 127 - 15 + 1;
    while (!(man & 0x400)) {
      man <<= 1;
      --exp;
    }
    return bits_to_float(sign | (exp << 23) | ((man & 0x3FF) << 13));
  }
  return bits_to_float(sign | ((exp + 127 - 15) << 23) | (man << 13));
}
LLMKIT_HD float bf16_to_float(uint16_t b) { return bits_to_float(uint32_t(b) << 16); }

LLMKIT_HD uint16_t rd16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }

// 16 values: value[i] = scale * q[i] + offset.
struct Chunk16 {
  int8_t q[16];
  float scale, offset;
};

// Q4_K/Q5_K: sub-block j's six-bit scale and minimum out of the 12 packed bytes.
LLMKIT_HD void scale_min_k4(int j, const uint8_t* s, int& sc, int& m) {
  if (j < 4) {
    sc = s[j] & 63;
    m = s[j + 4] & 63;
  } else {
    sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// Q3_K: scale i (0..15) out of 12 bytes: low four bits from bytes 0..7 (low then high
// nibbles), top two bits from bytes 8..11; stored with a bias of 32.
LLMKIT_HD int scale_q3_K(int i, const uint8_t* s) {
  const int low = i < 8 ? (s[i] & 0xF) : (s[i - 8] >> 4);
  const int high = (s[8 + (i & 3)] >> (2 * (i >> 2))) & 3;
  return (low | (high << 4)) - 32;
}

// Chunk c (values 16c..16c+15) of a row of `type` starting at `row`.
LLMKIT_HD void read_chunk16(int type, const uint8_t* row, int64_t c, Chunk16& out) {
  const int per_block = block_values(type) / 16;
  const uint8_t* b = row + (c / per_block) * block_bytes(type);
  const int k = static_cast<int>(c % per_block);  // chunk within its block
  switch (type) {
    case kQ4_0: case kQ4_1: {
      // Values 0..15 are the low nibbles of qs[0..15], values 16..31 the high nibbles.
      const bool has_min = type == kQ4_1;
      const uint8_t* qs = b + (has_min ? 4 : 2);
      for (int i = 0; i < 16; ++i) {
        const int v = k ? qs[i] >> 4 : qs[i] & 0xF;
        out.q[i] = static_cast<int8_t>(has_min ? v : v - 8);
      }
      out.scale = half_to_float(rd16(b));
      out.offset = has_min ? half_to_float(rd16(b + 2)) : 0.f;
      return;
    }
    case kQ5_0: case kQ5_1: {
      const bool has_min = type == kQ5_1;
      const uint8_t* qhp = b + (has_min ? 4 : 2);
      const uint32_t qh = uint32_t(qhp[0]) | uint32_t(qhp[1]) << 8 | uint32_t(qhp[2]) << 16 | uint32_t(qhp[3]) << 24;
      const uint8_t* qs = qhp + 4;
      for (int i = 0; i < 16; ++i) {
        const int v = (k ? qs[i] >> 4 : qs[i] & 0xF) | int((qh >> (16 * k + i)) & 1) << 4;
        out.q[i] = static_cast<int8_t>(has_min ? v : v - 16);
      }
      out.scale = half_to_float(rd16(b));
      out.offset = has_min ? half_to_float(rd16(b + 2)) : 0.f;
      return;
    }
    case kQ8_0: {
      for (int i = 0; i < 16; ++i) out.q[i] = static_cast<int8_t>(b[2 + 16 * k + i]);
      out.scale = half_to_float(rd16(b));
      out.offset = 0.f;
      return;
    }
    case kQ2_K: {  // scales[16] | qs[64] | d | dmin; chunk k uses scale byte k
      const uint8_t* qs = b + 16 + 32 * (k / 8) + 16 * (k & 1);
      const int shift = 2 * ((k % 8) / 2);
      for (int i = 0; i < 16; ++i) out.q[i] = static_cast<int8_t>((qs[i] >> shift) & 3);
      const float d = half_to_float(rd16(b + 80)), dmin = half_to_float(rd16(b + 82));
      out.scale = d * static_cast<float>(b[k] & 0xF);
      out.offset = -(dmin * static_cast<float>(b[k] >> 4));
      return;
    }
    case kQ3_K: {  // hmask[32] | qs[64] | scales[12] | d
      const int j = (k % 8) / 2;
      const uint8_t* qs = b + 32 + 32 * (k / 8) + 16 * (k & 1);
      const uint8_t* hm = b + 16 * (k & 1);
      const int mask = 1 << (4 * (k / 8) + j);
      for (int i = 0; i < 16; ++i)
        out.q[i] = static_cast<int8_t>(((qs[i] >> (2 * j)) & 3) - ((hm[i] & mask) ? 0 : 4));
      out.scale = half_to_float(rd16(b + 108)) * static_cast<float>(scale_q3_K(k, b + 96));
      out.offset = 0.f;
      return;
    }
    case kQ4_K: case kQ5_K: {  // d | dmin | scales[12] | (qh[32] for Q5_K) | qs[128]
      const bool five = type == kQ5_K;
      const int s = k / 2;  // 32-value sub-block
      const uint8_t* qs = b + (five ? 48 : 16) + 32 * (s / 2) + 16 * (k & 1);
      const uint8_t* qh = b + 16 + 16 * (k & 1);
      for (int i = 0; i < 16; ++i) {
        int v = (s & 1) ? qs[i] >> 4 : qs[i] & 0xF;
        if (five) v |= ((qh[i] >> s) & 1) << 4;
        out.q[i] = static_cast<int8_t>(v);
      }
      int sc, m;
      scale_min_k4(s, b + 4, sc, m);
      out.scale = half_to_float(rd16(b)) * static_cast<float>(sc);
      out.offset = -(half_to_float(rd16(b + 2)) * static_cast<float>(m));
      return;
    }
    case kQ6_K: {  // ql[128] | qh[64] | scales[16] | d; chunk k uses scale k
      const int h = k / 8, r = k % 8, quarter = r / 2;  // value 16k = 128h + 32*quarter + 16*(r&1)
      const uint8_t* ql = b + 64 * h + 32 * (quarter & 1) + 16 * (r & 1);
      const uint8_t* qh = b + 128 + 32 * h + 16 * (r & 1);
      for (int i = 0; i < 16; ++i) {
        const int lo = (quarter >= 2) ? ql[i] >> 4 : ql[i] & 0xF;
        out.q[i] = static_cast<int8_t>((lo | ((qh[i] >> (2 * quarter)) & 3) << 4) - 32);
      }
      out.scale = half_to_float(rd16(b + 208)) * static_cast<float>(static_cast<int8_t>(b[192 + k]));
      out.offset = 0.f;
      return;
    }
    default: return;
  }
}

// One value of a row of any supported type, F32/F16/BF16 included (the slow, simple path the
// dequantizing kernels and the tests use).
LLMKIT_HD float read_value(int type, const uint8_t* row, int64_t i) {
  switch (type) {
    case kF32: return bits_to_float(uint32_t(row[4 * i]) | uint32_t(row[4 * i + 1]) << 8 |
                                    uint32_t(row[4 * i + 2]) << 16 | uint32_t(row[4 * i + 3]) << 24);
    case kF16: return half_to_float(rd16(row + 2 * i));
    case kBF16: return bf16_to_float(rd16(row + 2 * i));
    default: {
      Chunk16 c;
      read_chunk16(type, row, i / 16, c);
      // No offset added for the symmetric formats: 0 * a negative scale stays -0, as on the CPU.
      const float v = c.scale * static_cast<float>(c.q[i % 16]);
      return has_offset(type) ? v + c.offset : v;
    }
  }
}

}  // namespace llmkit::kernels::gpu

// The grid formats (IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S) decoded to one form:
// 256 signed byte codes, an integer scale per 16 of them and one float factor, value j being
// factor x scale[j / 16] x code[j]. The dot products and dequantization read that form, so each
// format's bit layout is written down once (iq_codes.cpp).
#pragma once
#include <cstdint>

#include "cpu/quants.h"

namespace llmkit::kernels {

struct IqCodes {
  alignas(64) int8_t v[kQK_K];  // 64: whole AVX-512 vectors
  int16_t sc[kQK_K / 16];
  float d;
};

void decode(const block_iq2_xxs& b, IqCodes& c);
void decode(const block_iq2_xs& b, IqCodes& c);
void decode(const block_iq2_s& b, IqCodes& c);
void decode(const block_iq3_xxs& b, IqCodes& c);
void decode(const block_iq3_s& b, IqCodes& c);
void decode(const block_iq1_s& b, IqCodes& c);
void decode(const block_iq1_m& b, IqCodes& c);

// The byte values of the grids' points (ggml's iq2xxs_grid ... iq1s_grid), 8 (or 4) per entry.
const uint64_t* iq2xxs_grid();
const uint64_t* iq2xs_grid();
const uint64_t* iq2s_grid();
const uint32_t* iq3xxs_grid();
const uint32_t* iq3s_grid();
const uint64_t* iq1s_grid();  // bytes 0xFF, 0, 1: the values -1, 0, 1
// Seven sign bits and their parity as the eighth (ggml's ksigns_iq2xs): an even count of minus signs.
inline uint8_t iq_signs7(unsigned s) { return static_cast<uint8_t>(s | (__builtin_popcount(s) & 1) << 7); }

}  // namespace llmkit::kernels

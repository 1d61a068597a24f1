// Integer dot products for the formats whose codes are unpacked to bytes first: Q4_1, Q5_0, Q5_1
// against Q8_0 activations (the minimum term through each block's activation sum), and Q2_K,
// Q3_K, Q5_K against Q8_K (codes of a super-block decoded to int8, then 16-value groups scaled).
#include <cstring>

#include "cpu/fp16.h"
#include "cpu/quant_common.h"
#include "cpu/vec_dot.h"

#include "cpu/avx2_util.h"

namespace llmkit::kernels {
namespace {

// The 32 codes of a legacy block, in element order: low nibbles are elements 0-15, high nibbles
// 16-31; Q5's fifth bit of element j is bit j of qh.
inline void nibbles(const uint8_t* qs, int* c) {
  for (int j = 0; j < 16; ++j) c[j] = qs[j] & 0xF, c[j + 16] = qs[j] >> 4;
}
inline void fifth_bits(const uint8_t* qh, int* c) {
  uint32_t h;
  std::memcpy(&h, qh, 4);
  for (int j = 0; j < 32; ++j) c[j] |= static_cast<int>((h >> j) & 1) << 4;
}
inline int32_t dot32(const int* c, const int8_t* y, int offset) {
  int32_t acc = 0;
  for (int j = 0; j < 32; ++j) acc += (c[j] - offset) * int32_t(y[j]);
  return acc;
}
inline int32_t sum32(const int8_t* y) {
  int32_t s = 0;
  for (int j = 0; j < 32; ++j) s += y[j];
  return s;
}

// K-quant super-blocks as int8 codes in element order plus one scale (and min) per 16 values.
struct KCodes {
  alignas(32) int8_t v[kQK_K];
  int16_t sc[16], mn[16];
};

inline int q3k_scale(const uint8_t* s, int j) {
  const int lo = j < 8 ? (s[j] & 0xF) : (s[j - 8] >> 4);
  const int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
  return (lo | (hi << 4)) - 32;
}

void decode(const block_q2_K& b, KCodes& k) {
  const uint8_t* q = b.qs;
  int g = 0;
  int8_t* v = k.v;
  for (int nn = 0; nn < kQK_K; nn += 128, q += 32)
    for (int shift = 0; shift < 8; shift += 2)
      for (int half = 0; half < 2; ++half, ++g) {
        k.sc[g] = b.scales[g] & 0xF;
        k.mn[g] = b.scales[g] >> 4;
        for (int l = 0; l < 16; ++l) *v++ = static_cast<int8_t>((q[l + 16 * half] >> shift) & 3);
      }
}

void decode(const block_q3_K& b, KCodes& k) {
  const uint8_t* q = b.qs;
  uint8_t m = 1;
  int g = 0;
  int8_t* v = k.v;
  for (int nn = 0; nn < kQK_K; nn += 128, q += 32)
    for (int shift = 0; shift < 8; shift += 2, m = static_cast<uint8_t>(m << 1))
      for (int half = 0; half < 2; ++half, ++g) {
        k.sc[g] = static_cast<int16_t>(q3k_scale(b.scales, g));
        k.mn[g] = 0;
        for (int l = 0; l < 16; ++l) {
          const int i = l + 16 * half;
          *v++ = static_cast<int8_t>(((q[i] >> shift) & 3) - ((b.hmask[i] & m) ? 0 : 4));
        }
      }
}

void decode(const block_q5_K& b, KCodes& k) {
  const uint8_t* ql = b.qs;
  uint8_t u1 = 1, u2 = 2;
  int8_t* v = k.v;
  for (int j = 0; j < 8; j += 2, ql += 32, u1 = static_cast<uint8_t>(u1 << 2), u2 = static_cast<uint8_t>(u2 << 2)) {
    for (int s = 0; s < 2; ++s) {
      int sc, mn;
      get_scale_min_k4(j + s, b.scales, &sc, &mn);
      k.sc[2 * (j + s)] = k.sc[2 * (j + s) + 1] = static_cast<int16_t>(sc);
      k.mn[2 * (j + s)] = k.mn[2 * (j + s) + 1] = static_cast<int16_t>(mn);
    }
    for (int l = 0; l < 32; ++l) *v++ = static_cast<int8_t>((ql[l] & 0xF) + (b.qh[l] & u1 ? 16 : 0));
    for (int l = 0; l < 32; ++l) *v++ = static_cast<int8_t>((ql[l] >> 4) + (b.qh[l] & u2 ? 16 : 0));
  }
}

// sum_g sc[g] * (codes . activations over group g), and sum_g mn[g] * bsums[g].
inline int32_t grouped_dot_ref(const KCodes& k, const int8_t* y) {
  int32_t s = 0;
  for (int g = 0; g < 16; ++g) {
    int32_t acc = 0;
    for (int l = 0; l < 16; ++l) acc += int32_t(k.v[16 * g + l]) * int32_t(y[16 * g + l]);
    s += k.sc[g] * acc;
  }
  return s;
}
inline int32_t min_term(const KCodes& k, const int16_t* bsums) {
  int32_t s = 0;
  for (int g = 0; g < 16; ++g) s += k.mn[g] * bsums[g];
  return s;
}

#ifdef LLMKIT_AVX2
using avx2::dot_i8;
using avx2::dot_u8_i8;
using avx2::hsum8;
// 32 codes of a legacy block, 0..15, in element order.
inline __m256i nibbles_avx2(const uint8_t* qs) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), _mm256_set1_epi8(0x0F));
}
// 0x10 in byte j where bit j of the 32-bit qh is set.
inline __m256i fifth_bits_avx2(const uint8_t* qh) {
  uint32_t h;
  std::memcpy(&h, qh, 4);
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(h)),
      _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
  const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ULL));
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), _mm256_set1_epi8(0x10));
}

inline __m256i grouped_dot_avx2(const KCodes& k, const int8_t* y) {
  __m256i sum = _mm256_setzero_si256();
  for (int j = 0; j < 8; ++j) {  // 32 values = two 16-value groups
    const __m256i qv = _mm256_load_si256(reinterpret_cast<const __m256i*>(k.v + 32 * j));
    const __m256i qy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y + 32 * j));
    const __m256i prod16 = _mm256_maddubs_epi16(_mm256_sign_epi8(qv, qv), _mm256_sign_epi8(qy, qv));
    const __m256i scales = _mm256_set_m128i(_mm_set1_epi16(k.sc[2 * j + 1]), _mm_set1_epi16(k.sc[2 * j]));
    sum = _mm256_add_epi32(sum, _mm256_madd_epi16(prod16, scales));
  }
  return sum;
}

// Q4_1 and Q5_1: unsigned codes, plus the block minimum times the activations' stored sum s
// (F16, as ggml keeps it), summed apart from the codes' products as ggml does.
template <class Block> float dot_with_min(int64_t n, const Block* x, const block_q8_1* y) {
  __m256 acc = _mm256_setzero_ps();
  float mins = 0.f;
  for (int64_t b = 0; b < n / kQK; ++b) {
    __m256i code = nibbles_avx2(x[b].qs);
    if constexpr (requires { x[b].qh; }) code = _mm256_or_si256(code, fifth_bits_avx2(x[b].qh));
    const __m256i qy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[b].qs));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(x[b].d) * _cvtsh_ss(y[b].d)), _mm256_cvtepi32_ps(dot_u8_i8(code, qy)), acc);
    mins += _cvtsh_ss(x[b].m) * _cvtsh_ss(y[b].s);
  }
  return hsum8(acc) + mins;
}
#endif

template <class Block, bool kHasMin>
float vec_dot_k_ref(int64_t n, const Block* x, const block_q8_K* y) {
  float s = 0.f;
  KCodes k;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    decode(x[b], k);
    float v = fp16_to_fp32(x[b].d) * static_cast<float>(grouped_dot_ref(k, y[b].qs));
    if constexpr (kHasMin) v -= fp16_to_fp32(x[b].dmin) * static_cast<float>(min_term(k, y[b].bsums));
    s += y[b].d * v;
  }
  return s;
}

template <class Block, bool kHasMin>
float vec_dot_k(int64_t n, const Block* x, const block_q8_K* y) {
#ifdef LLMKIT_AVX2
  __m256 acc = _mm256_setzero_ps();
  float mins = 0.f;
  KCodes k;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    decode(x[b], k);
    const __m256i sumi = grouped_dot_avx2(k, y[b].qs);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(y[b].d * _cvtsh_ss(x[b].d)), _mm256_cvtepi32_ps(sumi), acc);
    if constexpr (kHasMin) mins += y[b].d * _cvtsh_ss(x[b].dmin) * static_cast<float>(min_term(k, y[b].bsums));
  }
  return hsum8(acc) - mins;
#else
  return vec_dot_k_ref<Block, kHasMin>(n, x, y);
#endif
}

}  // namespace

float vec_dot_q4_1_q8_1_ref(int64_t n, const block_q4_1* x, const block_q8_1* y) {
  float s = 0.f, mins = 0.f;
  int c[32];
  for (int64_t b = 0; b < n / kQK; ++b) {
    nibbles(x[b].qs, c);
    s += fp16_to_fp32(x[b].d) * fp16_to_fp32(y[b].d) * static_cast<float>(dot32(c, y[b].qs, 0));
    mins += fp16_to_fp32(x[b].m) * fp16_to_fp32(y[b].s);
  }
  return s + mins;
}

float vec_dot_q5_0_q8_0_ref(int64_t n, const block_q5_0* x, const block_q8_0* y) {
  float s = 0.f;
  int c[32];
  for (int64_t b = 0; b < n / kQK; ++b) {
    nibbles(x[b].qs, c);
    fifth_bits(x[b].qh, c);
    s += fp16_to_fp32(x[b].d) * fp16_to_fp32(y[b].d) * static_cast<float>(dot32(c, y[b].qs, 16));
  }
  return s;
}

float vec_dot_q5_1_q8_1_ref(int64_t n, const block_q5_1* x, const block_q8_1* y) {
  float s = 0.f, mins = 0.f;
  int c[32];
  for (int64_t b = 0; b < n / kQK; ++b) {
    nibbles(x[b].qs, c);
    fifth_bits(x[b].qh, c);
    s += fp16_to_fp32(x[b].d) * fp16_to_fp32(y[b].d) * static_cast<float>(dot32(c, y[b].qs, 0));
    mins += fp16_to_fp32(x[b].m) * fp16_to_fp32(y[b].s);
  }
  return s + mins;
}

float vec_dot_q4_1_q8_1(int64_t n, const block_q4_1* x, const block_q8_1* y) {
#ifdef LLMKIT_AVX2
  return dot_with_min(n, x, y);
#else
  return vec_dot_q4_1_q8_1_ref(n, x, y);
#endif
}

float vec_dot_q5_0_q8_0(int64_t n, const block_q5_0* x, const block_q8_0* y) {
#ifdef LLMKIT_AVX2
  __m256 acc = _mm256_setzero_ps();
  const __m256i sixteen = _mm256_set1_epi8(16);
  for (int64_t b = 0; b < n / kQK; ++b) {
    const __m256i code = _mm256_or_si256(nibbles_avx2(x[b].qs), fifth_bits_avx2(x[b].qh));
    const __m256i qy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[b].qs));
    const __m256 d = _mm256_set1_ps(_cvtsh_ss(x[b].d) * _cvtsh_ss(y[b].d));
    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_i8(_mm256_sub_epi8(code, sixteen), qy)), acc);
  }
  return hsum8(acc);
#else
  return vec_dot_q5_0_q8_0_ref(n, x, y);
#endif
}

float vec_dot_q5_1_q8_1(int64_t n, const block_q5_1* x, const block_q8_1* y) {
#ifdef LLMKIT_AVX2
  return dot_with_min(n, x, y);
#else
  return vec_dot_q5_1_q8_1_ref(n, x, y);
#endif
}

float vec_dot_q2_K_q8_K_ref(int64_t n, const block_q2_K* x, const block_q8_K* y) { return vec_dot_k_ref<block_q2_K, true>(n, x, y); }
float vec_dot_q3_K_q8_K_ref(int64_t n, const block_q3_K* x, const block_q8_K* y) { return vec_dot_k_ref<block_q3_K, false>(n, x, y); }
float vec_dot_q5_K_q8_K_ref(int64_t n, const block_q5_K* x, const block_q8_K* y) { return vec_dot_k_ref<block_q5_K, true>(n, x, y); }
float vec_dot_q2_K_q8_K(int64_t n, const block_q2_K* x, const block_q8_K* y) { return vec_dot_k<block_q2_K, true>(n, x, y); }
float vec_dot_q3_K_q8_K(int64_t n, const block_q3_K* x, const block_q8_K* y) { return vec_dot_k<block_q3_K, false>(n, x, y); }
float vec_dot_q5_K_q8_K(int64_t n, const block_q5_K* x, const block_q8_K* y) { return vec_dot_k<block_q5_K, true>(n, x, y); }

}  // namespace llmkit::kernels

// AVX-512 VNNI kernels over the interleaved layouts (compiled for that target whatever the build's
// -march, and called only after cpu_has_avx512_vnni()).
#include <cstring>
#include <type_traits>

#include "cpu/interleaved.h"

#if defined(__x86_64__)
#include <immintrin.h>

// GCC 12 warns about the placeholder operands inside its own AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define LLMKIT_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

namespace llmkit::kernels {
namespace {

inline int32_t load_i32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The blocks' fields lie in several streams within a block (scales, codes, top bits), which the
// hardware prefetcher follows poorly: out of cache, a Q6_K matrix x vector ran at half the read
// bandwidth of Q4_K, and at the same speed with software prefetch. The lines 8 KiB ahead of the
// block in hand are fetched a part per step of the kernel's loop over the block (eighths for the
// K-quants, the whole block for Q8_0 and Q4_0). Prefetches past the end of the weights are
// harmless: they never fault.
constexpr int kPrefetchAhead = 8192;  // bytes
// With more tokens a tile's arithmetic hides the loads, and its weights are re-read from cache for
// each group of tokens: the prefetches would only take issue slots.
constexpr int kPrefetchTokens = 2;
template <int Parts, class Block>
LLMKIT_VNNI inline void prefetch_part(const Block* block, int part) {
  constexpr int kLines = (sizeof(Block) + 63) / 64, kPerPart = (kLines + Parts - 1) / Parts;
  const char* ahead = reinterpret_cast<const char*>(block) + kPrefetchAhead;
  for (int l = part * kPerPart; l < (part + 1) * kPerPart && l < kLines; ++l) _mm_prefetch(ahead + 64 * l, _MM_HINT_T0);
}

// The fifth bits of 16 rows (one 32-bit lane per row, bit j for column j), shifted down by
// `shift`, spread to bit 4 of the four bytes of their columns: byte i of a lane gets bit i.
LLMKIT_VNNI inline __m512i fifth_bits(__m512i qh, int shift) {
  const __m512i v = _mm512_and_si512(_mm512_srli_epi32(qh, static_cast<unsigned>(shift)), _mm512_set1_epi32(0xF));
  const __m512i spread = _mm512_or_si512(_mm512_or_si512(v, _mm512_slli_epi32(v, 7)),
                                         _mm512_or_si512(_mm512_slli_epi32(v, 14), _mm512_slli_epi32(v, 21)));
  return _mm512_slli_epi32(_mm512_and_si512(spread, _mm512_set1_epi32(0x01010101)), 4);
}

// The level table in each 128-bit lane (vpshufb looks up within a lane).
LLMKIT_VNNI inline __m512i iq4_table() {
  int32_t words[4];
  std::memcpy(words, kIq4nlValues, 16);
  return _mm512_set4_epi32(words[3], words[2], words[1], words[0]);
}

// T tokens at once: each 64-byte load of codes (16 rows x 4 columns, low and high nibbles) feeds
// 2T vpdpbusd, one per token with its four activation bytes broadcast. Sub-block sums are scaled
// per lane (per row) with vpmulld; the minimum term is a vpdpwssd of the rows' minimum pairs with
// the tokens' 32-value sums. Q5_K: the same with each code's fifth bit (codes 0..31).
template <int T, class Block>
LLMKIT_VNNI void q4_Kx16_tile(int64_t nb, const Block* w, const uint8_t* a, size_t a_stride, float* y,
                              size_t y_stride) {
  const block_q8_K* at[T];
  for (int t = 0; t < T; ++t) at[t] = reinterpret_cast<const block_q8_K*>(a + t * a_stride);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  const __m512i low = _mm512_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    const Block& x = w[b];
    __m512i blk[T], sub[T];
    for (int t = 0; t < T; ++t) blk[t] = _mm512_setzero_si512();
    for (int s = 0; s < 8; ++s) {
      if constexpr (T <= kPrefetchTokens) prefetch_part<8>(&x, s);
      // With few tokens, low and high nibbles go to separate chains (the vpdpbusd latency would
      // otherwise bound one token's speed); with many, the tokens' chains are enough.
      constexpr bool kSplit = T <= 4;
      __m512i sub2[kSplit ? T : 1];
      for (int t = 0; t < T; ++t) sub[t] = _mm512_setzero_si512();
      if constexpr (kSplit)
        for (int t = 0; t < T; ++t) sub2[t] = _mm512_setzero_si512();
      for (int g = 0; g < 4; ++g) {
        const __m512i v = _mm512_loadu_si512(x.qs[s][g]);
        __m512i lo = _mm512_and_si512(v, low), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
        if constexpr (std::is_same_v<Block, block_q5_Kx16>) {
          const __m512i qh = _mm512_loadu_si512(x.qh[s]);
          lo = _mm512_or_si512(lo, fifth_bits(qh, 4 * g));
          hi = _mm512_or_si512(hi, fifth_bits(qh, 16 + 4 * g));
        }
        for (int t = 0; t < T; ++t) {
          const int8_t* q = at[t][b].qs + 32 * s + 4 * g;
          sub[t] = _mm512_dpbusd_epi32(sub[t], lo, _mm512_set1_epi32(load_i32(q)));
          if constexpr (kSplit) sub2[t] = _mm512_dpbusd_epi32(sub2[t], hi, _mm512_set1_epi32(load_i32(q + 16)));
          else sub[t] = _mm512_dpbusd_epi32(sub[t], hi, _mm512_set1_epi32(load_i32(q + 16)));
        }
      }
      if constexpr (kSplit)
        for (int t = 0; t < T; ++t) sub[t] = _mm512_add_epi32(sub[t], sub2[t]);
      const __m512i sc = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x.scales[s])));
      for (int t = 0; t < T; ++t) blk[t] = _mm512_add_epi32(blk[t], _mm512_mullo_epi32(sub[t], sc));
    }
    // 32-value sums of each token's activations, as int16 pairs (sub-blocks 2p, 2p+1).
    alignas(16) int32_t pairs[T][4];
    for (int t = 0; t < T; ++t) {
      const auto* bs = reinterpret_cast<const __m128i*>(at[t][b].bsums);
      _mm_store_si128(reinterpret_cast<__m128i*>(pairs[t]), _mm_hadd_epi16(_mm_loadu_si128(bs), _mm_loadu_si128(bs + 1)));
      sub[t] = _mm512_setzero_si512();
    }
    for (int p = 0; p < 4; ++p) {
      const __m512i mn = _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.mins[p])));
      for (int t = 0; t < T; ++t) sub[t] = _mm512_dpwssd_epi32(sub[t], mn, _mm512_set1_epi32(pairs[t][p]));
    }
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.d)));
    const __m512 dmin = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.dmin)));
    for (int t = 0; t < T; ++t) {
      const __m512 ad = _mm512_set1_ps(at[t][b].d);
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(blk[t]), _mm512_mul_ps(d, ad), acc[t]);
      acc[t] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(sub[t]), _mm512_mul_ps(dmin, ad), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * y_stride, acc[t]);
}

// IQ4_XS: Q4_K's code layout, the nibbles looked up as level + 128 (unsigned, 1..241) so that they
// can be vpdpbusd's unsigned operand against the signed activations; the 128 comes back out as
// 128 x the sub-block's activation sum (two of Q8_K's 16-value sums) before the per-row scale.
template <int T>
LLMKIT_VNNI void iq4_xsx16_tile(int64_t nb, const block_iq4_xsx16* w, const uint8_t* a, size_t a_stride, float* y,
                                size_t y_stride) {
  const block_q8_K* at[T];
  for (int t = 0; t < T; ++t) at[t] = reinterpret_cast<const block_q8_K*>(a + t * a_stride);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  const __m512i low = _mm512_set1_epi8(0x0F);
  const __m512i table = _mm512_xor_si512(iq4_table(), _mm512_set1_epi8(-128));
  for (int64_t b = 0; b < nb; ++b) {
    const block_iq4_xsx16& x = w[b];
    __m512i blk[T], sub[T];
    for (int t = 0; t < T; ++t) blk[t] = _mm512_setzero_si512();
    for (int s = 0; s < 8; ++s) {
      if constexpr (T <= kPrefetchTokens) prefetch_part<8>(&x, s);
      constexpr bool kSplit = T <= 4;  // two chains per token when few tokens (see q4_Kx16_tile)
      __m512i sub2[kSplit ? T : 1];
      for (int t = 0; t < T; ++t) sub[t] = _mm512_setzero_si512();
      if constexpr (kSplit)
        for (int t = 0; t < T; ++t) sub2[t] = _mm512_setzero_si512();
      for (int g = 0; g < 4; ++g) {
        const __m512i v = _mm512_loadu_si512(x.qs[s][g]);
        const __m512i lo = _mm512_shuffle_epi8(table, _mm512_and_si512(v, low));
        const __m512i hi = _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi16(v, 4), low));
        for (int t = 0; t < T; ++t) {
          const int8_t* q = at[t][b].qs + 32 * s + 4 * g;
          sub[t] = _mm512_dpbusd_epi32(sub[t], lo, _mm512_set1_epi32(load_i32(q)));
          if constexpr (kSplit) sub2[t] = _mm512_dpbusd_epi32(sub2[t], hi, _mm512_set1_epi32(load_i32(q + 16)));
          else sub[t] = _mm512_dpbusd_epi32(sub[t], hi, _mm512_set1_epi32(load_i32(q + 16)));
        }
      }
      const __m512i sc = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x.scales[s])));
      for (int t = 0; t < T; ++t) {
        if constexpr (kSplit) sub[t] = _mm512_add_epi32(sub[t], sub2[t]);
        const int32_t bias = 128 * (at[t][b].bsums[2 * s] + at[t][b].bsums[2 * s + 1]);
        blk[t] = _mm512_add_epi32(blk[t], _mm512_mullo_epi32(_mm512_sub_epi32(sub[t], _mm512_set1_epi32(bias)), sc));
      }
    }
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.d)));
    for (int t = 0; t < T; ++t)
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(blk[t]), _mm512_mul_ps(d, _mm512_set1_ps(at[t][b].d)), acc[t]);
  }
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * y_stride, acc[t]);
}

// Q6_K: codes 0..63 (value + 32) from a nibble plane and a two-bit plane, vpdpbusd per 16-column
// sub-block, scaled per lane; the +32 comes back out as 32 x (scales . 16-value sums), a vpdpwssd.
template <int T>
LLMKIT_VNNI void q6_Kx16_tile(int64_t nb, const block_q6_Kx16* w, const uint8_t* a, size_t a_stride, float* y,
                              size_t y_stride) {
  const block_q8_K* at[T];
  for (int t = 0; t < T; ++t) at[t] = reinterpret_cast<const block_q8_K*>(a + t * a_stride);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  const __m512i low = _mm512_set1_epi8(0x0F), top = _mm512_set1_epi8(0x30);
  for (int64_t b = 0; b < nb; ++b) {
    const block_q6_Kx16& x = w[b];
    __m512i blk[T], sub[T];
    for (int t = 0; t < T; ++t) blk[t] = _mm512_setzero_si512();
    for (int p = 0; p < 8; ++p) {
      if constexpr (T <= kPrefetchTokens) prefetch_part<8>(&x, p);
      // Scale pairs as int16 in each int32 lane: the low one for h = 0, the high one for h = 1.
      const __m512i sp = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.scales[p])));
      for (int h = 0; h < 2; ++h) {
        const __m512i hb = _mm512_loadu_si512(x.qh[p][h]);
        for (int t = 0; t < T; ++t) sub[t] = _mm512_setzero_si512();
        for (int g = 0; g < 4; ++g) {
          const __m512i v = _mm512_loadu_si512(x.ql[p][g]);
          const __m512i nib = h ? _mm512_and_si512(_mm512_srli_epi16(v, 4), low) : _mm512_and_si512(v, low);
          // Bits 2g..2g+1 of each byte moved to bits 4..5 (16-bit shifts: what crosses a byte is masked off).
          __m512i crumb;
          if (g == 0) crumb = _mm512_slli_epi16(hb, 4);
          else if (g == 1) crumb = _mm512_slli_epi16(hb, 2);
          else if (g == 2) crumb = hb;
          else crumb = _mm512_srli_epi16(hb, 2);
          const __m512i code = _mm512_or_si512(nib, _mm512_and_si512(crumb, top));
          for (int t = 0; t < T; ++t)
            sub[t] = _mm512_dpbusd_epi32(sub[t], code, _mm512_set1_epi32(load_i32(at[t][b].qs + 32 * p + 16 * h + 4 * g)));
        }
        const __m512i sc = h ? _mm512_srai_epi32(sp, 16) : _mm512_srai_epi32(_mm512_slli_epi32(sp, 16), 16);
        for (int t = 0; t < T; ++t) blk[t] = _mm512_add_epi32(blk[t], _mm512_mullo_epi32(sub[t], sc));
      }
    }
    for (int t = 0; t < T; ++t) sub[t] = _mm512_setzero_si512();
    for (int p = 0; p < 8; ++p) {
      const __m512i sp = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.scales[p])));
      for (int t = 0; t < T; ++t)
        sub[t] = _mm512_dpwssd_epi32(sub[t], sp, _mm512_set1_epi32(load_i32(at[t][b].bsums + 2 * p)));
    }
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.d)));
    for (int t = 0; t < T; ++t) {
      const __m512i v = _mm512_sub_epi32(blk[t], _mm512_slli_epi32(sub[t], 5));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(v), _mm512_mul_ps(d, _mm512_set1_ps(at[t][b].d)), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * y_stride, acc[t]);
}

// Q8_0 and Q4_0 rows against block_q8_0u activations. vpdpbusd wants one unsigned operand, and
// both are signed here: the activations come biased (a + 128), and sum (a + 128) w = sum a w +
// 128 sum w, with the rows' sums of w from a vpdpbusd with ones.
// Unpack::get(x, g, lo, hi) gives the signed weights of columns 4g..+3 and 16+4g..+3.
struct Q8_0Codes {
  LLMKIT_VNNI static void get(const block_q8_0x16& x, int g, __m512i& lo, __m512i& hi) {
    lo = _mm512_loadu_si512(x.qs[g]);
    hi = _mm512_loadu_si512(x.qs[g + 4]);
  }
};
struct Q4_0Codes {
  LLMKIT_VNNI static void get(const block_q4_0x16& x, int g, __m512i& lo, __m512i& hi) {
    const __m512i v = _mm512_loadu_si512(x.qs[g]), low = _mm512_set1_epi8(0x0F), eight = _mm512_set1_epi8(8);
    lo = _mm512_sub_epi8(_mm512_and_si512(v, low), eight);
    hi = _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(v, 4), low), eight);
  }
};

// Q5_0: Q4_0's nibbles with the fifth bits of the 16 rows' qh (fifth_bits).
struct Q5_0Codes {
  LLMKIT_VNNI static void get(const block_q5_0x16& x, int g, __m512i& lo, __m512i& hi) {
    const __m512i v = _mm512_loadu_si512(x.qs[g]), low = _mm512_set1_epi8(0x0F), sixteen = _mm512_set1_epi8(16);
    const __m512i qh = _mm512_loadu_si512(x.qh);
    lo = _mm512_sub_epi8(_mm512_or_si512(_mm512_and_si512(v, low), fifth_bits(qh, 4 * g)), sixteen);
    hi = _mm512_sub_epi8(_mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(v, 4), low), fifth_bits(qh, 16 + 4 * g)), sixteen);
  }
};

// IQ4_NL: Q4_0's nibbles looked up in the level table.
struct Iq4NlCodes {
  LLMKIT_VNNI static void get(const block_q4_0x16& x, int g, __m512i& lo, __m512i& hi) {
    const __m512i table = iq4_table();
    const __m512i v = _mm512_loadu_si512(x.qs[g]), low = _mm512_set1_epi8(0x0F);
    lo = _mm512_shuffle_epi8(table, _mm512_and_si512(v, low));
    hi = _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi16(v, 4), low));
  }
};

template <int T, class Block, class Codes>
LLMKIT_VNNI void q8_0_act_tile(int64_t nb, const Block* w, const uint8_t* a, size_t a_stride, float* y,
                               size_t y_stride) {
  const block_q8_0u* at[T];
  for (int t = 0; t < T; ++t) at[t] = reinterpret_cast<const block_q8_0u*>(a + t * a_stride);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  const __m512i ones = _mm512_set1_epi8(1);
  for (int64_t b = 0; b < nb; ++b) {
    const Block& x = w[b];
    if constexpr (T <= kPrefetchTokens) prefetch_part<1>(&x, 0);
    // Two chains per token when there are few tokens (see q4_Kx16_tile).
    constexpr bool kSplit = T <= 4;
    __m512i sub[T], sub2[kSplit ? T : 1];
    for (int t = 0; t < T; ++t) sub[t] = _mm512_setzero_si512();
    if constexpr (kSplit)
      for (int t = 0; t < T; ++t) sub2[t] = _mm512_setzero_si512();
    __m512i wsum = _mm512_setzero_si512(), wsum2 = _mm512_setzero_si512();
    for (int g = 0; g < 4; ++g) {
      __m512i lo, hi;
      Codes::get(x, g, lo, hi);
      wsum = _mm512_dpbusd_epi32(wsum, ones, lo);
      wsum2 = _mm512_dpbusd_epi32(wsum2, ones, hi);
      for (int t = 0; t < T; ++t) {
        sub[t] = _mm512_dpbusd_epi32(sub[t], _mm512_set1_epi32(load_i32(at[t][b].qs + 4 * g)), lo);
        if constexpr (kSplit) sub2[t] = _mm512_dpbusd_epi32(sub2[t], _mm512_set1_epi32(load_i32(at[t][b].qs + 16 + 4 * g)), hi);
        else sub[t] = _mm512_dpbusd_epi32(sub[t], _mm512_set1_epi32(load_i32(at[t][b].qs + 16 + 4 * g)), hi);
      }
    }
    wsum = _mm512_add_epi32(wsum, wsum2);
    if constexpr (kSplit)
      for (int t = 0; t < T; ++t) sub[t] = _mm512_add_epi32(sub[t], sub2[t]);
    const __m512i bias = _mm512_slli_epi32(wsum, 7);
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.d)));
    for (int t = 0; t < T; ++t)
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(sub[t], bias)),
                               _mm512_mul_ps(d, _mm512_set1_ps(at[t][b].d)), acc[t]);
  }
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * y_stride, acc[t]);
}

// Q4_1: unsigned nibbles x signed activations (block_q8_1f) straight into vpdpbusd; the rows'
// minimums meet the activations' scaled sums.
template <int T>
LLMKIT_VNNI void q4_1x16_tile(int64_t nb, const block_q4_1x16* w, const uint8_t* a, size_t a_stride, float* y,
                              size_t y_stride) {
  const block_q8_1f* at[T];
  for (int t = 0; t < T; ++t) at[t] = reinterpret_cast<const block_q8_1f*>(a + t * a_stride);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  const __m512i low = _mm512_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    const block_q4_1x16& x = w[b];
    if constexpr (T <= kPrefetchTokens) prefetch_part<1>(&x, 0);
    __m512i sub[T];
    for (int t = 0; t < T; ++t) sub[t] = _mm512_setzero_si512();
    for (int g = 0; g < 4; ++g) {
      const __m512i v = _mm512_loadu_si512(x.qs[g]);
      const __m512i lo = _mm512_and_si512(v, low), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
      for (int t = 0; t < T; ++t) {
        sub[t] = _mm512_dpbusd_epi32(sub[t], lo, _mm512_set1_epi32(load_i32(at[t][b].qs + 4 * g)));
        sub[t] = _mm512_dpbusd_epi32(sub[t], hi, _mm512_set1_epi32(load_i32(at[t][b].qs + 16 + 4 * g)));
      }
    }
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.d)));
    const __m512 m = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.m)));
    for (int t = 0; t < T; ++t) {
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sub[t]), _mm512_mul_ps(d, _mm512_set1_ps(at[t][b].d)), acc[t]);
      acc[t] = _mm512_fmadd_ps(m, _mm512_set1_ps(at[t][b].s), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * y_stride, acc[t]);
}

// F16 rows: one conversion of 16 rows' column k per group, then an FMA per token and group with
// x_t[k] broadcast. G groups (16 G rows) one after the other: with two, each broadcast feeds two
// FMAs, so the loads no longer bound the speed (1.3x one group on Zen 5 at 512 tokens).
// One sum per token and row, in column order, whatever the tile's size or G: a token's result
// must not depend on how many tokens share its tile (batches of several sequences give each the
// logits it gets alone, bit for bit). With few tokens the FMA latency bounds the speed; splitting
// the sums would have to be done for every tile size alike, and cost the prompt path registers.
// BF16 the same, its 16 values widened by a shift.
struct F16Values {
  LLMKIT_VNNI static __m512 load(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
};
struct BF16Values {
  LLMKIT_VNNI static __m512 load(const uint16_t* p) {
    const __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
  }
};
template <class Values, int G, int T>
LLMKIT_VNNI void f16_tile(int64_t n, const uint16_t* w, const uint8_t* a, size_t a_stride, float* y, size_t y_stride) {
  const float* at[T];
  for (int t = 0; t < T; ++t) at[t] = reinterpret_cast<const float*>(a + t * a_stride);
  __m512 acc[G][T];
  for (int g = 0; g < G; ++g)
    for (int t = 0; t < T; ++t) acc[g][t] = _mm512_setzero_ps();
  for (int64_t k = 0; k < n; ++k) {
    if (T <= kPrefetchTokens && (k & 1) == 0)  // a line holds two columns of the 16 rows
      for (int g = 0; g < G; ++g)
        _mm_prefetch(reinterpret_cast<const char*>(w + (g * n + k) * kPackRows) + kPrefetchAhead, _MM_HINT_T0);
    __m512 wk[G];
    for (int g = 0; g < G; ++g)
      wk[g] = Values::load(w + (g * n + k) * kPackRows);
    for (int t = 0; t < T; ++t) {
      const __m512 x = _mm512_set1_ps(at[t][k]);
      for (int g = 0; g < G; ++g) acc[g][t] = _mm512_fmadd_ps(wk[g], x, acc[g][t]);
    }
  }
  for (int g = 0; g < G; ++g)
    for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * y_stride + g * kPackRows, acc[g][t]);
}

template <class Block>
using TileFn = void (*)(int64_t nb, const Block* w, const uint8_t* a, size_t a_stride, float* y, size_t y_stride);

// Whole tiles of kPackTokens tokens, then the rest in one smaller tile; tiles[k - 1] takes k.
template <class Block>
void by_tiles(const TileFn<Block>* tiles, int64_t block_columns, int64_t n, const Block* w, const void* a, size_t a_stride, int ntok, float* y,
              size_t y_stride) {
  const auto* ab = static_cast<const uint8_t*>(a);
  while (ntok > 0) {
    const int k = ntok >= kPackTokens ? kPackTokens : ntok;
    tiles[k - 1](n / block_columns, w, ab, a_stride, y, y_stride);
    ntok -= k;
    ab += k * a_stride;
    y += k * y_stride;
  }
}

template <class V, int G>
constexpr TileFn<uint16_t> kF16Tiles[kPackTokens] = {f16_tile<V, G, 1>, f16_tile<V, G, 2>, f16_tile<V, G, 3>,
                                                     f16_tile<V, G, 4>, f16_tile<V, G, 5>, f16_tile<V, G, 6>,
                                                     f16_tile<V, G, 7>, f16_tile<V, G, 8>};
template <int T> constexpr TileFn<block_q8_0x16> kQ8_0Tile = q8_0_act_tile<T, block_q8_0x16, Q8_0Codes>;
template <int T> constexpr TileFn<block_q4_0x16> kQ4_0Tile = q8_0_act_tile<T, block_q4_0x16, Q4_0Codes>;
template <int T> constexpr TileFn<block_q5_0x16> kQ5_0Tile = q8_0_act_tile<T, block_q5_0x16, Q5_0Codes>;
template <int T> constexpr TileFn<block_q4_0x16> kIq4NlTile = q8_0_act_tile<T, block_q4_0x16, Iq4NlCodes>;
constexpr TileFn<block_q4_0x16> kIq4NlTiles[kPackTokens] = {kIq4NlTile<1>, kIq4NlTile<2>, kIq4NlTile<3>, kIq4NlTile<4>,
                                                            kIq4NlTile<5>, kIq4NlTile<6>, kIq4NlTile<7>, kIq4NlTile<8>};
constexpr TileFn<block_iq4_xsx16> kIq4XsTiles[kPackTokens] = {iq4_xsx16_tile<1>, iq4_xsx16_tile<2>, iq4_xsx16_tile<3>,
                                                              iq4_xsx16_tile<4>, iq4_xsx16_tile<5>, iq4_xsx16_tile<6>,
                                                              iq4_xsx16_tile<7>, iq4_xsx16_tile<8>};
constexpr TileFn<block_q5_0x16> kQ5_0Tiles[kPackTokens] = {kQ5_0Tile<1>, kQ5_0Tile<2>, kQ5_0Tile<3>, kQ5_0Tile<4>,
                                                           kQ5_0Tile<5>, kQ5_0Tile<6>, kQ5_0Tile<7>, kQ5_0Tile<8>};
constexpr TileFn<block_q8_0x16> kQ8_0Tiles[kPackTokens] = {kQ8_0Tile<1>, kQ8_0Tile<2>, kQ8_0Tile<3>, kQ8_0Tile<4>,
                                                           kQ8_0Tile<5>, kQ8_0Tile<6>, kQ8_0Tile<7>, kQ8_0Tile<8>};
constexpr TileFn<block_q4_0x16> kQ4_0Tiles[kPackTokens] = {kQ4_0Tile<1>, kQ4_0Tile<2>, kQ4_0Tile<3>, kQ4_0Tile<4>,
                                                           kQ4_0Tile<5>, kQ4_0Tile<6>, kQ4_0Tile<7>, kQ4_0Tile<8>};
constexpr TileFn<block_q4_1x16> kQ4_1Tiles[kPackTokens] = {q4_1x16_tile<1>, q4_1x16_tile<2>, q4_1x16_tile<3>,
                                                           q4_1x16_tile<4>, q4_1x16_tile<5>, q4_1x16_tile<6>,
                                                           q4_1x16_tile<7>, q4_1x16_tile<8>};
template <class Block>
constexpr TileFn<Block> kK4Tiles[kPackTokens] = {q4_Kx16_tile<1, Block>, q4_Kx16_tile<2, Block>, q4_Kx16_tile<3, Block>,
                                                 q4_Kx16_tile<4, Block>, q4_Kx16_tile<5, Block>, q4_Kx16_tile<6, Block>,
                                                 q4_Kx16_tile<7, Block>, q4_Kx16_tile<8, Block>};
constexpr TileFn<block_q6_Kx16> kQ6KTiles[kPackTokens] = {q6_Kx16_tile<1>, q6_Kx16_tile<2>, q6_Kx16_tile<3>,
                                                          q6_Kx16_tile<4>, q6_Kx16_tile<5>, q6_Kx16_tile<6>,
                                                          q6_Kx16_tile<7>, q6_Kx16_tile<8>};

}  // namespace

void gemm_q4_Kx16_q8_K(int64_t n, const block_q4_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                       size_t y_stride) {
  by_tiles(kK4Tiles<block_q4_Kx16>, kQK_K, n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q5_Kx16_q8_K(int64_t n, const block_q5_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                       size_t y_stride) {
  by_tiles(kK4Tiles<block_q5_Kx16>, kQK_K, n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q6_Kx16_q8_K(int64_t n, const block_q6_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                       size_t y_stride) {
  by_tiles(kQ6KTiles, kQK_K, n, w, a, a_stride, ntok, y, y_stride);
}

void gemm_f16x16_f32(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride) {
  by_tiles(kF16Tiles<F16Values, 1>, 1, n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_f16x32_f32(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride) {
  by_tiles(kF16Tiles<F16Values, 2>, 1, n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_bf16x16_f32(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride) {
  by_tiles(kF16Tiles<BF16Values, 1>, 1, n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_bf16x32_f32(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride) {
  by_tiles(kF16Tiles<BF16Values, 2>, 1, n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q8_0x16_q8_0(int64_t n, const block_q8_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                       size_t y_stride) {
  by_tiles(kQ8_0Tiles, 32, n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q4_0x16_q8_0(int64_t n, const block_q4_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                       size_t y_stride) {
  by_tiles(kQ4_0Tiles, 32, n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q5_0x16_q8_0(int64_t n, const block_q5_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                       size_t y_stride) {
  by_tiles(kQ5_0Tiles, 32, n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q4_1x16_q8_1(int64_t n, const block_q4_1x16* w, const void* a, size_t a_stride, int ntok, float* y,
                       size_t y_stride) {
  by_tiles(kQ4_1Tiles, 32, n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_iq4_nlx16_q8_0(int64_t n, const block_q4_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                         size_t y_stride) {
  by_tiles(kIq4NlTiles, 32, n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_iq4_xsx16_q8_K(int64_t n, const block_iq4_xsx16* w, const void* a, size_t a_stride, int ntok, float* y,
                         size_t y_stride) {
  by_tiles(kIq4XsTiles, kQK_K, n, w, a, a_stride, ntok, y, y_stride);
}

}  // namespace llmkit::kernels

#else  // not x86-64: the layout is never chosen, but the symbol must exist.
namespace llmkit::kernels {
void gemm_q4_Kx16_q8_K(int64_t n, const block_q4_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                       size_t y_stride) {
  gemm_q4_Kx16_q8_K_ref(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q6_Kx16_q8_K(int64_t n, const block_q6_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                       size_t y_stride) {
  gemm_q6_Kx16_q8_K_ref(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q5_Kx16_q8_K(int64_t n, const block_q5_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                       size_t y_stride) {
  gemm_q5_Kx16_q8_K_ref(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_f16x16_f32(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride) {
  gemm_f16x16_f32_ref(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_f16x32_f32(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride) {
  gemm_f16x32_f32_ref(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_bf16x16_f32(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride) {
  gemm_bf16x16_f32_ref(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_bf16x32_f32(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride) {
  gemm_bf16x32_f32_ref(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q8_0x16_q8_0(int64_t n, const block_q8_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                       size_t y_stride) {
  gemm_q8_0x16_q8_0_ref(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q4_0x16_q8_0(int64_t n, const block_q4_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                       size_t y_stride) {
  gemm_q4_0x16_q8_0_ref(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q5_0x16_q8_0(int64_t n, const block_q5_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                       size_t y_stride) {
  gemm_q5_0x16_q8_0_ref(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q4_1x16_q8_1(int64_t n, const block_q4_1x16* w, const void* a, size_t a_stride, int ntok, float* y,
                       size_t y_stride) {
  gemm_q4_1x16_q8_1_ref(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_iq4_nlx16_q8_0(int64_t n, const block_q4_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                         size_t y_stride) {
  gemm_iq4_nlx16_q8_0_ref(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_iq4_xsx16_q8_K(int64_t n, const block_iq4_xsx16* w, const void* a, size_t a_stride, int ntok, float* y,
                         size_t y_stride) {
  gemm_iq4_xsx16_q8_K_ref(n, w, a, a_stride, ntok, y, y_stride);
}
}  // namespace llmkit::kernels
#endif

// AVX2 kernels over the interleaved layouts of interleaved.h, for CPUs without AVX-512 (compiled
// for AVX2 whatever the build's -march, with AVX-512 switched off for this file so that a native
// build on an AVX-512 machine measures what an AVX2 machine runs; called only after
// cpu_has_avx2()).
//
// A 64-byte line of 16 rows is two 256-bit halves of 8 rows. The integer dots are vpmaddubsw
// (unsigned weight codes x signed activation bytes, pairs summed to int16) and vpmaddwd, which
// sums int16 pairs to int32 and, given the rows' scales as int16 pairs, applies a sub-block's scale
// in the same instruction. Where a format's bounds allow, several vpmaddubsw results are summed as
// int16 before one vpmaddwd: that is what keeps AVX2 near the integer throughput without VNNI.
#include <cstring>
#include <type_traits>

#include "cpu/interleaved.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define LLMKIT_AVX2_FN __attribute__((target("avx2,fma,f16c")))

namespace llmkit::kernels {
namespace {

// Tokens per tile: 16 ymm registers hold no more accumulators beside the weights in hand (F16
// keeps two per token and nothing unpacked, and its FMAs need the most tokens per weight load).
constexpr int kTileTokens = 4;
constexpr int kF16TileTokens = 6;
// Both halves of a line in one pass over the blocks when few tokens leave registers to spare (a
// matrix x vector then streams its weights once); with more, one half per pass.
template <int T>
constexpr int kHalves = T <= 2 ? 2 : 1;
constexpr int kHalf = kPackRows / 2;

inline int32_t load_i32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

LLMKIT_AVX2_FN inline __m256i bcast4(const void* p) { return _mm256_set1_epi32(load_i32(p)); }
// Half h (rows 8h..8h+7) of a 64-byte line of 16 rows x 4 bytes.
LLMKIT_AVX2_FN inline __m256i half_of(const void* line, int h) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint8_t*>(line) + 32 * h));
}
// Eight F16 values of a per-row array (rows 8h..8h+7) as floats.
LLMKIT_AVX2_FN inline __m256 halves_ps(const uint16_t* v, int h) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v + kHalf * h)));
}
// Eight unsigned bytes (one per row) as int16 pairs (s, s), ready to scale a vpmaddwd.
LLMKIT_AVX2_FN inline __m256i scale_pairs_u8(const uint8_t* s) {
  const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(s)));
  return _mm256_or_si256(v, _mm256_slli_epi32(v, 16));
}

// The lines 8 KiB ahead, a part per step, as the AVX-512 kernels do (see interleaved_vnni.cpp):
// with one or two tokens the kernels stream weights and the hardware prefetcher alone falls behind.
constexpr int kPrefetchAhead = 8192;
constexpr int kPrefetchTokens = 2;
template <int Parts, class Block>
inline void prefetch_part(const Block* block, int part) {
  constexpr int kLines = (sizeof(Block) + 63) / 64, kPerPart = (kLines + Parts - 1) / Parts;
  const char* ahead = reinterpret_cast<const char*>(block) + kPrefetchAhead;
  for (int l = part * kPerPart; l < (part + 1) * kPerPart && l < kLines; ++l) _mm_prefetch(ahead + 64 * l, _MM_HINT_T0);
}

// The fifth bits of 8 rows (one 32-bit lane per row, bit j for column j), shifted down by
// `shift`, spread to bit 4 of the four bytes of their columns: byte i of a lane gets bit i.
LLMKIT_AVX2_FN inline __m256i fifth_bits(__m256i qh, int shift) {
  const __m256i v = _mm256_and_si256(_mm256_srli_epi32(qh, shift), _mm256_set1_epi32(0xF));
  const __m256i spread = _mm256_or_si256(_mm256_or_si256(v, _mm256_slli_epi32(v, 7)),
                                         _mm256_or_si256(_mm256_slli_epi32(v, 14), _mm256_slli_epi32(v, 21)));
  return _mm256_slli_epi32(_mm256_and_si256(spread, _mm256_set1_epi32(0x01010101)), 4);
}

// Q4_K: per sub-block of 32 columns, eight vpmaddubsw (4-bit codes x activations: |sum| <= 8 x 2 x
// 15 x 128 = 30720) summed as int16, then one vpmaddwd with the sub-block's scales. The minimum
// term: the rows' minimum pairs against the tokens' 32-value sums, one vpmaddwd per pair.
// Q5_K: codes 0..31 with the fifth bits; four vpmaddubsw per int16 sum then (<= 31744), so the low
// and high halves of a sub-block are summed apart.
template <int T, class Block>
LLMKIT_AVX2_FN void q4_Kx16_tile(int64_t nb, const Block* w, const uint8_t* a, size_t a_stride, float* y,
                                 size_t y_stride) {
  constexpr bool kFive = std::is_same_v<Block, block_q5_Kx16>;
  const block_q8_K* at[T];
  for (int t = 0; t < T; ++t) at[t] = reinterpret_cast<const block_q8_K*>(a + t * a_stride);
  const __m256i low = _mm256_set1_epi8(0x0F);
  for (int h0 = 0; h0 < 2; h0 += kHalves<T>) {
    __m256 accs[kHalves<T>][T];
    for (auto& half : accs)
      for (int t = 0; t < T; ++t) half[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      for (int hh = 0; hh < kHalves<T>; ++hh) {
        const int h = h0 + hh;
        __m256* acc = accs[hh];
        const Block& x = w[b];
        __m256i blk[T];
        for (int t = 0; t < T; ++t) blk[t] = _mm256_setzero_si256();
        for (int s = 0; s < 8; ++s) {
          if constexpr (T <= kPrefetchTokens)
            if (h == 0) prefetch_part<8>(&x, s);
          __m256i sub[T], sub2[kFive ? T : 1];
          for (int t = 0; t < T; ++t) sub[t] = _mm256_setzero_si256();
          if constexpr (kFive)
            for (int t = 0; t < T; ++t) sub2[t] = _mm256_setzero_si256();
          for (int g = 0; g < 4; ++g) {
            const __m256i v = half_of(x.qs[s][g], h);
            __m256i lo = _mm256_and_si256(v, low), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
            if constexpr (kFive) {
              const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qh[s] + kHalf * h));
              lo = _mm256_or_si256(lo, fifth_bits(qh, 4 * g));
              hi = _mm256_or_si256(hi, fifth_bits(qh, 16 + 4 * g));
            }
            for (int t = 0; t < T; ++t) {
              const int8_t* q = at[t][b].qs + 32 * s + 4 * g;
              sub[t] = _mm256_add_epi16(sub[t], _mm256_maddubs_epi16(lo, bcast4(q)));
              if constexpr (kFive) sub2[t] = _mm256_add_epi16(sub2[t], _mm256_maddubs_epi16(hi, bcast4(q + 16)));
              else sub[t] = _mm256_add_epi16(sub[t], _mm256_maddubs_epi16(hi, bcast4(q + 16)));
            }
          }
          const __m256i sc = scale_pairs_u8(x.scales[s] + kHalf * h);
          for (int t = 0; t < T; ++t) {
            blk[t] = _mm256_add_epi32(blk[t], _mm256_madd_epi16(sub[t], sc));
            if constexpr (kFive) blk[t] = _mm256_add_epi32(blk[t], _mm256_madd_epi16(sub2[t], sc));
          }
        }
        __m256i mn[T];
        for (int t = 0; t < T; ++t) mn[t] = _mm256_setzero_si256();
        for (int p = 0; p < 4; ++p) {
          const __m256i m = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x.mins[p][kHalf * h])));
          for (int t = 0; t < T; ++t) {
            // The token's sums of sub-blocks 2p and 2p+1, as an int16 pair.
            const int16_t* bs = at[t][b].bsums + 4 * p;
            const int32_t pair = static_cast<uint16_t>(bs[0] + bs[1]) | static_cast<int32_t>(static_cast<uint16_t>(bs[2] + bs[3])) << 16;
            mn[t] = _mm256_add_epi32(mn[t], _mm256_madd_epi16(m, _mm256_set1_epi32(pair)));
          }
        }
        const __m256 d = halves_ps(x.d, h), dmin = halves_ps(x.dmin, h);
        for (int t = 0; t < T; ++t) {
          const __m256 ad = _mm256_set1_ps(at[t][b].d);
          acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(blk[t]), _mm256_mul_ps(d, ad), acc[t]);
          acc[t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(mn[t]), _mm256_mul_ps(dmin, ad), acc[t]);
        }
      }
    }
    for (int hh = 0; hh < kHalves<T>; ++hh)
      for (int t = 0; t < T; ++t) _mm256_storeu_ps(y + t * y_stride + kHalf * (h0 + hh), accs[hh][t]);
  }
}

// Q6_K: codes 0..63 (value + 32); two vpmaddubsw per int16 sum (2 x 2 x 63 x 128 = 32256), each
// sum scaled by its 16-column sub-block's signed scale in the vpmaddwd; the +32 comes back out as
// 32 x (scales . 16-value sums).
template <int T>
LLMKIT_AVX2_FN void q6_Kx16_tile(int64_t nb, const block_q6_Kx16* w, const uint8_t* a, size_t a_stride, float* y,
                                 size_t y_stride) {
  const block_q8_K* at[T];
  for (int t = 0; t < T; ++t) at[t] = reinterpret_cast<const block_q8_K*>(a + t * a_stride);
  const __m256i low = _mm256_set1_epi8(0x0F), top = _mm256_set1_epi8(0x30);
  for (int h0 = 0; h0 < 2; h0 += kHalves<T>) {
    __m256 accs[kHalves<T>][T];
    for (auto& half : accs)
      for (int t = 0; t < T; ++t) half[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      for (int hh = 0; hh < kHalves<T>; ++hh) {
        const int h = h0 + hh;
        __m256* acc = accs[hh];
        const block_q6_Kx16& x = w[b];
        __m256i blk[T], bias[T];
        for (int t = 0; t < T; ++t) blk[t] = bias[t] = _mm256_setzero_si256();
        for (int p = 0; p < 8; ++p) {
          if constexpr (T <= kPrefetchTokens)
            if (h == 0) prefetch_part<8>(&x, p);
          // Rows' scale pairs (sub-blocks 2p, 2p+1) as int16 pairs, and each one doubled.
          const __m256i sp = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x.scales[p][kHalf * h])));
          for (int t = 0; t < T; ++t) bias[t] = _mm256_add_epi32(bias[t], _mm256_madd_epi16(sp, bcast4(at[t][b].bsums + 2 * p)));
          for (int hh = 0; hh < 2; ++hh) {
            const __m256i sc = hh ? _mm256_shufflehi_epi16(_mm256_shufflelo_epi16(sp, 0xF5), 0xF5)
                                  : _mm256_shufflehi_epi16(_mm256_shufflelo_epi16(sp, 0xA0), 0xA0);
            const __m256i hb = half_of(x.qh[p][hh], h);
            __m256i sub[T];
            for (int g = 0; g < 4; ++g) {
              const __m256i v = half_of(x.ql[p][g], h);
              const __m256i nib = hh ? _mm256_and_si256(_mm256_srli_epi16(v, 4), low) : _mm256_and_si256(v, low);
              // Bits 2g..2g+1 of each byte to bits 4..5 (16-bit shifts: what crosses a byte is masked off).
              __m256i crumb;
              if (g == 0) crumb = _mm256_slli_epi16(hb, 4);
              else if (g == 1) crumb = _mm256_slli_epi16(hb, 2);
              else if (g == 2) crumb = hb;
              else crumb = _mm256_srli_epi16(hb, 2);
              const __m256i code = _mm256_or_si256(nib, _mm256_and_si256(crumb, top));
              for (int t = 0; t < T; ++t) {
                const __m256i prod = _mm256_maddubs_epi16(code, bcast4(at[t][b].qs + 32 * p + 16 * hh + 4 * g));
                if (g % 2 == 0) {
                  sub[t] = prod;
                } else {
                  blk[t] = _mm256_add_epi32(blk[t], _mm256_madd_epi16(_mm256_add_epi16(sub[t], prod), sc));
                }
              }
            }
          }
        }
        const __m256 d = halves_ps(x.d, h);
        for (int t = 0; t < T; ++t) {
          const __m256i v = _mm256_sub_epi32(blk[t], _mm256_slli_epi32(bias[t], 5));
          acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(v), _mm256_mul_ps(d, _mm256_set1_ps(at[t][b].d)), acc[t]);
        }
      }
    }
    for (int hh = 0; hh < kHalves<T>; ++hh)
      for (int t = 0; t < T; ++t) _mm256_storeu_ps(y + t * y_stride + kHalf * (h0 + hh), accs[hh][t]);
  }
}

// The Q8_0 family against block_q8_0s. Codes::dot(x, h, a) gives the eight rows' int32 dots with
// one token's signed codes a (block of 32).
// Q4_0: unsigned nibbles x signed activations, eight vpmaddubsw summed as int16 (<= 30720), then
// the stored offset back out: sum (c - 8) a = sum c a - 8 sum a.
struct Q4_0Codes {
  struct Unpacked {
    __m256i lo[4], hi[4];
  };
  LLMKIT_AVX2_FN static void unpack(const block_q4_0x16& x, int h, Unpacked& u) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    for (int g = 0; g < 4; ++g) {
      const __m256i v = half_of(x.qs[g], h);
      u.lo[g] = _mm256_and_si256(v, low);
      u.hi[g] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
    }
  }
  LLMKIT_AVX2_FN static __m256i dot(const Unpacked& u, const block_q8_0s& a) {
    __m256i s = _mm256_setzero_si256();
    for (int g = 0; g < 4; ++g) {
      s = _mm256_add_epi16(s, _mm256_maddubs_epi16(u.lo[g], bcast4(a.qs + 4 * g)));
      s = _mm256_add_epi16(s, _mm256_maddubs_epi16(u.hi[g], bcast4(a.qs + 16 + 4 * g)));
    }
    return _mm256_sub_epi32(_mm256_madd_epi16(s, _mm256_set1_epi16(1)), _mm256_set1_epi32(8 * a.sum));
  }
};

// Q4_1: Q4_0's nibbles without an offset; the rows' minimums meet the activations' scaled sums.
template <int T>
LLMKIT_AVX2_FN void q4_1x16_tile(int64_t nb, const block_q4_1x16* w, const uint8_t* a, size_t a_stride, float* y,
                                 size_t y_stride) {
  const block_q8_1f* at[T];
  for (int t = 0; t < T; ++t) at[t] = reinterpret_cast<const block_q8_1f*>(a + t * a_stride);
  const __m256i low = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
  for (int h0 = 0; h0 < 2; h0 += kHalves<T>) {
    __m256 accs[kHalves<T>][T];
    for (auto& half : accs)
      for (int t = 0; t < T; ++t) half[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      for (int hh = 0; hh < kHalves<T>; ++hh) {
        const int h = h0 + hh;
        __m256* acc = accs[hh];
        const block_q4_1x16& x = w[b];
        if constexpr (T <= kPrefetchTokens)
          if (h == 0) prefetch_part<1>(&x, 0);
        __m256i lo[4], hi[4];
        for (int g = 0; g < 4; ++g) {
          const __m256i v = half_of(x.qs[g], h);
          lo[g] = _mm256_and_si256(v, low);
          hi[g] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
        }
        const __m256 d = halves_ps(x.d, h), m = halves_ps(x.m, h);
        for (int t = 0; t < T; ++t) {
          __m256i s = _mm256_setzero_si256();
          for (int g = 0; g < 4; ++g) {
            s = _mm256_add_epi16(s, _mm256_maddubs_epi16(lo[g], bcast4(at[t][b].qs + 4 * g)));
            s = _mm256_add_epi16(s, _mm256_maddubs_epi16(hi[g], bcast4(at[t][b].qs + 16 + 4 * g)));
          }
          acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(s, ones)), _mm256_mul_ps(d, _mm256_set1_ps(at[t][b].d)),
                                   acc[t]);
          acc[t] = _mm256_fmadd_ps(m, _mm256_set1_ps(at[t][b].s), acc[t]);
        }
      }
    }
    for (int hh = 0; hh < kHalves<T>; ++hh)
      for (int t = 0; t < T; ++t) _mm256_storeu_ps(y + t * y_stride + kHalf * (h0 + hh), accs[hh][t]);
  }
}

// Q5_0: five-bit codes (0..31), four vpmaddubsw per int16 sum (<= 31744), offset 16.
struct Q5_0Codes {
  struct Unpacked {
    __m256i lo[4], hi[4];
  };
  LLMKIT_AVX2_FN static void unpack(const block_q5_0x16& x, int h, Unpacked& u) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qh + kHalf * h));
    for (int g = 0; g < 4; ++g) {
      const __m256i v = half_of(x.qs[g], h);
      u.lo[g] = _mm256_or_si256(_mm256_and_si256(v, low), fifth_bits(qh, 4 * g));
      u.hi[g] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), low), fifth_bits(qh, 16 + 4 * g));
    }
  }
  LLMKIT_AVX2_FN static __m256i dot(const Unpacked& u, const block_q8_0s& a) {
    __m256i s = _mm256_setzero_si256(), s2 = _mm256_setzero_si256();
    for (int g = 0; g < 4; ++g) {
      s = _mm256_add_epi16(s, _mm256_maddubs_epi16(u.lo[g], bcast4(a.qs + 4 * g)));
      s2 = _mm256_add_epi16(s2, _mm256_maddubs_epi16(u.hi[g], bcast4(a.qs + 16 + 4 * g)));
    }
    const __m256i ones = _mm256_set1_epi16(1);
    return _mm256_sub_epi32(_mm256_add_epi32(_mm256_madd_epi16(s, ones), _mm256_madd_epi16(s2, ones)),
                            _mm256_set1_epi32(16 * a.sum));
  }
};

// Q8_0: both sides signed; vpmaddubsw takes |w| and the activations with w's sign (2 x 128 x 127 =
// 32512: one product pair per int16 sum, so each goes to int32 at once).
struct Q8_0Codes {
  struct Unpacked {
    __m256i w[8], mag[8];
  };
  LLMKIT_AVX2_FN static void unpack(const block_q8_0x16& x, int h, Unpacked& u) {
    for (int q = 0; q < 8; ++q) {
      u.w[q] = half_of(x.qs[q], h);
      u.mag[q] = _mm256_sign_epi8(u.w[q], u.w[q]);
    }
  }
  LLMKIT_AVX2_FN static __m256i dot(const Unpacked& u, const block_q8_0s& a) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i s = _mm256_setzero_si256();
    for (int q = 0; q < 8; ++q) {
      const __m256i signed_a = _mm256_sign_epi8(bcast4(a.qs + 4 * q), u.w[q]);
      s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_maddubs_epi16(u.mag[q], signed_a), ones));
    }
    return s;
  }
};

template <int T, class Block, class Codes>
LLMKIT_AVX2_FN void q8_0s_tile(int64_t nb, const Block* w, const uint8_t* a, size_t a_stride, float* y,
                               size_t y_stride) {
  const block_q8_0s* at[T];
  for (int t = 0; t < T; ++t) at[t] = reinterpret_cast<const block_q8_0s*>(a + t * a_stride);
  for (int h0 = 0; h0 < 2; h0 += kHalves<T>) {
    __m256 accs[kHalves<T>][T];
    for (auto& half : accs)
      for (int t = 0; t < T; ++t) half[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      for (int hh = 0; hh < kHalves<T>; ++hh) {
        const int h = h0 + hh;
        __m256* acc = accs[hh];
        const Block& x = w[b];
        if constexpr (T <= kPrefetchTokens)
          if (h == 0) prefetch_part<1>(&x, 0);
        typename Codes::Unpacked u;
        Codes::unpack(x, h, u);
        const __m256 d = halves_ps(x.d, h);
        for (int t = 0; t < T; ++t)
          acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(Codes::dot(u, at[t][b])), _mm256_mul_ps(d, _mm256_set1_ps(at[t][b].d)),
                                   acc[t]);
      }
    }
    for (int hh = 0; hh < kHalves<T>; ++hh)
      for (int t = 0; t < T; ++t) _mm256_storeu_ps(y + t * y_stride + kHalf * (h0 + hh), accs[hh][t]);
  }
}

// F16: column k of 16 rows converted once, an FMA per token and half; one sum per token and row in
// column order, whatever the tile's size (a token's result does not depend on its tile-mates).
// G groups of 16 rows one after the other (n columns each): with one or two tokens the FMAs'
// latency bounds a group's chains, and a second group's chains run beside them, bit for bit the
// sums of two single-group calls.
template <int G, int T>
LLMKIT_AVX2_FN void f16_tile(int64_t n, const uint16_t* w, const uint8_t* a, size_t a_stride, float* y, size_t y_stride) {
  const float* at[T];
  for (int t = 0; t < T; ++t) at[t] = reinterpret_cast<const float*>(a + t * a_stride);
  __m256 acc[G][T][2];
  for (int g = 0; g < G; ++g)
    for (int t = 0; t < T; ++t) acc[g][t][0] = acc[g][t][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < n; ++k) {
    __m256 wk[G][2];
    for (int g = 0; g < G; ++g) {
      const uint16_t* col = w + (g * n + k) * kPackRows;
      if (T <= kPrefetchTokens && (k & 1) == 0)
        _mm_prefetch(reinterpret_cast<const char*>(col) + kPrefetchAhead, _MM_HINT_T0);
      wk[g][0] = halves_ps(col, 0);
      wk[g][1] = halves_ps(col, 1);
    }
    for (int t = 0; t < T; ++t) {
      const __m256 x = _mm256_set1_ps(at[t][k]);
      for (int g = 0; g < G; ++g) {
        acc[g][t][0] = _mm256_fmadd_ps(wk[g][0], x, acc[g][t][0]);
        acc[g][t][1] = _mm256_fmadd_ps(wk[g][1], x, acc[g][t][1]);
      }
    }
  }
  for (int g = 0; g < G; ++g)
    for (int t = 0; t < T; ++t) {
      _mm256_storeu_ps(y + t * y_stride + g * kPackRows, acc[g][t][0]);
      _mm256_storeu_ps(y + t * y_stride + g * kPackRows + kHalf, acc[g][t][1]);
    }
}

template <class Block>
using TileFn = void (*)(int64_t nb, const Block* w, const uint8_t* a, size_t a_stride, float* y, size_t y_stride);

// Whole tiles of Tile tokens, then the rest in one smaller tile; tiles[k - 1] takes k.
template <int Tile = kTileTokens, class Block>
void by_tiles(const TileFn<Block>* tiles, int64_t block_columns, int64_t n, const Block* w, const void* a,
              size_t a_stride, int ntok, float* y, size_t y_stride) {
  const auto* ab = static_cast<const uint8_t*>(a);
  while (ntok > 0) {
    const int k = ntok >= Tile ? Tile : ntok;
    tiles[k - 1](n / block_columns, w, ab, a_stride, y, y_stride);
    ntok -= k;
    ab += k * a_stride;
    y += k * y_stride;
  }
}

template <class Block, class Codes>
constexpr TileFn<Block> kQ8_0sTiles[kTileTokens] = {q8_0s_tile<1, Block, Codes>, q8_0s_tile<2, Block, Codes>,
                                                    q8_0s_tile<3, Block, Codes>, q8_0s_tile<4, Block, Codes>};
constexpr TileFn<block_q4_1x16> kQ4_1Tiles[kTileTokens] = {q4_1x16_tile<1>, q4_1x16_tile<2>, q4_1x16_tile<3>,
                                                           q4_1x16_tile<4>};
template <class Block>
constexpr TileFn<Block> kK4Tiles[kTileTokens] = {q4_Kx16_tile<1, Block>, q4_Kx16_tile<2, Block>,
                                                 q4_Kx16_tile<3, Block>, q4_Kx16_tile<4, Block>};
constexpr TileFn<block_q6_Kx16> kQ6KTiles[kTileTokens] = {q6_Kx16_tile<1>, q6_Kx16_tile<2>, q6_Kx16_tile<3>,
                                                          q6_Kx16_tile<4>};
constexpr TileFn<uint16_t> kF16Tiles[kF16TileTokens] = {f16_tile<1, 1>, f16_tile<1, 2>, f16_tile<1, 3>,
                                                        f16_tile<1, 4>, f16_tile<1, 5>, f16_tile<1, 6>};

}  // namespace

void gemm_q4_Kx16_q8_K_avx2(int64_t n, const block_q4_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                            size_t y_stride) {
  by_tiles(kK4Tiles<block_q4_Kx16>, kQK_K, n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q5_Kx16_q8_K_avx2(int64_t n, const block_q5_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                            size_t y_stride) {
  by_tiles(kK4Tiles<block_q5_Kx16>, kQK_K, n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q6_Kx16_q8_K_avx2(int64_t n, const block_q6_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                            size_t y_stride) {
  by_tiles(kQ6KTiles, kQK_K, n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q8_0x16_q8_0s_avx2(int64_t n, const block_q8_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                             size_t y_stride) {
  by_tiles(kQ8_0sTiles<block_q8_0x16, Q8_0Codes>, 32, n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q4_0x16_q8_0s_avx2(int64_t n, const block_q4_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                             size_t y_stride) {
  by_tiles(kQ8_0sTiles<block_q4_0x16, Q4_0Codes>, 32, n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q5_0x16_q8_0s_avx2(int64_t n, const block_q5_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                             size_t y_stride) {
  by_tiles(kQ8_0sTiles<block_q5_0x16, Q5_0Codes>, 32, n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q4_1x16_q8_1_avx2(int64_t n, const block_q4_1x16* w, const void* a, size_t a_stride, int ntok, float* y,
                            size_t y_stride) {
  by_tiles(kQ4_1Tiles, 32, n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_f16x16_f32_avx2(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y,
                          size_t y_stride) {
  by_tiles<kF16TileTokens>(kF16Tiles, 1, n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_f16x32_f32_avx2(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y,
                          size_t y_stride) {
  if (ntok == 1) return f16_tile<2, 1>(n, w, static_cast<const uint8_t*>(a), a_stride, y, y_stride);
  if (ntok == 2) return f16_tile<2, 2>(n, w, static_cast<const uint8_t*>(a), a_stride, y, y_stride);
  gemm_f16x16_f32_avx2(n, w, a, a_stride, ntok, y, y_stride);
  gemm_f16x16_f32_avx2(n, w + n * kPackRows, a, a_stride, ntok, y + kPackRows, y_stride);
}

}  // namespace llmkit::kernels

#else  // not x86-64: the path is never chosen, but the symbols must exist.
namespace llmkit::kernels {
void gemm_q4_Kx16_q8_K_avx2(int64_t n, const block_q4_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                            size_t y_stride) {
  gemm_q4_Kx16_q8_K_ref(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q6_Kx16_q8_K_avx2(int64_t n, const block_q6_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                            size_t y_stride) {
  gemm_q6_Kx16_q8_K_ref(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q5_Kx16_q8_K_avx2(int64_t n, const block_q5_Kx16* w, const void* a, size_t a_stride, int ntok, float* y,
                            size_t y_stride) {
  gemm_q5_Kx16_q8_K_ref(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_f16x16_f32_avx2(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y,
                          size_t y_stride) {
  gemm_f16x16_f32_ref(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_f16x32_f32_avx2(int64_t n, const uint16_t* w, const void* a, size_t a_stride, int ntok, float* y,
                          size_t y_stride) {
  gemm_f16x32_f32_ref(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q8_0x16_q8_0s_avx2(int64_t n, const block_q8_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                             size_t y_stride) {
  gemm_q8_0x16_q8_0s_ref(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q4_0x16_q8_0s_avx2(int64_t n, const block_q4_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                             size_t y_stride) {
  gemm_q4_0x16_q8_0s_ref(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q5_0x16_q8_0s_avx2(int64_t n, const block_q5_0x16* w, const void* a, size_t a_stride, int ntok, float* y,
                             size_t y_stride) {
  gemm_q5_0x16_q8_0s_ref(n, w, a, a_stride, ntok, y, y_stride);
}
void gemm_q4_1x16_q8_1_avx2(int64_t n, const block_q4_1x16* w, const void* a, size_t a_stride, int ntok, float* y,
                            size_t y_stride) {
  gemm_q4_1x16_q8_1_ref(n, w, a, a_stride, ntok, y, y_stride);
}
}  // namespace llmkit::kernels
#endif

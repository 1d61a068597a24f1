// Dot products of the grid formats (IQ1_S ... IQ3_S) with Q8_K activations: a super-block decoded
// to byte codes and scales per 16 (iq_codes.h), then integer sums per 16 values, scaled. The AVX2
// path does the sums with vpmaddubsw (|code| <= 62 against the activation with the code's sign)
// and vpmaddwd with the scales.
#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/gemm.h"
#include "cpu/iq_codes.h"
#include "cpu/vec_dot.h"

#include "cpu/avx2_util.h"

namespace llmkit::kernels {

// Super-blocks decoded one ahead of their use: the vector loads of one come long after its byte
// stores (a load spanning several recent stores waits for them to reach the cache, which cost the
// one-row dots a fifth of their time).
// The sequence is `count` blocks `stride` bytes apart (a row's super-blocks, or one super-block of
// several rows).
template <class Block>
class DecodedAhead {
 public:
  DecodedAhead(const Block* first, int64_t count, size_t stride)
      : p_(reinterpret_cast<const uint8_t*>(first)), count_(count), stride_(stride) {
    if (count_ > 0) decode(*first, c_[0]);
  }
  // Block i of the sequence, called for i = 0, 1, ... in turn; decodes block i + 1 meanwhile.
  const IqCodes& next(int64_t i) {
    if (i + 1 < count_) decode(*reinterpret_cast<const Block*>(p_ + (i + 1) * stride_), c_[(i + 1) & 1]);
    return c_[i & 1];
  }

 private:
  const uint8_t* p_;
  int64_t count_;
  size_t stride_;
  IqCodes c_[2];
};

namespace {

template <class Block>
float iq_dot_ref(int64_t n, const Block* x, const block_q8_K* y) {
  float s = 0.f;
  IqCodes c;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    decode(x[b], c);
    int32_t sum = 0;
    for (int g = 0; g < 16; ++g) {
      int32_t acc = 0;
      for (int j = 16 * g; j < 16 * g + 16; ++j) acc += int32_t(c.v[j]) * int32_t(y[b].qs[j]);
      sum += c.sc[g] * acc;
    }
    s += c.d * y[b].d * static_cast<float>(sum);
  }
  return s;
}

#ifdef LLMKIT_AVX2
// One decoded super-block against one token's Q8_K block: 8 int32 lanes of scaled sums.
inline __m256i iq_block_sums(const IqCodes& c, const __m256i* mag, const block_q8_K& y) {
  __m256i sumi = _mm256_setzero_si256();
  for (int k = 0; k < 8; ++k) {  // 32 values: two groups of 16
    const __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i*>(c.v + 32 * k));
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y.qs + 32 * k));
    const __m256i prod = _mm256_maddubs_epi16(mag[k], _mm256_sign_epi8(q, v));
    const __m256i sc = _mm256_set_m128i(_mm_set1_epi16(c.sc[2 * k + 1]), _mm_set1_epi16(c.sc[2 * k]));
    sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(prod, sc));
  }
  return sumi;
}
inline void magnitudes(const IqCodes& c, __m256i* mag) {
  for (int k = 0; k < 8; ++k) {
    const __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i*>(c.v + 32 * k));
    mag[k] = _mm256_sign_epi8(v, v);
  }
}
#endif

// Several tokens: each super-block decoded once for all of them; one token (iq_dot) is the same
// computation, so each token's result is the same whichever way it is computed.
template <class Block>
void iq_gemm(int64_t n, const void* w, const void* a, size_t a_stride, int ntok, float* y, size_t y_stride) {
  const auto* x = static_cast<const Block*>(w);
#ifdef LLMKIT_AVX2
  alignas(32) float acc_mem[kIqGemmTokens][8];
  __m256* acc = reinterpret_cast<__m256*>(acc_mem);
  for (int t = 0; t < ntok; ++t) acc[t] = _mm256_setzero_ps();
  __m256i mag[8];
  const int64_t nb = n / kQK_K;
  DecodedAhead<Block> ahead(x, nb, sizeof(Block));
  for (int64_t b = 0; b < nb; ++b) {
    const IqCodes& c = ahead.next(b);
    magnitudes(c, mag);
    for (int t = 0; t < ntok; ++t) {
      const auto& yb = reinterpret_cast<const block_q8_K*>(static_cast<const uint8_t*>(a) + t * a_stride)[b];
      acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(c.d * yb.d), _mm256_cvtepi32_ps(iq_block_sums(c, mag, yb)), acc[t]);
    }
  }
  for (int t = 0; t < ntok; ++t) y[t * y_stride] = avx2::hsum8(acc[t]);
#else
  for (int t = 0; t < ntok; ++t)
    y[t * y_stride] = iq_dot_ref(n, x, reinterpret_cast<const block_q8_K*>(static_cast<const uint8_t*>(a) + t * a_stride));
#endif
}

template <class Block>
float iq_dot(int64_t n, const Block* x, const block_q8_K* y) {
  float out;
  iq_gemm<Block>(n, x, y, 0, 1, &out, 1);
  return out;
}

}  // namespace

#define LLMKIT_IQ_DOT(name)                                                                      \
  float vec_dot_##name##_q8_K_ref(int64_t n, const block_##name* x, const block_q8_K* y) {      \
    return iq_dot_ref(n, x, y);                                                                  \
  }                                                                                              \
  float vec_dot_##name##_q8_K(int64_t n, const block_##name* x, const block_q8_K* y) { return iq_dot(n, x, y); } \
  void gemm_##name##_q8_K(int64_t n, const void* w, const void* a, size_t a_stride, int ntok, float* y,               \
                          size_t y_stride) {                                                                           \
    iq_gemm<block_##name>(n, w, a, a_stride, ntok, y, y_stride);                                                       \
  }
LLMKIT_IQ_DOT(iq2_xxs)
LLMKIT_IQ_DOT(iq2_xs)
LLMKIT_IQ_DOT(iq2_s)
LLMKIT_IQ_DOT(iq3_xxs)
LLMKIT_IQ_DOT(iq3_s)
LLMKIT_IQ_DOT(iq1_s)
LLMKIT_IQ_DOT(iq1_m)
#undef LLMKIT_IQ_DOT

}  // namespace llmkit::kernels

// AVX-512 VNNI (called only where cpu_has_avx512_vnni()). One float sum per row and token, added
// super-block by super-block as factor x the super-block's exact integer sum (one fused
// multiply-add), so that the one-row dot (generation) and the 16-row tile (prompts) give each
// token the same result bit for bit.
#if defined(__x86_64__)
#include <immintrin.h>
// GCC 12 warns about the placeholder operands inside its own AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#define LLMKIT_IQ_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
namespace llmkit::kernels {
namespace {

// One row: a decoded super-block as magnitudes and the mask of its negative codes; each 64 values'
// activations take the codes' signs (a masked subtraction from zero), vpdpbusd sums four products a
// lane, and a lane's group scale multiplies it.
template <class Block>
LLMKIT_IQ_VNNI float iq_dot_vnni(int64_t n, const Block* x, const block_q8_K* y) {
  float s = 0.f;
  const __m512i zero = _mm512_setzero_si512();
  const int64_t nb = n / kQK_K;
  DecodedAhead<Block> ahead(x, nb, sizeof(Block));
  for (int64_t b = 0; b < nb; ++b) {
    const IqCodes& c = ahead.next(b);
    __m512i sum = zero;
    for (int k = 0; k < 4; ++k) {
      const __m512i v = _mm512_load_si512(c.v + 64 * k);
      // Lane l of the 64 values holds 4 of group 4 k + l / 4.
      const __m128i s4 = _mm_cvtepi16_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(c.sc + 4 * k)));
      const __m512i scale = _mm512_permutexvar_epi32(_mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0),
                                                     _mm512_castsi128_si512(s4));
      const __m512i q = _mm512_loadu_si512(y[b].qs + 64 * k);
      const __m512i dp =
          _mm512_dpbusd_epi32(zero, _mm512_abs_epi8(v), _mm512_mask_sub_epi8(q, _mm512_movepi8_mask(v), zero, q));
      sum = _mm512_add_epi32(sum, _mm512_mullo_epi32(dp, scale));
    }
    s = __builtin_fmaf(c.d * y[b].d, static_cast<float>(_mm512_reduce_add_epi32(sum)), s);
  }
  return s;
}

// Sixteen rows' super-block decoded for prompts: codes + 64 (all codes lie in -62..62, so these
// are unsigned bytes for vpdpbusd) as [4 values][row] dwords, integer scales as [group][row],
// factors per row. The 64 subtracted back per group is 64 x the activations' sum over the group,
// which Q8_K keeps (bsums).
struct IqTile {
  alignas(64) uint32_t w[kQK_K / 4][16];
  alignas(64) int32_t sc[kQK_K / 16][16];
  alignas(64) float d[16];
};

template <class Block>
LLMKIT_IQ_VNNI void decode_tile(const uint8_t* rows, size_t row_bytes, int nrows, int64_t b, IqTile& t) {
  DecodedAhead<Block> ahead(reinterpret_cast<const Block*>(rows) + b, nrows, row_bytes);
  const __m512i offset = _mm512_set1_epi8(64);
  for (int r = 0; r < nrows; ++r) {
    const IqCodes& c = ahead.next(r);
    t.d[r] = c.d;
    for (int g = 0; g < kQK_K / 16; ++g) t.sc[g][r] = c.sc[g];
    for (int k = 0; k < 4; ++k) {
      alignas(64) uint32_t u[16];
      _mm512_store_si512(u, _mm512_add_epi8(_mm512_load_si512(c.v + 64 * k), offset));
      for (int j = 0; j < 16; ++j) t.w[16 * k + j][r] = u[j];
    }
  }
  for (int r = nrows; r < 16; ++r) {  // past the last row: zero scales, so nothing is added
    t.d[r] = 0.f;
    for (int g = 0; g < kQK_K / 16; ++g) t.sc[g][r] = 0;
    for (int q = 0; q < kQK_K / 4; ++q) t.w[q][r] = 0x40404040u;
  }
}

// T tokens against a decoded tile: per group of 16 values, four vpdpbusd a token (the activations'
// four bytes broadcast) from -64 x the group's activation sum, times the rows' group scales.
template <int T>
LLMKIT_IQ_VNNI inline void tile_tokens(const IqTile& tl, const block_q8_K* const* yb, __m512* acc) {
  __m512i tot[T];
  for (int t = 0; t < T; ++t) tot[t] = _mm512_setzero_si512();
  for (int g = 0; g < kQK_K / 16; ++g) {
    __m512i dp[T];
    for (int t = 0; t < T; ++t) dp[t] = _mm512_set1_epi32(-64 * yb[t]->bsums[g]);
    for (int q = 0; q < 4; ++q) {
      const __m512i w = _mm512_load_si512(tl.w[4 * g + q]);
      for (int t = 0; t < T; ++t) {
        int32_t a4;
        std::memcpy(&a4, yb[t]->qs + 16 * g + 4 * q, 4);
        dp[t] = _mm512_dpbusd_epi32(dp[t], w, _mm512_set1_epi32(a4));
      }
    }
    const __m512i s = _mm512_load_si512(tl.sc[g]);
    for (int t = 0; t < T; ++t) tot[t] = _mm512_add_epi32(tot[t], _mm512_mullo_epi32(dp[t], s));
  }
  const __m512 d = _mm512_load_ps(tl.d);
  for (int t = 0; t < T; ++t)
    acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(d, _mm512_set1_ps(yb[t]->d)), _mm512_cvtepi32_ps(tot[t]), acc[t]);
}

// The rows' super-blocks are decoded once per call, then the tokens pass 64 at a time.
template <class Block>
LLMKIT_IQ_VNNI void iq_tile_vnni(int64_t n, const void* w, size_t row_bytes, int nrows, const void* a, size_t a_stride,
                                 int ntok, float* y, size_t y_stride) {
  constexpr int kT = 4, kChunk = 64;
  std::vector<IqTile> tiles(static_cast<size_t>(n / kQK_K));
  for (int64_t b = 0; b < n / kQK_K; ++b)
    decode_tile<Block>(static_cast<const uint8_t*>(w), row_bytes, nrows, b, tiles[static_cast<size_t>(b)]);
  alignas(64) float acc_mem[kChunk][16];
  __m512* acc = reinterpret_cast<__m512*>(acc_mem);
  for (int t0 = 0; t0 < ntok; t0 += kChunk) {
    const int nt = std::min(kChunk, ntok - t0);
    for (int t = 0; t < nt; ++t) acc[t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < n / kQK_K; ++b) {
      const block_q8_K* yb[kT];
      for (int t = 0; t < nt; t += kT) {
        const int m = std::min(kT, nt - t);
        for (int i = 0; i < m; ++i)
          yb[i] = reinterpret_cast<const block_q8_K*>(static_cast<const uint8_t*>(a) + (t0 + t + i) * a_stride) + b;
        const IqTile& tile = tiles[static_cast<size_t>(b)];
        switch (m) {
          case 4: tile_tokens<4>(tile, yb, acc + t); break;
          case 3: tile_tokens<3>(tile, yb, acc + t); break;
          case 2: tile_tokens<2>(tile, yb, acc + t); break;
          default: tile_tokens<1>(tile, yb, acc + t); break;
        }
      }
    }
    for (int t = 0; t < nt; ++t)
      for (int r = 0; r < nrows; ++r) y[(t0 + t) * y_stride + r] = acc_mem[t][r];
  }
}

}  // namespace

#define LLMKIT_IQ_VNNI_FNS(name)                                                                                  \
  float vec_dot_##name##_q8_K_vnni(int64_t n, const void* x, const void* a) {                                     \
    return iq_dot_vnni(n, static_cast<const block_##name*>(x), static_cast<const block_q8_K*>(a));                \
  }                                                                                                                \
  void gemm_rows_##name##_q8_K_vnni(int64_t n, const void* w, size_t row_bytes, int nrows, const void* a,         \
                                    size_t a_stride, int ntok, float* y, size_t y_stride) {                       \
    iq_tile_vnni<block_##name>(n, w, row_bytes, nrows, a, a_stride, ntok, y, y_stride);                           \
  }
LLMKIT_IQ_VNNI_FNS(iq2_xxs)
LLMKIT_IQ_VNNI_FNS(iq2_xs)
LLMKIT_IQ_VNNI_FNS(iq2_s)
LLMKIT_IQ_VNNI_FNS(iq3_xxs)
LLMKIT_IQ_VNNI_FNS(iq3_s)
LLMKIT_IQ_VNNI_FNS(iq1_s)
LLMKIT_IQ_VNNI_FNS(iq1_m)
#undef LLMKIT_IQ_VNNI_FNS

}  // namespace llmkit::kernels
#endif

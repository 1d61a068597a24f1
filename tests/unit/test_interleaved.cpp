// Interleaved (repacked) weight layouts: the packing and its scalar reference against one plain
// reference dot product per row and token, and the AVX-512 VNNI and AVX2 kernels (each where the
// CPU runs it) against that reference.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/fp16.h"
#include "cpu/interleaved.h"
#include "cpu/vec_dot.h"
#include "llmkit/quant.h"

using namespace llmkit;
using namespace llmkit::kernels;

namespace {

// A fast kernel of one path over the packed layout, with the activations it takes.
template <class Packed>
struct Fast {
  const char* path;
  bool available;                               // on this CPU
  void (*prep)(const float*, void*, int64_t);   // its activations
  uint64_t (*prep_bytes)(int64_t);              // ... bytes per row
  void (*kernel)(int64_t, const Packed*, const void*, size_t, int, float*, size_t);
  const char* same_as = nullptr;  // a path whose results these must equal bit for bit
};

template <class Packed, class Plain>
struct Kind {
  GgmlType type, act_type;  // weights; activations of the plain dot
  void (*prep)(const float*, void*, int64_t);  // the reference's activations
  uint64_t (*prep_bytes)(int64_t);              // ... bytes per row
  void (*pack)(const void*, size_t, int64_t, Packed*);
  void (*ref)(int64_t, const Packed*, const void*, size_t, int, float*, size_t);
  float (*plain)(int64_t, const Plain*, const void*);
  std::vector<Fast<Packed>> fast;
};

template <class Packed, class Plain>
void check_kind(const Kind<Packed, Plain>& k) {
  std::mt19937 rng(29);
  std::student_t_distribution<float> g(4.f);
  for (int64_t n : {256, 2048}) {
    const int64_t nb = n / (k.act_type == GgmlType::Q8_K ? 256 : 32);
    // Rows with different scales and offsets, so that a row or sub-block mix-up shows.
    std::vector<float> w(static_cast<size_t>(n * kPackRows)), a(static_cast<size_t>(n * kPackTokens));
    for (size_t i = 0; i < w.size(); ++i)
      w[i] = 0.02f * g(rng) * (1 + static_cast<float>(i / n)) + 0.003f * static_cast<float>(i / n % 3);
    for (auto& v : a) v = g(rng);
    const size_t row_bytes = ggml_bytes(k.type, static_cast<uint64_t>(n));
    const size_t a_stride = ggml_bytes(k.act_type, static_cast<uint64_t>(n));
    const size_t k_stride = k.prep_bytes(n);
    std::vector<uint8_t> wq(row_bytes * kPackRows), aq(a_stride * kPackTokens), ak(k_stride * kPackTokens);
    for (int r = 0; r < kPackRows; ++r) quantize_row(k.type, w.data() + r * n, wq.data() + r * row_bytes, n);
    for (int t = 0; t < kPackTokens; ++t) {
      quantize_act_row(k.act_type, a.data() + t * n, aq.data() + t * a_stride, n);
      k.prep(a.data() + t * n, ak.data() + t * k_stride, n);
    }
    std::vector<Packed> packed(static_cast<size_t>(nb));
    k.pack(wq.data(), row_bytes, n, packed.data());

    for (int ntok : {1, 3, 4, 5, 8}) {
      std::map<std::string, std::vector<float>> by_path;
      const size_t stride = kPackRows + 5;  // outputs strided as in a matmul
      std::vector<float> ref(static_cast<size_t>(kPackTokens) * stride, -1.f);
      k.ref(n, packed.data(), ak.data(), k_stride, ntok, ref.data(), stride);
      for (int t = 0; t < ntok; ++t)
        for (int r = 0; r < kPackRows; ++r) {
          const float plain = k.plain(n, reinterpret_cast<const Plain*>(wq.data() + r * row_bytes), aq.data() + t * a_stride);
          INFO(ggml_type_name(k.type) << " n " << n << " token " << t << " row " << r);
          CHECK(std::fabs(ref[t * stride + r] - plain) <= 1e-4f * (1.f + std::fabs(plain)));
        }
      for (const Fast<Packed>& f : k.fast) {
        if (!f.available) continue;
        const size_t f_stride = f.prep_bytes(n);
        std::vector<uint8_t> af(f_stride * kPackTokens);
        for (int t = 0; t < kPackTokens; ++t) f.prep(a.data() + t * n, af.data() + t * f_stride, n);
        std::vector<float> fast(ref.size(), -1.f);
        f.kernel(n, packed.data(), af.data(), f_stride, ntok, fast.data(), stride);
        for (size_t i = 0; i < ref.size(); ++i) {
          INFO(ggml_type_name(k.type) << " " << f.path << " n " << n << " tokens " << ntok << " output " << i);
          if (i % stride >= kPackRows || i / stride >= static_cast<size_t>(ntok)) CHECK(fast[i] == -1.f);
          else CHECK(std::fabs(fast[i] - ref[i]) <= 1e-4f * (1.f + std::fabs(ref[i])));
        }
        if (f.same_as && by_path.count(f.same_as)) {
          INFO(ggml_type_name(k.type) << " " << f.path << " against " << f.same_as << " n " << n << " tokens " << ntok);
          CHECK(std::memcmp(fast.data(), by_path[f.same_as].data(), fast.size() * sizeof(float)) == 0);
        }
        by_path[f.path] = fast;
      }
    }
  }
  for (const Fast<Packed>& f : k.fast)
    if (!f.available) WARN("this CPU cannot run the " << f.path << " kernels: only the others were tested");
}

void prep_q8_K(const float* x, void* y, int64_t n) { quantize_row(GgmlType::Q8_K, x, y, n); }
void prep_q8_0u(const float* x, void* y, int64_t n) { quantize_row_q8_0u(x, static_cast<block_q8_0u*>(y), n); }
void prep_q8_0s(const float* x, void* y, int64_t n) { quantize_row_q8_0s(x, static_cast<block_q8_0s*>(y), n); }
uint64_t q8_0s_bytes(int64_t n) { return sizeof(block_q8_0s) * static_cast<uint64_t>(n / 32); }
void prep_q8_1f(const float* x, void* y, int64_t n) { quantize_row_q8_1f(x, static_cast<block_q8_1f*>(y), n); }
uint64_t q8_1f_bytes(int64_t n) { return sizeof(block_q8_1f) * static_cast<uint64_t>(n / 32); }
uint64_t q8_K_bytes(int64_t n) { return ggml_bytes(GgmlType::Q8_K, static_cast<uint64_t>(n)); }
uint64_t q8_0u_bytes(int64_t n) { return sizeof(block_q8_0u) * static_cast<uint64_t>(n / 32); }

// The plain references, with the activation type erased.
template <class Plain, class Act, float (*Dot)(int64_t, const Plain*, const Act*)>
float plain_dot(int64_t n, const Plain* w, const void* a) {
  return Dot(n, w, static_cast<const Act*>(a));
}

}  // namespace

TEST_CASE("Q4_K rows packed by 16: reference, AVX-512 VNNI, AVX2 and AVX-VNNI kernels equal the plain dot products", "[kernels][interleaved]") {
  check_kind(Kind<block_q4_Kx16, block_q4_K>{
      GgmlType::Q4_K, GgmlType::Q8_K, prep_q8_K, q8_K_bytes, pack_q4_K_x16, gemm_q4_Kx16_q8_K_ref,
      plain_dot<block_q4_K, block_q8_K, vec_dot_q4_K_q8_K_ref>,
      {{"avx512", cpu_has_avx512_vnni(), prep_q8_K, q8_K_bytes, gemm_q4_Kx16_q8_K},
       {"avx2", cpu_has_avx2(), prep_q8_K, q8_K_bytes, gemm_q4_Kx16_q8_K_avx2},
       {"avxvnni", cpu_has_avx_vnni(), prep_q8_K, q8_K_bytes, gemm_q4_Kx16_q8_K_avxvnni, "avx2"}}});
}

TEST_CASE("Q5_K rows packed by 16: reference, AVX-512 VNNI, AVX2 and AVX-VNNI kernels equal the plain dot products", "[kernels][interleaved]") {
  check_kind(Kind<block_q5_Kx16, block_q5_K>{
      GgmlType::Q5_K, GgmlType::Q8_K, prep_q8_K, q8_K_bytes, pack_q5_K_x16, gemm_q5_Kx16_q8_K_ref,
      plain_dot<block_q5_K, block_q8_K, vec_dot_q5_K_q8_K_ref>,
      {{"avx512", cpu_has_avx512_vnni(), prep_q8_K, q8_K_bytes, gemm_q5_Kx16_q8_K},
       {"avx2", cpu_has_avx2(), prep_q8_K, q8_K_bytes, gemm_q5_Kx16_q8_K_avx2},
       {"avxvnni", cpu_has_avx_vnni(), prep_q8_K, q8_K_bytes, gemm_q5_Kx16_q8_K_avxvnni, "avx2"}}});
}

TEST_CASE("Q6_K rows packed by 16: reference, AVX-512 VNNI, AVX2 and AVX-VNNI kernels equal the plain dot products", "[kernels][interleaved]") {
  check_kind(Kind<block_q6_Kx16, block_q6_K>{
      GgmlType::Q6_K, GgmlType::Q8_K, prep_q8_K, q8_K_bytes, pack_q6_K_x16, gemm_q6_Kx16_q8_K_ref,
      plain_dot<block_q6_K, block_q8_K, vec_dot_q6_K_q8_K_ref>,
      {{"avx512", cpu_has_avx512_vnni(), prep_q8_K, q8_K_bytes, gemm_q6_Kx16_q8_K},
       {"avx2", cpu_has_avx2(), prep_q8_K, q8_K_bytes, gemm_q6_Kx16_q8_K_avx2},
       {"avxvnni", cpu_has_avx_vnni(), prep_q8_K, q8_K_bytes, gemm_q6_Kx16_q8_K_avxvnni, "avx2"}}});
}

TEST_CASE("Q8_0, Q4_0 and Q5_0 rows packed by 16: references, AVX-512 VNNI, AVX2 and AVX-VNNI kernels equal the plain dot products",
          "[kernels][interleaved]") {
  // Each format twice: against the biased activations of the AVX-512 kernels, and the signed ones
  // of the AVX2 kernels (whose reference is checked against the plain dot product as well).
  check_kind(Kind<block_q5_0x16, block_q5_0>{
      GgmlType::Q5_0, GgmlType::Q8_0, prep_q8_0u, q8_0u_bytes, pack_q5_0_x16, gemm_q5_0x16_q8_0_ref,
      plain_dot<block_q5_0, block_q8_0, vec_dot_q5_0_q8_0_ref>,
      {{"avx512", cpu_has_avx512_vnni(), prep_q8_0u, q8_0u_bytes, gemm_q5_0x16_q8_0}}});
  check_kind(Kind<block_q5_0x16, block_q5_0>{
      GgmlType::Q5_0, GgmlType::Q8_0, prep_q8_0s, q8_0s_bytes, pack_q5_0_x16, gemm_q5_0x16_q8_0s_ref,
      plain_dot<block_q5_0, block_q8_0, vec_dot_q5_0_q8_0_ref>,
      {{"avx2", cpu_has_avx2(), prep_q8_0s, q8_0s_bytes, gemm_q5_0x16_q8_0s_avx2},
       {"avxvnni", cpu_has_avx_vnni(), prep_q8_0s, q8_0s_bytes, gemm_q5_0x16_q8_0s_avxvnni, "avx2"}}});
  check_kind(Kind<block_q8_0x16, block_q8_0>{
      GgmlType::Q8_0, GgmlType::Q8_0, prep_q8_0u, q8_0u_bytes, pack_q8_0_x16, gemm_q8_0x16_q8_0_ref,
      plain_dot<block_q8_0, block_q8_0, vec_dot_q8_0_q8_0_ref>,
      {{"avx512", cpu_has_avx512_vnni(), prep_q8_0u, q8_0u_bytes, gemm_q8_0x16_q8_0}}});
  check_kind(Kind<block_q8_0x16, block_q8_0>{
      GgmlType::Q8_0, GgmlType::Q8_0, prep_q8_0s, q8_0s_bytes, pack_q8_0_x16, gemm_q8_0x16_q8_0s_ref,
      plain_dot<block_q8_0, block_q8_0, vec_dot_q8_0_q8_0_ref>,
      {{"avx2", cpu_has_avx2(), prep_q8_0s, q8_0s_bytes, gemm_q8_0x16_q8_0s_avx2},
       {"avxvnni", cpu_has_avx_vnni(), prep_q8_0s, q8_0s_bytes, gemm_q8_0x16_q8_0s_avxvnni, "avx2"}}});
  check_kind(Kind<block_q4_0x16, block_q4_0>{
      GgmlType::Q4_0, GgmlType::Q8_0, prep_q8_0u, q8_0u_bytes, pack_q4_0_x16, gemm_q4_0x16_q8_0_ref,
      plain_dot<block_q4_0, block_q8_0, vec_dot_q4_0_q8_0_ref>,
      {{"avx512", cpu_has_avx512_vnni(), prep_q8_0u, q8_0u_bytes, gemm_q4_0x16_q8_0}}});
  check_kind(Kind<block_q4_0x16, block_q4_0>{
      GgmlType::Q4_0, GgmlType::Q8_0, prep_q8_0s, q8_0s_bytes, pack_q4_0_x16, gemm_q4_0x16_q8_0s_ref,
      plain_dot<block_q4_0, block_q8_0, vec_dot_q4_0_q8_0_ref>,
      {{"avx2", cpu_has_avx2(), prep_q8_0s, q8_0s_bytes, gemm_q4_0x16_q8_0s_avx2},
       {"avxvnni", cpu_has_avx_vnni(), prep_q8_0s, q8_0s_bytes, gemm_q4_0x16_q8_0s_avxvnni, "avx2"}}});
}

TEST_CASE("IQ4_NL rows (Q4_0's layout) and IQ4_XS rows packed by 16: references, AVX-512 VNNI, AVX2 and AVX-VNNI kernels equal the plain dot products",
          "[kernels][interleaved]") {
  check_kind(Kind<block_q4_0x16, block_iq4_nl>{
      GgmlType::IQ4_NL, GgmlType::Q8_0, prep_q8_0u, q8_0u_bytes, pack_q4_0_x16, gemm_iq4_nlx16_q8_0_ref,
      plain_dot<block_iq4_nl, block_q8_0, vec_dot_iq4_nl_q8_0_ref>,
      {{"avx512", cpu_has_avx512_vnni(), prep_q8_0u, q8_0u_bytes, gemm_iq4_nlx16_q8_0}}});
  check_kind(Kind<block_q4_0x16, block_iq4_nl>{
      GgmlType::IQ4_NL, GgmlType::Q8_0, prep_q8_0s, q8_0s_bytes, pack_q4_0_x16, gemm_iq4_nlx16_q8_0s_ref,
      plain_dot<block_iq4_nl, block_q8_0, vec_dot_iq4_nl_q8_0_ref>,
      {{"avx2", cpu_has_avx2(), prep_q8_0s, q8_0s_bytes, gemm_iq4_nlx16_q8_0s_avx2},
       {"avxvnni", cpu_has_avx_vnni(), prep_q8_0s, q8_0s_bytes, gemm_iq4_nlx16_q8_0s_avxvnni, "avx2"}}});
  check_kind(Kind<block_iq4_xsx16, block_iq4_xs>{
      GgmlType::IQ4_XS, GgmlType::Q8_K, prep_q8_K, q8_K_bytes, pack_iq4_xs_x16, gemm_iq4_xsx16_q8_K_ref,
      plain_dot<block_iq4_xs, block_q8_K, vec_dot_iq4_xs_q8_K_ref>,
      {{"avx512", cpu_has_avx512_vnni(), prep_q8_K, q8_K_bytes, gemm_iq4_xsx16_q8_K},
       {"avx2", cpu_has_avx2(), prep_q8_K, q8_K_bytes, gemm_iq4_xsx16_q8_K_avx2},
       {"avxvnni", cpu_has_avx_vnni(), prep_q8_K, q8_K_bytes, gemm_iq4_xsx16_q8_K_avxvnni, "avx2"}}});
}

TEST_CASE("Q4_1 rows packed by 16: reference, AVX-512 VNNI, AVX2 and AVX-VNNI kernels equal the plain dot products", "[kernels][interleaved]") {
  check_kind(Kind<block_q4_1x16, block_q4_1>{
      GgmlType::Q4_1, GgmlType::Q8_1, prep_q8_1f, q8_1f_bytes, pack_q4_1_x16, gemm_q4_1x16_q8_1_ref,
      plain_dot<block_q4_1, block_q8_1, vec_dot_q4_1_q8_1_ref>,
      {{"avx512", cpu_has_avx512_vnni(), prep_q8_1f, q8_1f_bytes, gemm_q4_1x16_q8_1},
       {"avx2", cpu_has_avx2(), prep_q8_1f, q8_1f_bytes, gemm_q4_1x16_q8_1_avx2},
       {"avxvnni", cpu_has_avx_vnni(), prep_q8_1f, q8_1f_bytes, gemm_q4_1x16_q8_1_avxvnni, "avx2"}}});
}

namespace {

// F16 and BF16 weights: the same packing and kernels but for how a value is widened.
using HalfFn = void (*)(int64_t, const uint16_t*, const void*, size_t, int, float*, size_t);
struct HalfPath {
  const char* path;
  bool available;
  HalfFn single, two;
};
struct HalfKind {
  const char* name;
  uint16_t (*narrow)(float);
  float (*widen)(uint16_t);
  HalfFn single_ref, two_ref;
  std::vector<HalfPath> paths;
};
uint16_t to_bf16(float f) { return fp32_to_bf16(f); }
float from_bf16(uint16_t b) { return bf16_to_fp32(b); }
const HalfKind kHalfKinds[] = {
    {"F16", fp32_to_fp16, fp16_to_fp32, gemm_f16x16_f32_ref, gemm_f16x32_f32_ref,
     {{"avx512", cpu_has_avx512_vnni(), gemm_f16x16_f32, gemm_f16x32_f32},
      {"avx2", cpu_has_avx2(), gemm_f16x16_f32_avx2, gemm_f16x32_f32_avx2}}},
    {"BF16", to_bf16, from_bf16, gemm_bf16x16_f32_ref, gemm_bf16x32_f32_ref,
     {{"avx512", cpu_has_avx512_vnni(), gemm_bf16x16_f32, gemm_bf16x32_f32},
      {"avx2", cpu_has_avx2(), gemm_bf16x16_f32_avx2, gemm_bf16x32_f32_avx2}}},
};

}  // namespace

TEST_CASE("F16 and BF16 rows packed by 16: reference, AVX-512 and AVX2 kernels equal a float dot product",
          "[kernels][interleaved]") {
  for (const HalfKind& kind : kHalfKinds) {
  std::mt19937 rng(31);
  std::normal_distribution<float> g(0.f, 1.f);
  const int64_t n = 320;
  std::vector<uint16_t> w(static_cast<size_t>(n * kPackRows)), packed(w.size());
  constexpr int kMaxTokens = 21;  // past one 16-token tile
  std::vector<float> a(static_cast<size_t>(n * kMaxTokens));
  for (auto& v : w) v = kind.narrow(g(rng));
  for (auto& v : a) v = g(rng);
  pack_f16_x16(w.data(), static_cast<size_t>(n) * 2, n, packed.data());
  for (int ntok : {1, 5, 8, 16, 21}) {
    const size_t stride = kPackRows + 3;
    std::vector<float> ref(static_cast<size_t>(kMaxTokens) * stride, -1.f), fast = ref;
    kind.single_ref(n, packed.data(), a.data(), static_cast<size_t>(n) * 4, ntok, ref.data(), stride);
    for (int t = 0; t < ntok; ++t)
      for (int r = 0; r < kPackRows; ++r) {
        double plain = 0, mag = 0;
        for (int64_t k = 0; k < n; ++k) {
          plain += double(kind.widen(w[static_cast<size_t>(r * n + k)])) * a[static_cast<size_t>(t * n + k)];
          mag += std::fabs(double(kind.widen(w[static_cast<size_t>(r * n + k)])) * a[static_cast<size_t>(t * n + k)]);
        }
        INFO(kind.name << " reference, token " << t << " row " << r);
        CHECK(std::fabs(ref[t * stride + r] - plain) <= 1e-5 * (1 + mag));
      }
    for (const HalfPath& p : kind.paths) {
      if (!p.available) continue;
      std::fill(fast.begin(), fast.end(), -1.f);
      p.single(n, packed.data(), a.data(), static_cast<size_t>(n) * 4, ntok, fast.data(), stride);
      for (size_t i = 0; i < ref.size(); ++i) {
        INFO(kind.name << " " << p.path << " tokens " << ntok << " output " << i);
        if (i % stride >= kPackRows || i / stride >= static_cast<size_t>(ntok)) CHECK(fast[i] == -1.f);
        else CHECK(std::fabs(fast[i] - ref[i]) <= 1e-4f * (1.f + std::fabs(ref[i])));
      }
    }
  }
  }
}

TEST_CASE("F16 and BF16 pairs of 16-row groups: the 32-row kernels give the two 16-row results bit for bit",
          "[kernels][interleaved]") {
  for (const HalfKind& kind : kHalfKinds) {
  std::mt19937 rng(37);
  std::normal_distribution<float> g(0.f, 1.f);
  const int64_t n = 288;
  std::vector<uint16_t> w(static_cast<size_t>(n * 2 * kPackRows)), packed(w.size());
  constexpr int kMaxTokens = 19;
  std::vector<float> a(static_cast<size_t>(n * kMaxTokens));
  for (auto& v : w) v = kind.narrow(g(rng));
  for (auto& v : a) v = g(rng);
  // Two groups laid out one after the other, as the loader packs them.
  pack_f16_x16(w.data(), static_cast<size_t>(n) * 2, n, packed.data());
  pack_f16_x16(w.data() + n * kPackRows, static_cast<size_t>(n) * 2, n, packed.data() + n * kPackRows);
  for (int ntok : {1, 2, 3, 8, 19}) {
    const size_t stride = 2 * kPackRows + 5;
    std::vector<float> ref(static_cast<size_t>(kMaxTokens) * stride, -1.f), pair_ref = ref, singles = ref, pair = ref;
    kind.single_ref(n, packed.data(), a.data(), static_cast<size_t>(n) * 4, ntok, ref.data(), stride);
    kind.single_ref(n, packed.data() + n * kPackRows, a.data(), static_cast<size_t>(n) * 4, ntok, ref.data() + kPackRows,
                    stride);
    kind.two_ref(n, packed.data(), a.data(), static_cast<size_t>(n) * 4, ntok, pair_ref.data(), stride);
    CHECK(pair_ref == ref);
    for (const HalfPath& p : kind.paths) {
      if (!p.available) continue;
      std::fill(singles.begin(), singles.end(), -1.f);
      std::fill(pair.begin(), pair.end(), -1.f);
      p.single(n, packed.data(), a.data(), static_cast<size_t>(n) * 4, ntok, singles.data(), stride);
      p.single(n, packed.data() + n * kPackRows, a.data(), static_cast<size_t>(n) * 4, ntok, singles.data() + kPackRows,
               stride);
      p.two(n, packed.data(), a.data(), static_cast<size_t>(n) * 4, ntok, pair.data(), stride);
      INFO(kind.name << " " << p.path << " tokens " << ntok);
      CHECK(std::memcmp(pair.data(), singles.data(), 4 * pair.size()) == 0);
      for (size_t i = 0; i < ref.size(); ++i)
        if (i % stride < 2 * kPackRows && i / stride < static_cast<size_t>(ntok))
          CHECK(std::fabs(pair[i] - ref[i]) <= 1e-4f * (1.f + std::fabs(ref[i])));
    }
  }
  }
}

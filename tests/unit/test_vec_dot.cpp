// Integer-domain dot products: the AVX2 paths against the scalar references, and the
// references against the float dot product of the dequantized values.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "cpu/cpu_features.h"
#include "cpu/gemm.h"
#include "cpu/vec_dot.h"
#include "llmkit/quant.h"
#include "quant/kernel_ops.h"

using namespace llmkit;
using namespace llmkit::kernels;

TEST_CASE("Q8_0 and Q4_0 dot products: fast path, reference, and float agree", "[kernels][vec_dot]") {
  INFO("path: " << vec_dot_path());
  std::mt19937 rng(11);
  std::normal_distribution<float> g(0.f, 1.f);
  for (int64_t n : {32, 256, 4096}) {
    std::vector<float> w(static_cast<size_t>(n)), a(w.size());
    for (auto& v : w) v = g(rng);
    for (auto& v : a) v = g(rng);
    w[5] = 40.f;  // an outlier block
    std::vector<block_q8_0> wq8(static_cast<size_t>(n / 32)), aq(wq8.size());
    std::vector<block_q4_0> wq4(wq8.size());
    quantize_row(GgmlType::Q8_0, w.data(), wq8.data(), n);
    quantize_row(GgmlType::Q4_0, w.data(), wq4.data(), n);
    quantize_row(GgmlType::Q8_0, a.data(), aq.data(), n);
    std::vector<float> wd8(w.size()), wd4(w.size()), ad(w.size());
    dequantize_row(GgmlType::Q8_0, wq8.data(), wd8.data(), n);
    dequantize_row(GgmlType::Q4_0, wq4.data(), wd4.data(), n);
    dequantize_row(GgmlType::Q8_0, aq.data(), ad.data(), n);
    double f8 = 0, f4 = 0, mag = 0;
    for (size_t i = 0; i < w.size(); ++i) {
      f8 += double(wd8[i]) * ad[i];
      f4 += double(wd4[i]) * ad[i];
      mag += std::fabs(double(wd8[i]) * ad[i]);
    }
    INFO("n = " << n);
    const double tol = 1e-5 * (mag + 1);
    CHECK(std::fabs(vec_dot_q8_0_q8_0_ref(n, wq8.data(), aq.data()) - f8) <= tol);
    CHECK(std::fabs(vec_dot_q8_0_q8_0(n, wq8.data(), aq.data()) - f8) <= tol);
    CHECK(std::fabs(vec_dot_q4_0_q8_0_ref(n, wq4.data(), aq.data()) - f4) <= tol);
    CHECK(std::fabs(vec_dot_q4_0_q8_0(n, wq4.data(), aq.data()) - f4) <= tol);
  }
}

TEST_CASE("Q4_K and Q6_K dot products against Q8_K activations", "[kernels][vec_dot]") {
  std::mt19937 rng(13);
  std::student_t_distribution<float> g(4.f);
  for (int64_t n : {256, 4096}) {
    std::vector<float> w(static_cast<size_t>(n)), a(w.size());
    for (auto& v : w) v = 0.02f * g(rng);
    for (auto& v : a) v = g(rng);
    std::vector<block_q4_K> w4(static_cast<size_t>(n / 256));
    std::vector<block_q6_K> w6(w4.size());
    std::vector<block_q8_K> aq(w4.size());
    quantize_row(GgmlType::Q4_K, w.data(), w4.data(), n);
    quantize_row(GgmlType::Q6_K, w.data(), w6.data(), n);
    quantize_row(GgmlType::Q8_K, a.data(), aq.data(), n);
    std::vector<float> d4(w.size()), d6(w.size()), ad(w.size());
    dequantize_row(GgmlType::Q4_K, w4.data(), d4.data(), n);
    dequantize_row(GgmlType::Q6_K, w6.data(), d6.data(), n);
    dequantize_row(GgmlType::Q8_K, aq.data(), ad.data(), n);
    double f4 = 0, f6 = 0, mag = 0;
    for (size_t i = 0; i < w.size(); ++i) {
      f4 += double(d4[i]) * ad[i];
      f6 += double(d6[i]) * ad[i];
      mag += std::fabs(double(d4[i]) * ad[i]) + std::fabs(double(d6[i]) * ad[i]);
    }
    INFO("n = " << n << ", path " << vec_dot_path());
    const double tol = 1e-5 * (mag + 1);
    CHECK(std::fabs(vec_dot_q4_K_q8_K_ref(n, w4.data(), aq.data()) - f4) <= tol);
    CHECK(std::fabs(vec_dot_q4_K_q8_K(n, w4.data(), aq.data()) - f4) <= tol);
    CHECK(std::fabs(vec_dot_q6_K_q8_K_ref(n, w6.data(), aq.data()) - f6) <= tol);
    CHECK(std::fabs(vec_dot_q6_K_q8_K(n, w6.data(), aq.data()) - f6) <= tol);
  }
}

namespace {

using DotFn = float (*)(int64_t, const void*, const void*);
template <auto F, class W, class A> float call(int64_t n, const void* w, const void* a) {
  return F(n, static_cast<const W*>(w), static_cast<const A*>(a));
}

struct DotCase {
  GgmlType type, act;
  DotFn ref, fast;
};

// The reference against the float dot product of the dequantized values; the fast path against
// the reference; and the QuantOps entry the engine uses is the fast path.
void check_dot(const DotCase& c, int64_t n, std::mt19937& rng) {
  std::student_t_distribution<float> g(4.f);
  std::vector<float> w(static_cast<size_t>(n)), a(w.size());
  for (auto& v : w) v = 0.02f * g(rng) + 0.003f;  // an offset exercises the minimum terms
  for (auto& v : a) v = g(rng);
  std::vector<uint8_t> wq(ggml_bytes(c.type, static_cast<uint64_t>(n))), aq(ggml_bytes(c.act, static_cast<uint64_t>(n)));
  quantize_row(c.type, w.data(), wq.data(), n);
  quantize_row(c.act, a.data(), aq.data(), n);
  std::vector<float> wd(w.size()), ad(w.size());
  dequantize_row(c.type, wq.data(), wd.data(), n);
  dequantize_row(c.act, aq.data(), ad.data(), n);
  double f = 0, mag = 0;
  for (size_t i = 0; i < w.size(); ++i) f += double(wd[i]) * ad[i], mag += std::fabs(double(wd[i]) * ad[i]);
  INFO(ggml_type_name(c.type) << " n = " << n << ", path " << vec_dot_path());
  double tol = 1e-5 * (mag + 1);
  if (c.act == GgmlType::Q8_1) {
    // Q8_1 keeps each block's s = d * sum(codes) in F16, as ggml does: the minimum's term is off
    // by at most |m| |s| 2^-11 per block (|m| at most the largest weight).
    double wmax = 0;
    for (float v : wd) wmax = std::max(wmax, std::fabs(double(v)));
    for (size_t b = 0; b < w.size() / 32; ++b) {
      double sb = 0;
      for (size_t i = 32 * b; i < 32 * b + 32; ++i) sb += ad[i];
      tol += wmax * std::fabs(sb) * std::ldexp(1.0, -10);
    }
  }
  const float ref = c.ref(n, wq.data(), aq.data()), fast = c.fast(n, wq.data(), aq.data());
  CHECK(std::fabs(ref - f) <= tol);
  CHECK(std::fabs(fast - ref) <= tol);
  const QuantOps* ops = quant_ops(c.type);
  REQUIRE(ops->vec_dot != nullptr);
  CHECK(ops->vec_dot_type == c.act);
  CHECK(ops->vec_dot(n, wq.data(), aq.data()) == fast);
}

}  // namespace

TEST_CASE("Q4_1, Q5_1 (Q8_1 activations), Q5_0, IQ4_NL (Q8_0), Q2_K, Q3_K, Q5_K, IQ4_XS (Q8_K): fast path, reference, float", "[kernels][vec_dot]") {
  const DotCase cases[] = {
      {GgmlType::Q4_1, GgmlType::Q8_1, call<vec_dot_q4_1_q8_1_ref, block_q4_1, block_q8_1>, call<vec_dot_q4_1_q8_1, block_q4_1, block_q8_1>},
      {GgmlType::Q5_0, GgmlType::Q8_0, call<vec_dot_q5_0_q8_0_ref, block_q5_0, block_q8_0>, call<vec_dot_q5_0_q8_0, block_q5_0, block_q8_0>},
      {GgmlType::Q5_1, GgmlType::Q8_1, call<vec_dot_q5_1_q8_1_ref, block_q5_1, block_q8_1>, call<vec_dot_q5_1_q8_1, block_q5_1, block_q8_1>},
      {GgmlType::Q2_K, GgmlType::Q8_K, call<vec_dot_q2_K_q8_K_ref, block_q2_K, block_q8_K>, call<vec_dot_q2_K_q8_K, block_q2_K, block_q8_K>},
      {GgmlType::Q3_K, GgmlType::Q8_K, call<vec_dot_q3_K_q8_K_ref, block_q3_K, block_q8_K>, call<vec_dot_q3_K_q8_K, block_q3_K, block_q8_K>},
      {GgmlType::Q5_K, GgmlType::Q8_K, call<vec_dot_q5_K_q8_K_ref, block_q5_K, block_q8_K>, call<vec_dot_q5_K_q8_K, block_q5_K, block_q8_K>},
      {GgmlType::IQ4_NL, GgmlType::Q8_0, call<vec_dot_iq4_nl_q8_0_ref, block_iq4_nl, block_q8_0>,
       call<vec_dot_iq4_nl_q8_0, block_iq4_nl, block_q8_0>},
      {GgmlType::IQ4_XS, GgmlType::Q8_K, call<vec_dot_iq4_xs_q8_K_ref, block_iq4_xs, block_q8_K>,
       call<vec_dot_iq4_xs_q8_K, block_iq4_xs, block_q8_K>},
  };
  std::mt19937 rng(17);
  for (const DotCase& c : cases)
    for (int64_t n : {256, 4096}) check_dot(c, n, rng);
}

TEST_CASE("Q4_K and Q6_K several-token kernels equal one dot product per token", "[kernels][gemm]") {
  std::mt19937 rng(23);
  std::student_t_distribution<float> g(4.f);
  const int64_t n = 2048;
  std::vector<float> w(static_cast<size_t>(n)), a(static_cast<size_t>(n * kGemmTokens));
  for (auto& v : w) v = 0.02f * g(rng) + 0.002f;
  for (auto& v : a) v = g(rng);
  const size_t a_stride = ggml_bytes(GgmlType::Q8_K, static_cast<uint64_t>(n));
  std::vector<uint8_t> aq(a_stride * kGemmTokens);
  for (int t = 0; t < kGemmTokens; ++t) quantize_row(GgmlType::Q8_K, a.data() + t * n, aq.data() + t * a_stride, n);
  struct Case {
    GgmlType type;
    GemmRowFn ref, fast;
  };
  std::vector<Case> cases{{GgmlType::Q4_K, gemm_q4_K_q8_K_ref, gemm_q4_K_q8_K}, {GgmlType::Q6_K, gemm_q6_K_q8_K_ref, gemm_q6_K_q8_K}};
  if (cpu_has_avx512_vnni()) {
    cases.push_back({GgmlType::Q4_K, gemm_q4_K_q8_K_ref, gemm_q4_K_q8_K_vnni});
    cases.push_back({GgmlType::Q6_K, gemm_q6_K_q8_K_ref, gemm_q6_K_q8_K_vnni});
  } else {
    WARN("no AVX-512 VNNI on this CPU: its several-token kernels were not tested");
  }
  for (const Case& c : cases) {
    std::vector<uint8_t> wq(ggml_bytes(c.type, static_cast<uint64_t>(n)));
    quantize_row(c.type, w.data(), wq.data(), n);
    for (int ntok = 1; ntok <= kGemmTokens; ++ntok) {
      // Outputs strided as in a matmul: token t's value at y[t * stride].
      const size_t stride = 3;
      std::vector<float> ref(static_cast<size_t>(kGemmTokens) * stride, -1.f), fast = ref;
      c.ref(n, wq.data(), aq.data(), a_stride, ntok, ref.data(), stride);
      c.fast(n, wq.data(), aq.data(), a_stride, ntok, fast.data(), stride);
      INFO(ggml_type_name(c.type) << " tokens " << ntok);
      for (size_t i = 0; i < ref.size(); ++i) {
        if (i % stride || i / stride >= static_cast<size_t>(ntok)) {
          CHECK(fast[i] == -1.f);  // nothing written between or past the outputs
          continue;
        }
        CHECK(std::fabs(fast[i] - ref[i]) <= 1e-4f * (1.f + std::fabs(ref[i])));
      }
    }
  }
}

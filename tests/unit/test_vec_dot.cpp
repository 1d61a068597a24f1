// Integer-domain dot products: the AVX2 paths against the scalar references, and the
// references against the float dot product of the dequantized values.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "cpu/vec_dot.h"
#include "llmkit/quant.h"

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

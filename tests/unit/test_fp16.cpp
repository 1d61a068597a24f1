// fp16/bf16 kernels: the fast row paths against the scalar reference, and the reference against
// IEEE facts.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "cpu/dot.h"
#include "cpu/fp16.h"

using namespace llmkit::kernels;

TEST_CASE("fp16 scalar reference: IEEE binary16 facts", "[kernels][fp16]") {
  CHECK(fp16_to_fp32(0x3C00) == 1.0f);
  CHECK(fp16_to_fp32(0x7BFF) == 65504.0f);
  CHECK(fp16_to_fp32(0x0001) == std::ldexp(1.0f, -24));
  CHECK(fp16_to_fp32(0x0400) == std::ldexp(1.0f, -14));
  CHECK(std::isinf(fp16_to_fp32(0x7C00)));
  CHECK(std::isnan(fp16_to_fp32(0x7E00)));
  CHECK(std::signbit(fp16_to_fp32(0x8000)));
  CHECK(fp32_to_fp16(65504.0f) == 0x7BFF);
  CHECK(fp32_to_fp16(65519.0f) == 0x7BFF);   // below the halfway point to 65536
  CHECK(fp32_to_fp16(65520.0f) == 0x7C00);   // ties to even: rounds up to infinity
  CHECK(fp32_to_fp16(std::ldexp(1.0f, -25)) == 0x0000);  // tie between 0 and the smallest subnormal: even
  CHECK(fp32_to_fp16(std::ldexp(3.0f, -26)) == 0x0001);
  CHECK(fp32_to_fp16(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);  // tie: even mantissa
  CHECK(fp32_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3C02);
  CHECK(fp32_to_fp16(-0.0f) == 0x8000);
  CHECK((fp32_to_fp16(std::numeric_limits<float>::quiet_NaN()) & 0x7E00) == 0x7E00);
  // Every finite half survives half -> float -> half.
  for (uint32_t h = 0; h < 65536; ++h) {
    if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF)) continue;
    REQUIRE(fp32_to_fp16(fp16_to_fp32(static_cast<uint16_t>(h))) == h);
  }
}

TEST_CASE("fp16 row conversions equal the scalar reference bit for bit", "[kernels][fp16]") {
  INFO("fast path: " << fp16_path());
  std::vector<uint16_t> h(65536 + 5);
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint16_t>(i * 40503u);
  std::vector<float> a(h.size()), b(h.size());
  fp16_to_fp32_row(h.data(), a.data(), h.size());
  fp16_to_fp32_row_ref(h.data(), b.data(), h.size());
  CHECK(std::memcmp(a.data(), b.data(), a.size() * 4) == 0);

  std::mt19937 rng(42);
  std::vector<float> f(1 << 18);
  for (size_t i = 0; i < f.size(); ++i) {
    uint32_t u = rng();
    if (i % 4 == 0) u = (u & 0x807FFFFF) | ((100 + rng() % 60) << 23);  // near the half range
    std::memcpy(&f[i], &u, 4);
  }
  f[0] = 65520.0f;
  f[1] = std::ldexp(1.0f, -25);
  f[2] = std::numeric_limits<float>::infinity();
  f[3] = std::numeric_limits<float>::quiet_NaN();
  std::vector<uint16_t> x(f.size()), y(f.size());
  fp32_to_fp16_row(f.data(), x.data(), f.size());
  fp32_to_fp16_row_ref(f.data(), y.data(), f.size());
  size_t mismatches = 0;
  for (size_t i = 0; i < f.size(); ++i) mismatches += x[i] != y[i];
  CHECK(mismatches == 0);
}

TEST_CASE("bf16 conversions round to nearest even and keep NaN", "[kernels][bf16]") {
  CHECK(fp32_to_bf16(1.0f) == 0x3F80);
  CHECK(bf16_to_fp32(0x3F80) == 1.0f);
  uint32_t tie = 0x3F808000;  // exactly halfway between 0x3F80 and 0x3F81: even wins
  float t;
  std::memcpy(&t, &tie, 4);
  CHECK(fp32_to_bf16(t) == 0x3F80);
  uint32_t above = 0x3F818001;
  std::memcpy(&t, &above, 4);
  CHECK(fp32_to_bf16(t) == 0x3F82);
  CHECK(std::isnan(bf16_to_fp32(fp32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  uint32_t snan = 0x7F800001;  // a NaN whose payload sits in the dropped bits stays NaN
  std::memcpy(&t, &snan, 4);
  CHECK(std::isnan(bf16_to_fp32(fp32_to_bf16(t))));
  std::vector<float> f = {0.5f, -2.25f, 3e38f, 1e-40f};
  std::vector<uint16_t> b(f.size());
  std::vector<float> back(f.size());
  fp32_to_bf16_row(f.data(), b.data(), f.size());
  bf16_to_fp32_row(b.data(), back.data(), f.size());
  for (size_t i = 0; i < f.size(); ++i) CHECK(b[i] == fp32_to_bf16(f[i]));
  CHECK(back[0] == 0.5f);
  CHECK(back[1] == -2.25f);
}

TEST_CASE("the 8-lane dot product agrees with the scalar reference", "[kernels][dot]") {
  std::mt19937 rng(5);
  std::normal_distribution<float> g(0.f, 1.f);
  for (int64_t n : {0, 1, 7, 8, 15, 16, 17, 64, 1000, 4097}) {
    std::vector<float> a(static_cast<size_t>(n)), b(a.size());
    double exact = 0, mag = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      a[i] = g(rng);
      b[i] = g(rng);
      exact += double(a[i]) * b[i];
      mag += std::fabs(double(a[i]) * b[i]);
    }
    INFO("n = " << n);
    // Both are float sums in different orders: each within float rounding of the exact value.
    const double tol = 1e-6 * (mag + 1);
    CHECK(std::fabs(dot_f32(a.data(), b.data(), n) - exact) <= tol);
    CHECK(std::fabs(dot_f32_ref(a.data(), b.data(), n) - exact) <= 4 * tol);
  }
}

TEST_CASE("the BF16 x F32 dot product agrees with the scalar reference", "[kernels][dot]") {
  std::mt19937 rng(6);
  std::normal_distribution<float> g(0.f, 1.f);
  for (int64_t n : {0, 1, 7, 8, 31, 32, 33, 64, 1000, 4097}) {
    std::vector<uint16_t> w(static_cast<size_t>(n));
    std::vector<float> x(w.size());
    double exact = 0, mag = 0;
    for (size_t i = 0; i < w.size(); ++i) {
      w[i] = fp32_to_bf16(g(rng));
      x[i] = g(rng);
      exact += double(bf16_to_fp32(w[i])) * x[i];
      mag += std::fabs(double(bf16_to_fp32(w[i])) * x[i]);
    }
    INFO("n = " << n);
    const double tol = 1e-6 * (mag + 1);
    CHECK(std::fabs(dot_bf16_f32(w.data(), x.data(), n) - exact) <= tol);
    CHECK(std::fabs(dot_bf16_f32_ref(w.data(), x.data(), n) - exact) <= 4 * tol);
  }
}

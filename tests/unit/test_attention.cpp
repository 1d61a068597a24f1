// Attention's inner loops: the vector versions against the scalar references.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "cpu/attention.h"

using namespace llmkit::kernels;

TEST_CASE("blocked attention (transposed keys, up to 8 queries): vector paths equal the references", "[kernels][attention]") {
  std::mt19937 rng(7);
  std::normal_distribution<float> g(0.f, 1.f);
  for (int64_t d : {8, 64, 80, 128, 13, 40}) {
    for (int64_t n : {1, 7, 8, 16, 37, 100}) {
      for (int nq = 1; nq <= 8; ++nq) {
        const size_t q_stride = static_cast<size_t>(d) + 3, kt_stride = static_cast<size_t>((n + 15) / 16 * 16) + 5, v_stride = static_cast<size_t>(d) * 2;
        const size_t p_stride = static_cast<size_t>(n) + 2, o_stride = static_cast<size_t>(d) + 1;
        std::vector<float> q(q_stride * 8), kt(kt_stride * static_cast<size_t>(d)), v(v_stride * static_cast<size_t>(n)),
            p(p_stride * 8);
        for (auto* x : {&q, &kt, &v, &p})
          for (auto& e : *x) e = g(rng);
        std::vector<float> s_ref(p_stride * 8, 9.f), s = s_ref;
        attn_scores_kt_ref(q.data(), q_stride, nq, kt.data(), kt_stride, n, d, 0.125f, s_ref.data(), p_stride);
        attn_scores_kt(q.data(), q_stride, nq, kt.data(), kt_stride, n, d, 0.125f, s.data(), p_stride);
        std::vector<float> o_ref(o_stride * 8, 0.5f), o = o_ref;
        attn_weighted_sum_multi_ref(p.data(), p_stride, nq, v.data(), v_stride, n, d, o_ref.data(), o_stride);
        attn_weighted_sum_multi(p.data(), p_stride, nq, v.data(), v_stride, n, d, o.data(), o_stride);
        INFO("d " << d << " n " << n << " nq " << nq);
        for (size_t j = 0; j < s.size(); ++j) CHECK(std::fabs(s[j] - s_ref[j]) <= 1e-5f * (1 + std::sqrt(static_cast<float>(d))));
        for (size_t i = 0; i < o.size(); ++i) CHECK(std::fabs(o[i] - o_ref[i]) <= 1e-5f * (1 + std::sqrt(static_cast<float>(n))));
        // A query's scores do not depend on how many queries share its block.
        std::vector<float> alone(p_stride, 0.f);
        attn_scores_kt(q.data(), q_stride, 1, kt.data(), kt_stride, n, d, 0.125f, alone.data(), p_stride);
        for (int64_t j = 0; j < n; ++j) CHECK(alone[static_cast<size_t>(j)] == s[static_cast<size_t>(j)]);
      }
    }
  }
}

TEST_CASE("softmax: the vector exp and the sum against a double-precision reference", "[kernels][attention]") {
  std::mt19937 rng(11);
  std::normal_distribution<float> g(0.f, 6.f);
  for (int64_t n : {1, 5, 16, 17, 100, 513}) {
    std::vector<float> s(static_cast<size_t>(n));
    for (auto& e : s) e = g(rng);
    s[static_cast<size_t>(n) / 2] = -200.f;  // far below the maximum: its exp flushes to 0
    float mx = -INFINITY;
    for (float e : s) mx = std::max(mx, e);
    double sum = 0;
    std::vector<double> ref(s.size());  // from x - max rounded to float, as the kernel takes it
    for (size_t j = 0; j < s.size(); ++j) sum += ref[j] = std::exp(double(s[j] - mx));
    softmax_inplace(s.data(), n);
    INFO("n " << n);
    double total = 0;
    for (size_t j = 0; j < s.size(); ++j) {
      CHECK(std::fabs(s[j] - ref[j] / sum) <= 4e-7 * ref[j] / sum + 1e-37);
      total += s[j];
    }
    CHECK(std::fabs(total - 1) < 1e-5);
  }
  // exp over the whole range it is used on: x - max in [-87, 0].
  std::vector<float> x(2);
  for (float v = -87.f; v <= 0.f; v += 0.0137f) {
    x[0] = 0.f, x[1] = v;  // the maximum is 0, so s[1] / s[0] = exp(v)
    softmax_inplace(x.data(), 2);
    const double want = std::exp(double(v));
    CHECK(std::fabs(double(x[1]) / x[0] - want) <= 5e-7 * want);
  }
}

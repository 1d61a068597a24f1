// Attention's inner loops: the vector versions against the scalar references.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "cpu/attention.h"

using namespace llmkit::kernels;

TEST_CASE("attention scores and weighted sums: vector paths equal the references", "[kernels][attention]") {
  std::mt19937 rng(5);
  std::normal_distribution<float> g(0.f, 1.f);
  for (int64_t d : {8, 64, 80, 128, 13}) {
    for (int64_t n : {1, 3, 4, 37}) {
      const size_t stride = static_cast<size_t>(d) * 3;  // rows of several heads, as in the cache
      std::vector<float> q(static_cast<size_t>(d)), k(stride * static_cast<size_t>(n)), v(k.size()), p(static_cast<size_t>(n));
      for (auto* x : {&q, &k, &v, &p})
        for (auto& e : *x) e = g(rng);
      std::vector<float> s_ref(static_cast<size_t>(n)), s(s_ref.size());
      attn_scores_ref(q.data(), k.data(), stride, n, d, 0.125f, s_ref.data());
      attn_scores(q.data(), k.data(), stride, n, d, 0.125f, s.data());
      std::vector<float> o_ref(static_cast<size_t>(d), 0.5f), o = o_ref;
      attn_weighted_sum_ref(p.data(), v.data(), stride, n, d, o_ref.data());
      attn_weighted_sum(p.data(), v.data(), stride, n, d, o.data());
      INFO("d " << d << " n " << n);
      for (size_t j = 0; j < s.size(); ++j) CHECK(std::fabs(s[j] - s_ref[j]) <= 1e-5f * (1 + std::sqrt(static_cast<float>(d))));
      for (size_t i = 0; i < o.size(); ++i) CHECK(std::fabs(o[i] - o_ref[i]) <= 1e-5f * (1 + std::sqrt(static_cast<float>(n))));
    }
  }
}

TEST_CASE("blocked attention (transposed keys, up to 4 queries): vector paths equal the references", "[kernels][attention]") {
  std::mt19937 rng(7);
  std::normal_distribution<float> g(0.f, 1.f);
  for (int64_t d : {8, 64, 80, 13}) {
    for (int64_t n : {1, 7, 8, 16, 37, 100}) {
      for (int nq = 1; nq <= 4; ++nq) {
        const size_t q_stride = static_cast<size_t>(d) + 3, kt_stride = static_cast<size_t>((n + 15) / 16 * 16) + 5, v_stride = static_cast<size_t>(d) * 2;
        const size_t p_stride = static_cast<size_t>(n) + 2, o_stride = static_cast<size_t>(d) + 1;
        std::vector<float> q(q_stride * 4), kt(kt_stride * static_cast<size_t>(d)), v(v_stride * static_cast<size_t>(n)),
            p(p_stride * 4);
        for (auto* x : {&q, &kt, &v, &p})
          for (auto& e : *x) e = g(rng);
        std::vector<float> s_ref(p_stride * 4, 9.f), s = s_ref;
        attn_scores_kt_ref(q.data(), q_stride, nq, kt.data(), kt_stride, n, d, 0.125f, s_ref.data(), p_stride);
        attn_scores_kt(q.data(), q_stride, nq, kt.data(), kt_stride, n, d, 0.125f, s.data(), p_stride);
        std::vector<float> o_ref(o_stride * 4, 0.5f), o = o_ref;
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

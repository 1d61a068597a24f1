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

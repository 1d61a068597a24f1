// Attention's inner loops: the vector versions against the scalar references.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "cpu/attention.h"
#include "cpu/fp16.h"

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

TEST_CASE("keys in the cache's blocks of 16 (F16 and F32) give the scores of transposed keys, bit for bit", "[kernels][attention]") {
  std::mt19937 rng(13);
  std::normal_distribution<float> g(0.f, 1.f);
  for (int64_t d : {16, 64, 80}) {
    for (int64_t n : {1, 15, 16, 33, 100}) {
      // Two heads of d in each block (block stride 2 d 16), the second one read.
      const int64_t blocks = (n + 15) / 16, heads = 2;
      const size_t block = static_cast<size_t>(heads * d * 16), kt_stride = static_cast<size_t>(blocks * 16);
      std::vector<uint16_t> kb(block * static_cast<size_t>(blocks));
      for (auto& h : kb) h = fp32_to_fp16(g(rng));
      std::vector<float> kbf(kb.size()), kt(kt_stride * static_cast<size_t>(d));
      for (size_t i = 0; i < kb.size(); ++i) kbf[i] = fp16_to_fp32(kb[i]);
      for (int64_t j = 0; j < blocks * 16; ++j)
        for (int64_t i = 0; i < d; ++i)
          kt[static_cast<size_t>(i) * kt_stride + static_cast<size_t>(j)] =
              kbf[static_cast<size_t>(j / 16) * block + static_cast<size_t>((d + i) * 16 + j % 16)];
      for (int nq : {1, 3, 8}) {
        std::vector<float> q(static_cast<size_t>(d) * 8);
        for (auto& e : q) e = g(rng);
        const size_t stride = static_cast<size_t>(n) + 1;
        std::vector<float> want(stride * 8, 7.f), got16 = want, got32 = want;
        attn_scores_kt(q.data(), static_cast<size_t>(d), nq, kt.data(), kt_stride, n, d, 0.25f, want.data(), stride);
        attn_scores_kb(q.data(), static_cast<size_t>(d), nq, kb.data() + d * 16, block, n, d, 0.25f, got16.data(), stride);
        attn_scores_kb(q.data(), static_cast<size_t>(d), nq, kbf.data() + d * 16, block, n, d, 0.25f, got32.data(), stride);
        INFO("d " << d << " n " << n << " nq " << nq);
        CHECK(got16 == want);
        CHECK(got32 == want);
      }
      // Values as F16 rows against the same values as F32.
      std::vector<uint16_t> v16(static_cast<size_t>(n * d));
      for (auto& h : v16) h = fp32_to_fp16(g(rng));
      std::vector<float> v32(v16.size()), p(static_cast<size_t>(n) * 2);
      for (size_t i = 0; i < v16.size(); ++i) v32[i] = fp16_to_fp32(v16[i]);
      for (auto& e : p) e = g(rng);
      std::vector<float> o16(static_cast<size_t>(d) * 2, 0.f), o32 = o16;
      attn_weighted_sum_multi(p.data(), static_cast<size_t>(n), 2, v16.data(), static_cast<size_t>(d), n, d, o16.data(), static_cast<size_t>(d));
      attn_weighted_sum_multi(p.data(), static_cast<size_t>(n), 2, v32.data(), static_cast<size_t>(d), n, d, o32.data(), static_cast<size_t>(d));
      CHECK(o16 == o32);
    }
  }
}

TEST_CASE("a softmax over keys in parts, merged, equals one softmax over all of them", "[kernels][attention]") {
  std::mt19937 rng(17);
  std::normal_distribution<float> g(0.f, 4.f);
  const int64_t d = 24, nq = 3;
  for (const std::vector<int64_t>& sizes : {std::vector<int64_t>{1024, 1024, 300}, {1024, 5}, {7}, {1024, 1024, 1024, 1024}}) {
    int64_t n = 0;
    for (int64_t k : sizes) n += k;
    std::vector<float> s(static_cast<size_t>(nq * n)), v(static_cast<size_t>(n * d));
    for (auto& e : s) e = g(rng);
    for (auto& e : v) e = g(rng) / 4;
    s[5] = 40.f;  // one key far above the rest in one part
    // The reference: one softmax per query over all keys, then the weighted sum.
    std::vector<float> p = s, want(static_cast<size_t>(nq * d), 0.f);
    for (int64_t r = 0; r < nq; ++r) softmax_inplace(p.data() + r * n, n);
    attn_weighted_sum_multi_ref(p.data(), static_cast<size_t>(n), static_cast<int>(nq), v.data(), static_cast<size_t>(d), n, d,
                                want.data(), static_cast<size_t>(d));
    // The parts: each its own unnormalised softmax and weighted sum.
    std::vector<std::vector<float>> o(sizes.size(), std::vector<float>(static_cast<size_t>(nq * d), 0.f)),
        m(sizes.size(), std::vector<float>(static_cast<size_t>(nq)));
    std::vector<std::vector<double>> sums(sizes.size(), std::vector<double>(static_cast<size_t>(nq)));
    std::vector<AttnPart> parts;
    int64_t j0 = 0;
    for (size_t k = 0; k < sizes.size(); ++k) {
      std::vector<float> e(static_cast<size_t>(nq * sizes[k]));
      for (int64_t r = 0; r < nq; ++r) {
        std::copy_n(s.begin() + r * n + j0, sizes[k], e.begin() + r * sizes[k]);
        sums[k][static_cast<size_t>(r)] = exp_shifted_inplace(e.data() + r * sizes[k], sizes[k], &m[k][static_cast<size_t>(r)]);
      }
      attn_weighted_sum_multi(e.data(), static_cast<size_t>(sizes[k]), static_cast<int>(nq), v.data() + j0 * d,
                              static_cast<size_t>(d), sizes[k], d, o[k].data(), static_cast<size_t>(d));
      parts.push_back(AttnPart{o[k].data(), m[k].data(), sums[k].data()});
      j0 += sizes[k];
    }
    std::vector<float> got(static_cast<size_t>(nq * d), 9.f);
    attn_merge_parts(parts.data(), static_cast<int64_t>(parts.size()), nq, d, got.data());
    INFO("parts " << sizes.size() << " keys " << n);
    for (size_t i = 0; i < got.size(); ++i) CHECK(std::fabs(got[i] - want[i]) <= 2e-6f * (1.f + std::fabs(want[i])));
  }
}

// oneDNN's F32 and BF16 products against the scalar reference (double sums), over shapes that
// are not multiples of any block size and token counts from one to a prompt's.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "cpu/fp16.h"
#include "onednn/onednn_matmul.h"

using namespace llmkit::kernels;

namespace {

void check(onednn::WeightType type, int64_t in, int64_t out, int64_t n) {
  std::mt19937 rng(static_cast<uint32_t>(in * 131 + out * 7 + n));
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n * in)), wf(static_cast<size_t>(out * in));
  for (float& v : x) v = dist(rng);
  for (float& v : wf) v = dist(rng) * 0.05f;
  std::vector<uint16_t> wb(wf.size());
  for (size_t i = 0; i < wf.size(); ++i) wb[i] = fp32_to_bf16(wf[i]);
  const void* w = type == onednn::WeightType::BF16 ? static_cast<const void*>(wb.data()) : wf.data();
  std::vector<float> got(static_cast<size_t>(n * out), NAN), want(got.size());
  onednn::Product p(type, w, in, out);
  std::vector<uint16_t> xb(x.size());  // BF16 weights take activations already rounded to BF16
  fp32_to_bf16_row(x.data(), xb.data(), xb.size());
  p.run(type == onednn::WeightType::BF16 ? static_cast<const void*>(xb.data()) : x.data(), n, got.data());
  onednn::product_ref(type, w, in, out, x.data(), n, want.data());
  // Products of BF16 values are exact in F32; what differs is the order of the sums.
  double worst = 0;
  for (int64_t t = 0; t < n; ++t)
    for (int64_t o = 0; o < out; ++o) {
      double scale = 0;
      for (int64_t k = 0; k < in; ++k) scale += std::fabs(double(x[t * in + k]) * double(wf[o * in + k]));
      const size_t i = static_cast<size_t>(t * out + o);
      worst = std::max(worst, std::fabs(double(got[i]) - double(want[i])) / (scale + 1e-30));
    }
  INFO((type == onednn::WeightType::BF16 ? "BF16" : "F32") << " in " << in << " out " << out << " n " << n << " impl "
                                                            << p.implementation(n));
  CHECK(worst < 1e-5);
}

}  // namespace

TEST_CASE("oneDNN F32 and BF16 products equal the scalar reference", "[onednn][kernels]") {
  for (auto type : {onednn::WeightType::F32, onednn::WeightType::BF16})
    for (int64_t in : {64, 100, 576})
      for (int64_t out : {37, 64, 200})
        for (int64_t n : {1, 3, 7, 64}) check(type, in, out, n);
}

TEST_CASE("oneDNN reuses a product for any token count, in any order", "[onednn][kernels]") {
  std::vector<float> w(96 * 40);
  for (size_t i = 0; i < w.size(); ++i) w[i] = std::sin(0.1f * float(i));
  onednn::Product p(onednn::WeightType::F32, w.data(), 96, 40);
  for (int64_t n : {5, 1, 5, 17}) {
    std::vector<float> x(static_cast<size_t>(n * 96)), got(static_cast<size_t>(n * 40)), want(got.size());
    for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.07f * float(i));
    p.run(x.data(), n, got.data());
    onednn::product_ref(onednn::WeightType::F32, w.data(), 96, 40, x.data(), n, want.data());
    for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(1e-4));
  }
}

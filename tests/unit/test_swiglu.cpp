// SwiGLU: the 16-lane version (its own exp) against the std::exp reference.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "cpu/swiglu.h"

using namespace llmkit::kernels;

TEST_CASE("swiglu: the vector path equals the reference to a few ulp", "[kernels][swiglu]") {
  std::mt19937 rng(13);
  std::normal_distribution<float> g(0.f, 4.f);
  for (int64_t n : {1, 15, 16, 33, 5632}) {
    std::vector<float> gate(static_cast<size_t>(n)), up(gate.size());
    for (auto& e : gate) e = g(rng);
    for (auto& e : up) e = g(rng);
    gate[0] = -100.f;  // far into the negative side: silu is -0 there (e^-100 is below a float's range)
    if (n > 2) gate[1] = 100.f, gate[2] = 0.f;
    std::vector<float> want(gate.size()), got(gate.size());
    swiglu_ref(gate.data(), up.data(), want.data(), n);
    swiglu(gate.data(), up.data(), got.data(), n);
    INFO("n " << n);
    for (size_t i = 0; i < got.size(); ++i) {
      INFO("i " << i << " g " << gate[i]);
      CHECK(std::fabs(got[i] - want[i]) <= 5e-7f * std::fabs(want[i]) + 1e-30f);
    }
    std::vector<float> inplace = gate;  // out may be the gate
    swiglu(inplace.data(), up.data(), inplace.data(), n);
    CHECK(inplace == got);
  }
}

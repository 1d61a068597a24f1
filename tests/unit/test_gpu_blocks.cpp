// The GPU kernels' block reader (kernels/cuda/blocks.h), compiled for the host: every value it
// gives must be the CPU's dequantized value bit for bit, for every format the GPU path reads.
// Runs on every machine, with or without a GPU or nvcc.
#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <vector>

#include "cpu/fp16.h"
#include "cuda/blocks.h"
#include "llmkit/ggml_type.h"
#include "llmkit/quant.h"

using namespace llmkit;
namespace gpu = llmkit::kernels::gpu;

namespace {

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// A row quantized by the CPU quantizer, with values spread over several magnitudes so that
// scales, minimums and the high bits of the codes all vary.
std::vector<uint8_t> quantized_row(GgmlType t, int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.f, 1.f);
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[static_cast<size_t>(i)] = g(rng) * (1.f + static_cast<float>((i / 16) % 7)) + ((i / 32) % 3 == 1 ? 2.f : 0.f);
  std::vector<uint8_t> row(ggml_bytes(t, static_cast<uint64_t>(n)));
  quantize_row(t, x.data(), row.data(), n);
  return row;
}

}  // namespace

TEST_CASE("GPU block reader: every value equals the CPU dequantization bit for bit", "[gpu][blocks]") {
  const int64_t n = 1024;
  for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q2_K,
                     GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K}) {
    const int id = static_cast<int>(t);
    INFO(ggml_type_name(t));
    REQUIRE(gpu::is_block_type(id));
    CHECK(static_cast<uint32_t>(gpu::block_values(id)) == ggml_type_info(t).block_size);
    CHECK(static_cast<uint32_t>(gpu::block_bytes(id)) == ggml_type_info(t).block_bytes);
    for (uint32_t seed : {1u, 2u, 3u}) {
      const std::vector<uint8_t> row = quantized_row(t, n, seed);
      std::vector<float> ref(static_cast<size_t>(n));
      dequantize_row(t, row.data(), ref.data(), n);
      int bad = 0;
      for (int64_t i = 0; i < n; ++i) {
        const float v = gpu::read_value(id, row.data(), i);
        if (bits(v) != bits(ref[static_cast<size_t>(i)]) && bad++ < 3)
          FAIL_CHECK("value " << i << ": reader " << v << ", CPU " << ref[static_cast<size_t>(i)]);
      }
      CHECK(bad == 0);
    }
  }
}

TEST_CASE("GPU block reader: F16, BF16 and F32 values as the CPU converts them", "[gpu][blocks]") {
  std::vector<uint8_t> row(2);
  for (uint32_t h = 0; h < 65536; ++h) {
    row[0] = static_cast<uint8_t>(h), row[1] = static_cast<uint8_t>(h >> 8);
    const float ref = kernels::fp16_to_fp32(static_cast<uint16_t>(h));
    const float v = gpu::read_value(gpu::kF16, row.data(), 0);
    if (ref != ref) CHECK(v != v);
    else if (bits(v) != bits(ref)) FAIL_CHECK("half 0x" << std::hex << h << ": " << v << " vs " << ref);
    CHECK(bits(gpu::read_value(gpu::kBF16, row.data(), 0)) == bits(kernels::bf16_to_fp32(static_cast<uint16_t>(h))));
  }
  const float f[2] = {-3.25f, 1e-40f};
  std::vector<uint8_t> fr(8);
  std::memcpy(fr.data(), f, 8);
  CHECK(gpu::read_value(gpu::kF32, fr.data(), 0) == -3.25f);
  CHECK(bits(gpu::read_value(gpu::kF32, fr.data(), 1)) == bits(1e-40f));
}

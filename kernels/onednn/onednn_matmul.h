// Matrix products through oneDNN for the weight types our own kernels have no fast prompt path
// for: F32 and BF16 (Hugging Face's native dtype). oneDNN's BRGEMM kernels use AVX512-BF16 and
// AMX where the CPU has them. Measured on a 2-core Zen 5 (README "oneDNN"): 512 x 2048 x 5632,
// BF16 ~910 GFLOP/s and F32 ~465 GFLOP/s, against tens for a row-by-row dot product.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

namespace llmkit::kernels::onednn {

enum class WeightType { F32, BF16 };

// One weight matrix W (`out` rows of `in` values, row-major as GGUF stores it, read in place).
class Product {
 public:
  Product(WeightType type, const void* w, int64_t in, int64_t out);
  ~Product();
  Product(const Product&) = delete;
  Product& operator=(const Product&) = delete;

  // y[t][o] = sum_k x[t][k] * w[o][k] for t < n, accumulated in F32. x is in the weights' type:
  // F32, or for BF16 weights the activations already rounded to BF16 (as ggml's BF16 dot takes
  // them), so that the products of one input share one conversion. Runs on OpenMP's threads.
  void run(const void* x, int64_t n, float* y) const;

  // oneDNN's name for the kernel it picked for `n` tokens ("brg:avx512_core_bf16", ...).
  std::string implementation(int64_t n) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether oneDNN runs `type` products with native instructions here (not its reference code).
bool native(WeightType type);

// Scalar reference: the same sums in double, x rounded to BF16 for BF16 weights.
void product_ref(WeightType type, const void* w, int64_t in, int64_t out, const float* x, int64_t n, float* y);

}  // namespace llmkit::kernels::onednn

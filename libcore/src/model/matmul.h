// Matrix products of the forward passes (decoder and encoder): weights in the file's layout or
// repacked, activations prepared once per input for the kernels that take them quantized.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

#include "llmkit/gguf.h"
#include "llmkit/model.h"

namespace llmkit::detail {

// Working memory reused from call to call: generation runs a forward pass once per token, and
// allocating each time costs tokens/s. resize() within the capacity held does not allocate.
template <class T> T* reuse(std::vector<T>& v, size_t n) {
  v.resize(n);
  return v.data();
}

// Y_j[t][o] = dot(row o of W_j, X[t]) for t < n, for every (W_j, Y_j) given (at most 3), all
// reading the same X: the products of one input (Q, K, V; gate, up) run in one parallel pass, so
// a generated token pays for fewer fork/join barriers.
void matmul(const GgufFile& f, std::initializer_list<std::pair<const Weight*, float*>> jobs, const float* x, int64_t n);
inline void matmul(const GgufFile& f, const Weight& wt, const float* x, float* y, int64_t n) {
  matmul(f, {{&wt, y}}, x, n);
}

// y[t][i] += bias[i] for t < n (nothing when the model has no bias).
void add_bias(float* y, const std::vector<float>& bias, int64_t n, int64_t dim);
// x[i] += d[i] for i < n: the residual connections.
void add_into(float* x, const float* d, int64_t n);

}  // namespace llmkit::detail

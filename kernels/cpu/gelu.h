// GELU, tanh form (BERT's FFN activation): 0.5 x (1 + tanh(sqrt(2/pi) x (1 + 0.044715 x^2))).
// gelu_row() evaluates it the way ggml's CPU backend does by default: the input rounded to F16
// and looked up in a table of all 65,536 F16 values (the result rounded to F16 too), with |x| >= 10
// taken as 0 or x. That matches llama.cpp's embeddings to the bit there and costs one lookup per
// element instead of a tanh.
#pragma once
#include <cstdint>

namespace llmkit::kernels {

float gelu_ref(float x);                           // the formula in F32
void gelu_row_ref(const float* x, float* y, int64_t n);  // the table, one element at a time
void gelu_row(const float* x, float* y, int64_t n);      // the same with row conversions (y may be x)

}  // namespace llmkit::kernels

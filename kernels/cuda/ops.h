// The GPU side of a decoder forward pass, host-callable: arrays in device memory in, arrays out,
// nothing about files or models. Each launch is queued on the given stream (nullptr: the default
// stream); errors surface through last_error(). Weights are rows in ggml's block formats as read
// from the GGUF file (kernels/cuda/blocks.h reads them), activations F32, the KV cache F16.
//
// Layouts match the CPU forward pass: a batch of ntok tokens is ntok consecutive rows; matrix
// products give y[t * rows + r] = dot(weight row r, x row t).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace llmkit::kernels::cuda {

using Stream = void*;  // a cudaStream_t

// ---- device memory and errors ----
void* device_alloc(size_t bytes);  // nullptr when the allocation fails (see last_error())
void device_free(void* p);
bool copy_to_device(void* dst, const void* src, size_t bytes);
bool copy_to_host(void* dst, const void* src, size_t bytes);
bool synchronize();
// The first error since the last call (empty when none), and clears it.
std::string last_error();
// Free and total bytes of the current device (0, 0 without one).
void memory_info(size_t* free_bytes, size_t* total_bytes);

// ---- matrix products ----
// Bytes of the activations quantize_act() makes for ntok rows of n values (n a multiple of 32):
// int8 codes, then one float scale per 32 values.
size_t act_bytes(int64_t n, int64_t ntok);
// x (ntok x n floats) to 8-bit codes with a scale per 32 values, as the CPU quantizes for Q8_0.
void quantize_act(const float* x, int64_t n, int64_t ntok, void* act, Stream s);
// y = W x for a few tokens: quantized types take the quantize_act() buffer (integer dots, one warp
// per row); F32, F16 and BF16 take x as floats. `type` is the ggml type id.
void matvec(int type, const void* w, int64_t rows, int64_t n, const void* act, const float* x, int64_t ntok, float* y,
            Stream s);
// Whether matvec() reads this type.
bool matvec_supported(int type);
// W's rows dequantized to F16 (rows x n halves), for the cuBLAS path of prompts.
void dequantize_f16(int type, const void* w, int64_t rows, int64_t n, uint16_t* out, Stream s);
void f32_to_f16(const float* x, size_t count, uint16_t* out, Stream s);
// y (ntok x rows, F32) = W (rows x n, F16) x X (ntok x n, F16)^T through cuBLAS, F32 accumulation.
// Returns false (and sets last_error) when cuBLAS fails.
bool gemm_f16(const uint16_t* w, int64_t rows, int64_t n, const uint16_t* x, int64_t ntok, float* y, Stream s);

// ---- the other steps of a layer ----
// y[t] = x[t] / rms(x[t]) * weight, rms over dim values, eps added to the mean square.
void rms_norm(const float* x, const float* weight, float eps, float* y, int64_t ntok, int64_t dim, Stream s);
// Rotary position embedding in place on ntok rows of heads x head_dim: the first n_rot values of
// each head rotated by pos[t] * base^(-2i/n_rot) / scale; pairs (2i, 2i+1), or (i, i + n_rot/2)
// when neox.
void rope(float* x, int64_t ntok, int64_t heads, int64_t head_dim, int64_t n_rot, const int32_t* pos, float base,
          float scale, bool neox, Stream s);
// Rows of `len` floats to their softmax, in place.
void softmax(float* x, int64_t rows, int64_t len, Stream s);
// Writes token t's keys and values (F32, kv_dim each) as F16 into the caches at row pos[t].
void store_kv(const float* k, const float* v, int64_t ntok, int64_t kv_dim, const int32_t* pos, uint16_t* k_cache,
              uint16_t* v_cache, Stream s);
// Causal attention for ntok queries of one sequence: query t (heads x head_dim floats) attends to
// cache rows 0..pos[t] of its KV head (h / (heads / kv_heads)); F16 caches of rows kv_heads x
// head_dim; out (ntok x heads x head_dim). Keys are met with the query rounded to F16, as the CPU
// does against an F16 cache. scratch holds ntok x heads x max_len floats.
void attention(const float* q, const uint16_t* k_cache, const uint16_t* v_cache, const int32_t* pos, int64_t ntok,
               int64_t heads, int64_t kv_heads, int64_t head_dim, int64_t max_len, float scale, float* scratch, float* out,
               Stream s);
// g[i] = silu(g[i]) * u[i].
void swiglu(float* g, const float* u, int64_t count, Stream s);
// x[i] += d[i].
void add(float* x, const float* d, int64_t count, Stream s);

}  // namespace llmkit::kernels::cuda

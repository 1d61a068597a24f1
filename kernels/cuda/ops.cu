#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstring>
#include <mutex>

#include "cuda/blocks.h"
#include "cuda/ops.h"

namespace llmkit::kernels::cuda {
namespace {

namespace g = llmkit::kernels::gpu;

std::mutex error_mutex;
std::string pending_error;

void note(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  std::lock_guard<std::mutex> lock(error_mutex);
  if (pending_error.empty()) pending_error = std::string(what) + ": " + cudaGetErrorString(e);
}
void note_launch(const char* what) { note(cudaGetLastError(), what); }

cudaStream_t st(Stream s) { return static_cast<cudaStream_t>(s); }
unsigned blocks_for(int64_t count, int per_block) {
  const int64_t b = (count + per_block - 1) / per_block;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 0x7fffffff ? 0x7fffffff : b));
}

__device__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  return __shfl_sync(0xffffffffu, v, 0);
}
__device__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, o));
  return __shfl_sync(0xffffffffu, v, 0);
}
// Sum or max over a block of up to 1024 threads (a multiple of 32); every thread gets the result.
template <bool Max>
__device__ float block_reduce(float v) {
  __shared__ float part[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = Max ? warp_max(v) : warp_sum(v);
  __syncthreads();  // part[] may still be read by an earlier call
  if (lane == 0) part[warp] = v;
  __syncthreads();
  float r = lane < warps ? part[lane] : (Max ? -INFINITY : 0.f);
  return Max ? warp_max(r) : warp_sum(r);
}

// ---- activations: one warp per 32 values ----
__global__ void k_quantize_act(const float* x, int64_t blocks, int8_t* q, float* d) {
  const int64_t b = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (b >= blocks) return;
  const float v = x[b * 32 + lane];
  const float amax = warp_max(fabsf(v));
  const float scale = amax / 127.f;
  const float inv = scale != 0.f ? 1.f / scale : 0.f;
  q[b * 32 + lane] = static_cast<int8_t>(__float2int_rn(v * inv));
  if (lane == 0) d[b] = scale;
}

// ---- matrix x vector: one warp per (row, token) ----
__device__ int dot16(const int8_t* a, const int8_t* w) {
  int acc = 0;
#pragma unroll
  for (int i = 0; i < 16; i += 4) {
    int av, wv;
    memcpy(&av, a + i, 4);
    memcpy(&wv, w + i, 4);
    acc = __dp4a(av, wv, acc);
  }
  return acc;
}
__device__ int sum16(const int8_t* a) {
  int acc = 0;
#pragma unroll
  for (int i = 0; i < 16; i += 4) {
    int av;
    memcpy(&av, a + i, 4);
    acc = __dp4a(av, 0x01010101, acc);
  }
  return acc;
}

__global__ void k_matvec_q(int type, const uint8_t* w, int64_t rows, int64_t n, const int8_t* aq, const float* ad,
                           int64_t ntok, float* y) {
  const int64_t warp = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (warp >= rows * ntok) return;
  const int64_t r = warp % rows, t = warp / rows;
  const uint8_t* row = w + r * (n / g::block_values(type)) * g::block_bytes(type);
  const int8_t* a = aq + t * n;
  const float* da = ad + t * (n / 32);
  float acc = 0.f;
  const bool offset = g::has_offset(type);  // the symmetric formats need no activation sums
  for (int64_t c = lane; c < n / 16; c += 32) {
    g::Chunk16 ch;
    g::read_chunk16(type, row, c, ch);
    const int8_t* ac = a + 16 * c;
    float v = ch.scale * static_cast<float>(dot16(ac, ch.q));
    if (offset) v += ch.offset * static_cast<float>(sum16(ac));
    acc += da[c / 2] * v;
  }
  acc = warp_sum(acc);
  if (lane == 0) y[t * rows + r] = acc;
}

__global__ void k_matvec_float(int type, const uint8_t* w, int64_t rows, int64_t n, const float* x, int64_t ntok,
                               float* y) {
  const int64_t warp = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (warp >= rows * ntok) return;
  const int64_t r = warp % rows, t = warp / rows;
  const int64_t row_bytes = n * (type == g::kF32 ? 4 : 2);
  const uint8_t* row = w + r * row_bytes;
  const float* xt = x + t * n;
  float acc = 0.f;
  if (type == g::kF16) {
    const __half* h = reinterpret_cast<const __half*>(row);
    for (int64_t i = lane; i < n; i += 32) acc += __half2float(h[i]) * xt[i];
  } else if (type == g::kF32) {
    const float* f = reinterpret_cast<const float*>(row);
    for (int64_t i = lane; i < n; i += 32) acc += f[i] * xt[i];
  } else {
    for (int64_t i = lane; i < n; i += 32) acc += g::read_value(type, row, i) * xt[i];
  }
  acc = warp_sum(acc);
  if (lane == 0) y[t * rows + r] = acc;
}

__global__ void k_dequantize_f16(int type, const uint8_t* w, int64_t rows, int64_t n, __half* out) {
  const int64_t row_bytes = g::is_block_type(type) ? (n / g::block_values(type)) * g::block_bytes(type)
                                                   : n * (type == g::kF32 ? 4 : 2);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < rows * n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = i / n, c = i % n;
    out[i] = __float2half_rn(g::read_value(type, w + r * row_bytes, c));
  }
}

__global__ void k_f32_to_f16(const float* x, size_t count, __half* out) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < count; i += size_t(gridDim.x) * blockDim.x)
    out[i] = __float2half_rn(x[i]);
}

// ---- layer steps ----
__global__ void k_rms_norm(const float* x, const float* w, float eps, float* y, int64_t dim) {
  const float* xt = x + blockIdx.x * dim;
  float* yt = y + blockIdx.x * dim;
  float ss = 0.f;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) ss += xt[i] * xt[i];
  ss = block_reduce<false>(ss);
  const float scale = 1.0f / sqrtf(ss / static_cast<float>(dim) + eps);
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) yt[i] = xt[i] * scale * w[i];
}

__global__ void k_rope(float* x, int64_t ntok, int64_t heads, int64_t head_dim, int64_t n_rot, const int32_t* pos,
                       float base, float scale, bool neox) {
  const int64_t half = n_rot / 2;
  const int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (idx >= ntok * heads * half) return;
  const int64_t i = idx % half, h = (idx / half) % heads, t = idx / (half * heads);
  float* v = x + (t * heads + h) * head_dim;
  const float theta = static_cast<float>(pos[t]) / scale * powf(base, -2.0f * static_cast<float>(i) / static_cast<float>(n_rot));
  float s, c;
  sincosf(theta, &s, &c);
  const int64_t a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
  const float x0 = v[a], x1 = v[b];
  v[a] = x0 * c - x1 * s;
  v[b] = x0 * s + x1 * c;
}

// r[i] = exp(r[i] - max) across the block; returns their sum to every thread. Ends with a
// barrier, so every r[i] is written when it returns.
__device__ float block_exp_shifted(float* r, int64_t len) {
  float m = -INFINITY;
  for (int64_t i = threadIdx.x; i < len; i += blockDim.x) m = fmaxf(m, r[i]);
  m = block_reduce<true>(m);
  float sum = 0.f;
  for (int64_t i = threadIdx.x; i < len; i += blockDim.x) {
    const float e = expf(r[i] - m);
    r[i] = e;
    sum += e;
  }
  return block_reduce<false>(sum);
}

__global__ void k_softmax(float* x, int64_t len) {
  float* r = x + blockIdx.x * len;
  const float inv = 1.f / block_exp_shifted(r, len);
  for (int64_t i = threadIdx.x; i < len; i += blockDim.x) r[i] *= inv;
}

__global__ void k_store_kv(const float* k, const float* v, int64_t ntok, int64_t kv_dim, const int32_t* pos,
                           __half* kc, __half* vc) {
  const int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (idx >= ntok * kv_dim) return;
  const int64_t t = idx / kv_dim, i = idx % kv_dim, dst = int64_t(pos[t]) * kv_dim + i;
  kc[dst] = __float2half_rn(k[idx]);
  vc[dst] = __float2half_rn(v[idx]);
}

// One block per (token, head): scores, softmax, weighted sum of values.
__global__ void k_attention(const float* q, const __half* kc, const __half* vc, const int32_t* pos, int64_t heads,
                            int64_t kv_heads, int64_t head_dim, int64_t max_len, float scale, float* scratch,
                            float* out) {
  const int64_t t = blockIdx.x / heads, h = blockIdx.x % heads;
  const int64_t kvh = h / (heads / kv_heads), kv_dim = kv_heads * head_dim;
  const int64_t len = int64_t(pos[t]) + 1;
  const float* qt = q + (t * heads + h) * head_dim;
  float* sc = scratch + blockIdx.x * max_len;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  // A warp per key: the query rounded to F16, as against the CPU's F16 cache.
  for (int64_t j = warp; j < len; j += warps) {
    const __half* kr = kc + j * kv_dim + kvh * head_dim;
    float acc = 0.f;
    for (int64_t i = lane; i < head_dim; i += 32) acc += __half2float(__float2half_rn(qt[i])) * __half2float(kr[i]);
    acc = warp_sum(acc);
    if (lane == 0) sc[j] = acc * scale;
  }
  __syncthreads();
  const float inv = 1.f / block_exp_shifted(sc, len);
  float* o = out + (t * heads + h) * head_dim;
  for (int64_t i = threadIdx.x; i < head_dim; i += blockDim.x) {
    float acc = 0.f;
    for (int64_t j = 0; j < len; ++j) acc += sc[j] * __half2float(vc[j * kv_dim + kvh * head_dim + i]);
    o[i] = acc * inv;
  }
}

__global__ void k_swiglu(float* gt, const float* u, int64_t count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
    gt[i] = gt[i] / (1.0f + expf(-gt[i])) * u[i];
}

__global__ void k_add(float* x, const float* d, int64_t count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
    x[i] += d[i];
}

}  // namespace

void* device_alloc(size_t bytes) {
  void* p = nullptr;
  note(cudaMalloc(&p, bytes), "cudaMalloc");
  return p;
}
void device_free(void* p) {
  if (p) note(cudaFree(p), "cudaFree");
}
bool copy_to_device(void* dst, const void* src, size_t bytes) {
  const cudaError_t e = cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice);
  note(e, "copy to device");
  return e == cudaSuccess;
}
bool copy_to_host(void* dst, const void* src, size_t bytes) {
  const cudaError_t e = cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost);
  note(e, "copy to host");
  return e == cudaSuccess;
}
bool synchronize() {
  const cudaError_t e = cudaDeviceSynchronize();
  note(e, "kernel");
  return e == cudaSuccess;
}
std::string last_error() {
  std::lock_guard<std::mutex> lock(error_mutex);
  std::string e;
  e.swap(pending_error);
  return e;
}
void memory_info(size_t* free_bytes, size_t* total_bytes) {
  *free_bytes = *total_bytes = 0;
  if (cudaMemGetInfo(free_bytes, total_bytes) != cudaSuccess) {
    cudaGetLastError();
    *free_bytes = *total_bytes = 0;
  }
}

size_t act_bytes(int64_t n, int64_t ntok) { return static_cast<size_t>(ntok * n + ntok * (n / 32) * 4); }

void quantize_act(const float* x, int64_t n, int64_t ntok, void* act, Stream s) {
  auto* q = static_cast<int8_t*>(act);
  auto* d = reinterpret_cast<float*>(q + ntok * n);
  const int64_t blocks = ntok * n / 32;
  k_quantize_act<<<blocks_for(blocks * 32, 256), 256, 0, st(s)>>>(x, blocks, q, d);
  note_launch("quantize_act");
}

bool matvec_supported(int type) { return g::is_block_type(type) || type == g::kF32 || type == g::kF16 || type == g::kBF16; }

void matvec(int type, const void* w, int64_t rows, int64_t n, const void* act, const float* x, int64_t ntok, float* y,
            Stream s) {
  const unsigned grid = blocks_for(rows * ntok * 32, 256);
  if (g::is_block_type(type)) {
    const auto* q = static_cast<const int8_t*>(act);
    k_matvec_q<<<grid, 256, 0, st(s)>>>(type, static_cast<const uint8_t*>(w), rows, n, q,
                                        reinterpret_cast<const float*>(q + ntok * n), ntok, y);
  } else {
    k_matvec_float<<<grid, 256, 0, st(s)>>>(type, static_cast<const uint8_t*>(w), rows, n, x, ntok, y);
  }
  note_launch("matvec");
}

void dequantize_f16(int type, const void* w, int64_t rows, int64_t n, uint16_t* out, Stream s) {
  k_dequantize_f16<<<blocks_for(rows * n, 256) > 65535 ? 65535 : blocks_for(rows * n, 256), 256, 0, st(s)>>>(
      type, static_cast<const uint8_t*>(w), rows, n, reinterpret_cast<__half*>(out));
  note_launch("dequantize_f16");
}

void f32_to_f16(const float* x, size_t count, uint16_t* out, Stream s) {
  const unsigned grid = blocks_for(static_cast<int64_t>(count), 256);
  k_f32_to_f16<<<grid > 65535 ? 65535 : grid, 256, 0, st(s)>>>(x, count, reinterpret_cast<__half*>(out));
  note_launch("f32_to_f16");
}

bool gemm_f16(const uint16_t* w, int64_t rows, int64_t n, const uint16_t* x, int64_t ntok, float* y, Stream s) {
  // One handle per thread, made on first use (cuBLAS handles are not to be shared across threads).
  thread_local cublasHandle_t handle = nullptr;
  if (!handle && cublasCreate(&handle) != CUBLAS_STATUS_SUCCESS) {
    std::lock_guard<std::mutex> lock(error_mutex);
    if (pending_error.empty()) pending_error = "cuBLAS: cannot create a handle";
    handle = nullptr;
    return false;
  }
  cublasSetStream(handle, st(s));
  const float one = 1.f, zero = 0.f;
  // Column-major view: Y (rows x ntok, ld rows) = W^T (W stored n x rows) x X (n x ntok).
  const cublasStatus_t r = cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(rows), static_cast<int>(ntok),
                                        static_cast<int>(n), &one, w, CUDA_R_16F, static_cast<int>(n), x, CUDA_R_16F,
                                        static_cast<int>(n), &zero, y, CUDA_R_32F, static_cast<int>(rows),
                                        CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  if (r != CUBLAS_STATUS_SUCCESS) {
    std::lock_guard<std::mutex> lock(error_mutex);
    if (pending_error.empty()) pending_error = "cuBLAS GEMM failed (status " + std::to_string(static_cast<int>(r)) + ")";
    return false;
  }
  return true;
}

void rms_norm(const float* x, const float* weight, float eps, float* y, int64_t ntok, int64_t dim, Stream s) {
  if (ntok <= 0) return;
  k_rms_norm<<<static_cast<unsigned>(ntok), 256, 0, st(s)>>>(x, weight, eps, y, dim);
  note_launch("rms_norm");
}

void rope(float* x, int64_t ntok, int64_t heads, int64_t head_dim, int64_t n_rot, const int32_t* pos, float base,
          float scale, bool neox, Stream s) {
  const int64_t count = ntok * heads * (n_rot / 2);
  if (count <= 0) return;
  k_rope<<<blocks_for(count, 256), 256, 0, st(s)>>>(x, ntok, heads, head_dim, n_rot, pos, base, scale, neox);
  note_launch("rope");
}

void softmax(float* x, int64_t rows, int64_t len, Stream s) {
  if (rows <= 0) return;
  k_softmax<<<static_cast<unsigned>(rows), 256, 0, st(s)>>>(x, len);
  note_launch("softmax");
}

void store_kv(const float* k, const float* v, int64_t ntok, int64_t kv_dim, const int32_t* pos, uint16_t* k_cache,
              uint16_t* v_cache, Stream s) {
  if (ntok <= 0) return;
  k_store_kv<<<blocks_for(ntok * kv_dim, 256), 256, 0, st(s)>>>(k, v, ntok, kv_dim, pos, reinterpret_cast<__half*>(k_cache),
                                                                 reinterpret_cast<__half*>(v_cache));
  note_launch("store_kv");
}

void attention(const float* q, const uint16_t* k_cache, const uint16_t* v_cache, const int32_t* pos, int64_t ntok,
               int64_t heads, int64_t kv_heads, int64_t head_dim, int64_t max_len, float scale, float* scratch, float* out,
               Stream s) {
  if (ntok <= 0) return;
  k_attention<<<static_cast<unsigned>(ntok * heads), 128, 0, st(s)>>>(
      q, reinterpret_cast<const __half*>(k_cache), reinterpret_cast<const __half*>(v_cache), pos, heads, kv_heads,
      head_dim, max_len, scale, scratch, out);
  note_launch("attention");
}

void swiglu(float* gt, const float* u, int64_t count, Stream s) {
  if (count <= 0) return;
  const unsigned grid = blocks_for(count, 256);
  k_swiglu<<<grid > 65535 ? 65535 : grid, 256, 0, st(s)>>>(gt, u, count);
  note_launch("swiglu");
}

void add(float* x, const float* d, int64_t count, Stream s) {
  if (count <= 0) return;
  const unsigned grid = blocks_for(count, 256);
  k_add<<<grid > 65535 ? 65535 : grid, 256, 0, st(s)>>>(x, d, count);
  note_launch("add");
}

}  // namespace llmkit::kernels::cuda

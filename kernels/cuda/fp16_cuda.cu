#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "cuda/fp16_cuda.h"

namespace llmkit::kernels::cuda {
namespace {

__global__ void k_fp16_to_fp32(const __half* x, float* y, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    y[i] = __half2float(x[i]);
}

__global__ void k_fp32_to_fp16(const float* x, __half* y, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    y[i] = __float2half_rn(x[i]);
}

template <class In, class Out, class Launch>
std::string run(const In* in, Out* out, size_t n, Launch launch) {
  void* d_in = nullptr;
  void* d_out = nullptr;
  cudaError_t e = cudaMalloc(&d_in, n * sizeof(In));
  if (e == cudaSuccess) e = cudaMalloc(&d_out, n * sizeof(Out));
  if (e == cudaSuccess) e = cudaMemcpy(d_in, in, n * sizeof(In), cudaMemcpyHostToDevice);
  if (e == cudaSuccess) {
    unsigned blocks = static_cast<unsigned>((n + 255) / 256 < 65535 ? (n + 255) / 256 : 65535);
    launch(d_in, d_out, blocks ? blocks : 1);
    e = cudaGetLastError();
  }
  if (e == cudaSuccess) e = cudaMemcpy(out, d_out, n * sizeof(Out), cudaMemcpyDeviceToHost);
  cudaFree(d_in);
  cudaFree(d_out);
  return e == cudaSuccess ? std::string() : std::string(cudaGetErrorString(e));
}

}  // namespace

int device_count() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
}

std::string fp16_to_fp32(const uint16_t* host_in, float* host_out, size_t n) {
  return run(host_in, host_out, n, [n](void* i, void* o, unsigned b) {
    k_fp16_to_fp32<<<b, 256>>>(static_cast<const __half*>(i), static_cast<float*>(o), n);
  });
}

std::string fp32_to_fp16(const float* host_in, uint16_t* host_out, size_t n) {
  return run(host_in, host_out, n, [n](void* i, void* o, unsigned b) {
    k_fp32_to_fp16<<<b, 256>>>(static_cast<const float*>(i), static_cast<__half*>(o), n);
  });
}

}  // namespace llmkit::kernels::cuda

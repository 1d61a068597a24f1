// CUDA half <-> float row conversion (device side of kernels/cpu/fp16.h), host-callable.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace llmkit::kernels::cuda {

// Number of CUDA devices usable now (0 when there is no GPU or no driver). Never throws.
int device_count();
// Converts on the GPU (copies in and out). Returns an empty string or the CUDA error.
std::string fp16_to_fp32(const uint16_t* host_in, float* host_out, size_t n);
std::string fp32_to_fp16(const float* host_in, uint16_t* host_out, size_t n);

}  // namespace llmkit::kernels::cuda

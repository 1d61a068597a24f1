// Facts about the machine a benchmark ran on, and its memory read bandwidth (the ceiling for
// token generation, which reads every weight once per token).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace llmkit {

struct SystemInfo {
  std::string cpu;                 // /proc/cpuinfo "model name"
  std::vector<std::string> simd;   // features the kernels can use: avx2, fma, f16c, avx512f, avx512vnni, ...
  int cores = 0;                   // logical CPUs online
  uint64_t ram_bytes = 0;
  std::string gpu;                 // empty: none used
  uint64_t gpu_bytes = 0;
};

SystemInfo system_info();

// Bytes this process can still allocate: the least of the kernel's MemAvailable, the room
// under the cgroup's memory.max and under RLIMIT_AS. What a large allocation is checked
// against before it is made, so that it fails with a message instead of an abort.
uint64_t available_memory_bytes();

// Bytes per second read from a buffer far larger than the caches, by `threads` OpenMP threads,
// best of `reps` passes: a short STREAM-like read test.
double measure_read_bandwidth(int threads, uint64_t bytes = uint64_t(256) << 20, int reps = 5);

}  // namespace llmkit

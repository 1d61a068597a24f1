#include "llmkit/system_info.h"

#include <omp.h>
#include <unistd.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>

#if defined(__x86_64__)
#include <cpuid.h>
namespace {
// Bit `bit` of register `reg` (0 eax, 1 ebx, 2 ecx, 3 edx) of CPUID leaf/subleaf: for features
// that not every compiler's __builtin_cpu_supports knows (clang 14: f16c, avxvnni).
bool cpuid_bit(unsigned leaf, unsigned sub, int reg, int bit) {
  unsigned r[4] = {};
  if (!__get_cpuid_count(leaf, sub, &r[0], &r[1], &r[2], &r[3])) return false;
  return (r[reg] >> bit) & 1u;
}
}  // namespace
#endif

namespace llmkit {

SystemInfo system_info() {
  SystemInfo s;
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      const size_t c = line.find(':');
      if (c != std::string::npos) s.cpu = line.substr(line.find_first_not_of(" \t", c + 1));
      break;
    }
#if defined(__x86_64__)
  __builtin_cpu_init();
  struct Feature {
    const char* name;
    bool has;
  };
  for (const Feature& f : {Feature{"sse4.2", __builtin_cpu_supports("sse4.2") != 0}, Feature{"avx", __builtin_cpu_supports("avx") != 0},
                           Feature{"avx2", __builtin_cpu_supports("avx2") != 0}, Feature{"fma", __builtin_cpu_supports("fma") != 0},
                           Feature{"f16c", cpuid_bit(1, 0, 2, 29)},
                           Feature{"avx512f", __builtin_cpu_supports("avx512f") != 0},
                           Feature{"avx512bw", __builtin_cpu_supports("avx512bw") != 0},
                           Feature{"avx512vl", __builtin_cpu_supports("avx512vl") != 0},
                           Feature{"avx512vnni", __builtin_cpu_supports("avx512vnni") != 0},
                           Feature{"avx512bf16", __builtin_cpu_supports("avx512bf16") != 0},
                           Feature{"avxvnni", cpuid_bit(7, 1, 0, 4)}})
    if (f.has) s.simd.emplace_back(f.name);
#endif
  s.cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  s.ram_bytes = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return s;
}

namespace {
// Sums over a thread's share, reading as the weight kernels do: lines 8 KiB ahead prefetched (the
// hardware prefetcher alone reached 10-15% less than those kernels on Zen 5, so the ceiling was
// below what generation reached), four independent sums so the adds never bound the speed.
__attribute__((noinline)) uint64_t sum_words(const uint64_t* p, int64_t n) {
  constexpr int64_t kAhead = 8192 / sizeof(uint64_t);
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {  // one 64-byte line per step
    __builtin_prefetch(p + i + kAhead);
    s0 += p[i] + p[i + 4];
    s1 += p[i + 1] + p[i + 5];
    s2 += p[i + 2] + p[i + 6];
    s3 += p[i + 3] + p[i + 7];
  }
  for (; i < n; ++i) s0 += p[i];
  return s0 + s1 + s2 + s3;
}
}  // namespace

double measure_read_bandwidth(int threads, uint64_t bytes, int reps) {
  const int64_t n = static_cast<int64_t>(bytes / sizeof(uint64_t));
  std::unique_ptr<uint64_t[]> a(new uint64_t[static_cast<size_t>(n)]);
  const int t = std::max(1, threads);
  // Written by the threads that read it, so pages sit near them.
#pragma omp parallel for num_threads(t) schedule(static)
  for (int64_t i = 0; i < n; ++i) a[static_cast<size_t>(i)] = static_cast<uint64_t>(i);
  double best = 1e30;
  uint64_t total = 0;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(t) reduction(+ : total)
    {
      const int64_t k = omp_get_thread_num(), m = omp_get_num_threads();
      const int64_t b = n * k / m, e = n * (k + 1) / m;
      total += sum_words(a.get() + b, e - b);
    }
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  volatile uint64_t sink = total;
  (void)sink;
  return static_cast<double>(n) * sizeof(uint64_t) / best;
}

namespace {

// The first number on the line of /proc/meminfo (or a one-number file) after `key`; 0 if absent.
uint64_t read_number(const char* path, const char* key = nullptr) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (key && line.rfind(key, 0) != 0) continue;
    const std::string rest = key ? line.substr(std::strlen(key)) : line;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(rest.c_str(), &end, 10);
    return end == rest.c_str() ? 0 : static_cast<uint64_t>(v);
  }
  return 0;
}

}  // namespace

uint64_t available_memory_bytes() {
  uint64_t avail = read_number("/proc/meminfo", "MemAvailable:") * 1024;
  if (avail == 0) avail = static_cast<uint64_t>(sysconf(_SC_AVPHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  // cgroup v2: "max" reads as no number (0), i.e. no limit.
  if (const uint64_t limit = read_number("/sys/fs/cgroup/memory.max")) {
    const uint64_t used = read_number("/sys/fs/cgroup/memory.current");
    avail = std::min(avail, limit > used ? limit - used : 0);
  }
  struct rlimit rl {};
  if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    const uint64_t vm = read_number("/proc/self/statm") * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    avail = std::min<uint64_t>(avail, rl.rlim_cur > vm ? rl.rlim_cur - vm : 0);
  }
  return avail;
}

}  // namespace llmkit

// Test support: ../shared lookup, temporary directories, a byte-level GGUF builder for hostile
// files, and a small valid model written by our own writer.
#pragma once
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "llmkit/jsonl.h"

namespace fixture {

// ../shared (from LLMKIT_SHARED) when present.
std::optional<std::filesystem::path> shared_dir();
// The path of a file under ../shared; when ../shared is absent, prints why and exits 77 (skip).
std::filesystem::path require_shared(const std::string& rel);

// A fresh empty directory, removed at exit.
std::filesystem::path temp_dir();

std::vector<uint8_t> read_file(const std::filesystem::path& p);
// A JSON file holding one object (pretty-printed or not), with its fields as in llmkit::JsonObject.
llmkit::JsonObject read_json_file(const std::filesystem::path& p);
void write_file(const std::filesystem::path& p, const std::vector<uint8_t>& bytes);

// Squared error of `approx` against `exact`, and the squared norm of `exact` (nrmse = sqrt(e/r)).
struct ErrorSums {
  double err = 0, ref = 0;
};
ErrorSums error_sums(const std::vector<float>& approx, const std::vector<float>& exact);

// Little-endian byte builder: writes exactly what it is told, so tests can lie.
struct Bytes {
  std::vector<uint8_t> b;
  template <class T> Bytes& put(T v) {
    uint8_t tmp[sizeof(T)];
    std::memcpy(tmp, &v, sizeof(T));
    b.insert(b.end(), tmp, tmp + sizeof(T));
    return *this;
  }
  Bytes& u32(uint32_t v) { return put(v); }
  Bytes& u64(uint64_t v) { return put(v); }
  Bytes& str(const std::string& s) {
    u64(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& pad_to(size_t alignment) {
    while (b.size() % alignment) b.push_back(0);
    return *this;
  }
  Bytes& zeros(size_t n) {
    b.insert(b.end(), n, 0);
    return *this;
  }
};

// A small llama-shaped model: metadata of every value type, a toy vocab, tensors in F32, F16,
// Q8_0 and Q4_K, deterministic data. Returns the number of tensors written.
size_t write_tiny_model(const std::string& path, uint32_t alignment = 32);

}  // namespace fixture

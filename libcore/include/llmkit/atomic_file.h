// Output files appear complete or not at all: write to a temporary name beside the target,
// rename when done. A pending temporary is removed on destruction, and on SIGINT/SIGTERM.
#pragma once
#include <cstdio>
#include <string>

namespace llmkit {

class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path);  // throws Error("io", ...)
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);
  void write_zeros(size_t n);
  uint64_t bytes_written() const { return written_; }
  // Flushes, syncs and renames over the target. After this the destructor does nothing.
  void commit();
  const std::string& temp_path() const { return tmp_; }

 private:
  void discard() noexcept;
  std::string path_, tmp_;
  FILE* f_ = nullptr;
  uint64_t written_ = 0;
  int slot_ = -1;
};

}  // namespace llmkit

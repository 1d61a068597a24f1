// Output files appear complete or not at all: write to a temporary name beside the target,
// rename when done. A pending temporary is removed on destruction, and on SIGINT/SIGTERM.
#pragma once
#include <cstdio>
#include <string>

namespace llmkit {

// Records that this process reads `path` (a model, a vocab, a checkpoint's files): an
// AtomicFile will refuse to replace it. Files opened through map_file are noted already.
void note_input_file(const std::string& path);
void note_input_file(uint64_t dev, uint64_t ino, const std::string& path);
// Throws Error("usage") when `path` exists and is a file this process reads (noted above).
void refuse_input_file(const std::string& path);

class AtomicFile {
 public:
  // Throws Error("io", ...), or Error("usage", ...) when `path` is a file this process reads.
  explicit AtomicFile(const std::string& path);
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

// Read-only bytes of a file, mapped (GGUF and safetensors files are read in place).
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace llmkit {

// Read-only view of a file's bytes: an mmap, or borrowed memory (tests, in-memory parsing).
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual std::span<const uint8_t> bytes() const = 0;
  // The caller will not read these bytes for a while: a mapping may give their pages back (they
  // are read again from the file if needed). Borrowed memory ignores it.
  virtual void release(std::span<const uint8_t>) const {}
};
std::shared_ptr<ByteSource> map_file(const std::string& path);  // throws Error("io", ...)

}  // namespace llmkit

// Errors a user can act on: a stable machine code (for JSON error records) and a plain message.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

namespace llmkit {

class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const noexcept { return code_; }

 private:
  std::string code_;
};

// A GGUF file that is not what it claims to be. `offset` is the byte where reading stopped
// making sense, so a user (or a hex editor) can find the problem.
class GgufError : public Error {
 public:
  GgufError(uint64_t offset, const std::string& message);
  uint64_t offset() const noexcept { return offset_; }

 private:
  uint64_t offset_;
};

}  // namespace llmkit

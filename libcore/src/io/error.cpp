#include "llmkit/error.h"

namespace llmkit {

GgufError::GgufError(uint64_t offset, const std::string& message)
    : Error("bad_gguf", "at byte " + std::to_string(offset) + ": " + message), offset_(offset) {}

}  // namespace llmkit

// llama.cpp's file types (general.file_type): the preset a model was quantized with.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace llmkit {

class GgufFile;

struct FileTypeInfo {
  uint32_t id;      // value of general.file_type (llama_ftype)
  const char* name; // preset name: "Q4_K_M", "F16", "F32"
};

std::span<const FileTypeInfo> file_types();
const FileTypeInfo* file_type_info(uint32_t id);
std::optional<uint32_t> file_type_from_name(std::string_view name);  // case-insensitive

struct FileTypeGuess {
  std::string name;  // preset name, "unknown" when nothing fits
  std::optional<uint32_t> id;
  bool guessed = false;  // general.file_type absent (or unknown): inferred from tensor types
};
// general.file_type when present; otherwise the type most 2-D weights have.
FileTypeGuess file_type_of(const GgufFile& f);

}  // namespace llmkit

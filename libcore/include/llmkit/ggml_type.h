// Every tensor type that ggml (llama.cpp) defines today: id, name, block geometry.
// The table lets us list and size tensors of any type, including those we cannot compute with.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace llmkit {

enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22,
  IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
  TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
};

struct GgmlTypeInfo {
  GgmlType type;
  const char* name;       // upper case, as gguf-py and users spell it: "Q4_K", "BF16"
  uint32_t block_size;    // elements per block
  uint32_t block_bytes;   // bytes per block
  bool quantized;
};

// All defined types, in id order.
std::span<const GgmlTypeInfo> ggml_types();
// nullptr for ids that are not (or no longer) defined.
const GgmlTypeInfo* ggml_type_info(uint32_t id);
const GgmlTypeInfo& ggml_type_info(GgmlType t);
const char* ggml_type_name(GgmlType t);
// What a removed id used to be ("Q4_0_4_4"), for error messages; nullptr if never defined.
const char* ggml_removed_type_name(uint32_t id);
// Case-insensitive: "q4_k", "Q4_K", "bf16".
std::optional<GgmlType> ggml_type_from_name(std::string_view name);
// Bytes of `n` elements (n must be a multiple of the block size; caller checks).
uint64_t ggml_bytes(GgmlType t, uint64_t n);

}  // namespace llmkit

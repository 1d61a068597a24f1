// GGUF metadata values as JSON (for gguf-info --json and anything that reports metadata).
#pragma once
#include <cstdint>
#include <string>

#include "llmkit/gguf_value.h"
#include "llmkit/json_writer.h"

namespace llmkit {

// Arrays longer than `summarize_over` elements become {"type":"array","element_type":…,"length":…};
// 0 writes every element.
void write_gguf_value(JsonWriter& w, const GgufValue& v, uint64_t summarize_over = 0);
void write_gguf_array(JsonWriter& w, const GgufArray& a, uint64_t summarize_over = 0);
// For scripts: strings raw, numbers and bools plain, arrays as full JSON.
std::string gguf_value_text(const GgufValue& v);

}  // namespace llmkit

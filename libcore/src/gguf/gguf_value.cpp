#include "llmkit/gguf_value.h"

#include <cmath>
#include <limits>

namespace llmkit {

const char* gguf_type_name(GgufType t) {
  static const char* const names[kGgufTypeCount] = {"u8",  "i8",     "u16",   "i16", "u32",
                                                    "i32", "f32",    "bool",  "string",
                                                    "array", "u64",  "i64",   "f64"};
  auto i = static_cast<uint32_t>(t);
  return i < kGgufTypeCount ? names[i] : "invalid";
}

uint32_t gguf_scalar_size(GgufType t) {
  switch (t) {
    case GgufType::U8: case GgufType::I8: case GgufType::BOOL: return 1;
    case GgufType::U16: case GgufType::I16: return 2;
    case GgufType::U32: case GgufType::I32: case GgufType::F32: return 4;
    case GgufType::U64: case GgufType::I64: case GgufType::F64: return 8;
    default: return 0;
  }
}

uint64_t GgufArray::size() const {
  if (elem_type == GgufType::STRING) return strings.size();
  if (elem_type == GgufType::ARRAY) return arrays.size();
  uint32_t s = gguf_scalar_size(elem_type);
  return s ? packed.size() / s : 0;
}

void GgufArray::throw_elem_mismatch(std::string_view what, GgufType wanted) const {
  throw Error("type_mismatch", std::string(what) + ": expected an array of " + gguf_type_name(wanted) +
                                   ", the file has an array of " + gguf_type_name(elem_type));
}

GgufArray GgufArray::of(std::vector<std::string> v) {
  GgufArray a;
  a.elem_type = GgufType::STRING;
  a.strings = std::move(v);
  return a;
}

GgufArray GgufArray::of(std::vector<GgufArray> v) {
  GgufArray a;
  a.elem_type = GgufType::ARRAY;
  a.arrays = std::move(v);
  return a;
}

bool GgufValue::is_integer() const {
  switch (type()) {
    case GgufType::U8: case GgufType::I8: case GgufType::U16: case GgufType::I16:
    case GgufType::U32: case GgufType::I32: case GgufType::U64: case GgufType::I64: return true;
    default: return false;
  }
}

bool GgufValue::to_int64(int64_t* out) const {
  switch (type()) {
    case GgufType::U8: *out = std::get<uint8_t>(v); return true;
    case GgufType::I8: *out = std::get<int8_t>(v); return true;
    case GgufType::U16: *out = std::get<uint16_t>(v); return true;
    case GgufType::I16: *out = std::get<int16_t>(v); return true;
    case GgufType::U32: *out = std::get<uint32_t>(v); return true;
    case GgufType::I32: *out = std::get<int32_t>(v); return true;
    case GgufType::I64: *out = std::get<int64_t>(v); return true;
    case GgufType::U64: {
      uint64_t u = std::get<uint64_t>(v);
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
      *out = static_cast<int64_t>(u);
      return true;
    }
    default: return false;
  }
}

bool GgufValue::to_double(double* out) const {
  int64_t i;
  if (to_int64(&i)) { *out = static_cast<double>(i); return true; }
  switch (type()) {
    case GgufType::U64: *out = static_cast<double>(std::get<uint64_t>(v)); return true;
    case GgufType::F32: *out = std::get<float>(v); return true;
    case GgufType::F64: *out = std::get<double>(v); return true;
    case GgufType::BOOL: *out = std::get<bool>(v) ? 1.0 : 0.0; return true;
    default: return false;
  }
}

}  // namespace llmkit

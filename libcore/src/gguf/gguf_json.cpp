#include "llmkit/gguf_json.h"

namespace llmkit {
namespace {

template <class T> void write_elems(JsonWriter& w, const GgufArray& a) {
  for (uint64_t i = 0; i < a.size(); ++i) {
    T x = a.at<T>(i);
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) w.value(x);
    else if constexpr (std::is_signed_v<T>) w.value(int64_t(x));
    else w.value(uint64_t(x));
  }
}

}  // namespace

void write_gguf_array(JsonWriter& w, const GgufArray& a, uint64_t summarize_over) {
  if (summarize_over && a.size() > summarize_over) {
    w.begin_object().field("type", "array").field("element_type", gguf_type_name(a.elem_type));
    w.field("length", a.size()).end_object();
    return;
  }
  w.begin_array();
  switch (a.elem_type) {
    case GgufType::U8: write_elems<uint8_t>(w, a); break;
    case GgufType::I8: write_elems<int8_t>(w, a); break;
    case GgufType::U16: write_elems<uint16_t>(w, a); break;
    case GgufType::I16: write_elems<int16_t>(w, a); break;
    case GgufType::U32: write_elems<uint32_t>(w, a); break;
    case GgufType::I32: write_elems<int32_t>(w, a); break;
    case GgufType::F32: write_elems<float>(w, a); break;
    case GgufType::U64: write_elems<uint64_t>(w, a); break;
    case GgufType::I64: write_elems<int64_t>(w, a); break;
    case GgufType::F64: write_elems<double>(w, a); break;
    case GgufType::BOOL:
      for (uint8_t b : a.packed) w.value(b != 0);
      break;
    case GgufType::STRING:
      for (const auto& s : a.strings) w.value(s);
      break;
    case GgufType::ARRAY:
      for (const auto& x : a.arrays) write_gguf_array(w, x, summarize_over);
      break;
  }
  w.end_array();
}

void write_gguf_value(JsonWriter& w, const GgufValue& v, uint64_t summarize_over) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, GgufArray>) write_gguf_array(w, x, summarize_over);
        else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, bool> ||
                           std::is_same_v<T, float> || std::is_same_v<T, double>) w.value(x);
        else if constexpr (std::is_signed_v<T>) w.value(int64_t(x));
        else w.value(uint64_t(x));
      },
      v.v);
}

std::string gguf_value_text(const GgufValue& v) {
  if (const std::string* s = std::get_if<std::string>(&v.v)) return *s;
  JsonWriter w;
  write_gguf_value(w, v);
  return w.take();
}

}  // namespace llmkit

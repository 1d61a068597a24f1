// GGUF metadata values: the 13 value types, scalars, strings and (nested) arrays.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "llmkit/error.h"

namespace llmkit {

enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7, STRING = 8, ARRAY = 9,
  U64 = 10, I64 = 11, F64 = 12,
};
constexpr uint32_t kGgufTypeCount = 13;

const char* gguf_type_name(GgufType t);  // "u32", "string", "array", ...
// Bytes of one scalar element in the file; 0 for string and array.
uint32_t gguf_scalar_size(GgufType t);

template <class T> struct gguf_type_of;
template <> struct gguf_type_of<uint8_t>  { static constexpr GgufType value = GgufType::U8; };
template <> struct gguf_type_of<int8_t>   { static constexpr GgufType value = GgufType::I8; };
template <> struct gguf_type_of<uint16_t> { static constexpr GgufType value = GgufType::U16; };
template <> struct gguf_type_of<int16_t>  { static constexpr GgufType value = GgufType::I16; };
template <> struct gguf_type_of<uint32_t> { static constexpr GgufType value = GgufType::U32; };
template <> struct gguf_type_of<int32_t>  { static constexpr GgufType value = GgufType::I32; };
template <> struct gguf_type_of<float>    { static constexpr GgufType value = GgufType::F32; };
template <> struct gguf_type_of<bool>     { static constexpr GgufType value = GgufType::BOOL; };
template <> struct gguf_type_of<uint64_t> { static constexpr GgufType value = GgufType::U64; };
template <> struct gguf_type_of<int64_t>  { static constexpr GgufType value = GgufType::I64; };
template <> struct gguf_type_of<double>   { static constexpr GgufType value = GgufType::F64; };

// An array holds one element type. Scalars are kept packed little-endian (as in the file) so a
// hostile count costs at most the bytes the file really has, not a std::variant per element.
struct GgufArray {
  GgufType elem_type = GgufType::U8;
  std::vector<uint8_t> packed;          // scalar elements
  std::vector<std::string> strings;     // STRING elements
  std::vector<GgufArray> arrays;        // ARRAY elements

  uint64_t size() const;

  template <class T> T at(uint64_t i) const {
    T v;
    std::memcpy(&v, packed.data() + i * sizeof(T), sizeof(T));
    return v;
  }
  // Whole array as T; throws when the element type is not exactly T.
  template <class T> std::vector<T> as(std::string_view what = "array") const {
    if (elem_type != gguf_type_of<T>::value) throw_elem_mismatch(what, gguf_type_of<T>::value);
    std::vector<T> out(size());
    if (!out.empty()) std::memcpy(out.data(), packed.data(), out.size() * sizeof(T));
    return out;
  }
  [[noreturn]] void throw_elem_mismatch(std::string_view what, GgufType wanted) const;

  template <class T> static GgufArray of(const std::vector<T>& v) {
    GgufArray a;
    a.elem_type = gguf_type_of<T>::value;
    a.packed.resize(v.size() * sizeof(T));
    if (!v.empty()) std::memcpy(a.packed.data(), v.data(), a.packed.size());
    return a;
  }
  static GgufArray of(std::vector<std::string> v);
  static GgufArray of(std::vector<GgufArray> v);

  bool operator==(const GgufArray&) const = default;
};

// One metadata value. The variant's index equals the GGUF type id.
struct GgufValue {
  using Storage = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool,
                               std::string, GgufArray, uint64_t, int64_t, double>;
  Storage v;

  GgufValue() = default;
  template <class T, class = std::enable_if_t<std::is_arithmetic_v<T> || std::is_same_v<T, GgufArray> ||
                                              std::is_same_v<T, std::string>>>
  explicit GgufValue(T x) : v(std::move(x)) {
    static_assert(!std::is_same_v<T, char> && !std::is_same_v<T, long long> &&
                  !std::is_same_v<T, unsigned long long>, "use a fixed-width type");
  }
  explicit GgufValue(const char* s) : v(std::string(s)) {}
  explicit GgufValue(std::string_view s) : v(std::string(s)) {}

  GgufType type() const { return static_cast<GgufType>(v.index()); }
  bool operator==(const GgufValue&) const = default;
  bool is_integer() const;
  // Any integer type whose value fits in int64 (u64 above INT64_MAX fails).
  bool to_int64(int64_t* out) const;
  // Any numeric type (integers, floats, bool) as double.
  bool to_double(double* out) const;
};

}  // namespace llmkit

// GGUF reader: validates everything before trusting it, maps tensor data read-only (never copies it).
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <map>
#include <utility>
#include <vector>

#include "llmkit/byte_source.h"
#include "llmkit/error.h"
#include "llmkit/ggml_type.h"
#include "llmkit/gguf_value.h"

namespace llmkit {

constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as little-endian u32
constexpr uint32_t kGgufDefaultAlignment = 32;
constexpr uint32_t kGgufMaxAlignment = 1u << 20;
constexpr uint32_t kGgufMaxDims = 4;
constexpr uint32_t kGgufMaxArrayDepth = 16;

struct GgufKV {
  std::string key;
  GgufValue value;
};

struct TensorInfo {
  std::string name;
  GgmlType type = GgmlType::F32;
  uint32_t n_dims = 0;
  std::array<int64_t, kGgufMaxDims> ne{1, 1, 1, 1};  // ne[0] is the row length, as in ggml
  uint64_t offset = 0;       // relative to the data section, as stored in the file
  uint64_t file_offset = 0;  // absolute position in the file
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;
};

struct GgufOpenOptions {
  // Accept a file whose data section is cut short (a partial download): the header is still
  // validated, but tensor data past the end is not available. Header-only tools use this.
  bool allow_truncated_data = false;
};

class GgufFile {
 public:
  static GgufFile open(const std::string& path, const GgufOpenOptions& opt = {});
  // open() with the path in front of any error's message ("m.gguf: cannot open: No such file
  // or directory"), for callers whose own messages do not name the file.
  static GgufFile open_named(const std::string& path, const GgufOpenOptions& opt = {});
  // Parses bytes that the caller keeps alive for the GgufFile's lifetime.
  static GgufFile parse(std::span<const uint8_t> bytes, const GgufOpenOptions& opt = {});
  static GgufFile parse(std::shared_ptr<ByteSource> src, const GgufOpenOptions& opt = {});

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // start of the data section
  uint64_t file_size() const { return bytes_.size(); }
  bool data_truncated() const { return data_truncated_; }

  const std::vector<GgufKV>& metadata() const { return kv_; }
  const GgufValue* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Strict typed access: a u32 asked where the file holds an i32 or a string is an error that
  // names the key and both types. get() throws when the key is absent; get_opt() returns nullopt.
  template <class T> T get(std::string_view key) const;
  template <class T> std::optional<T> get_opt(std::string_view key) const;
  // Lenient integer access: any integer type in range (converters differ: u32 vs i32).
  std::optional<int64_t> get_int(std::string_view key) const;
  const GgufArray& get_array(std::string_view key) const;
  const GgufArray* get_array_opt(std::string_view key) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;
  // Tensor bytes inside the mapping; throws when the data was cut off (allow_truncated_data).
  std::span<const uint8_t> tensor_data(const TensorInfo& t) const;
  // Hints that a tensor's bytes are no longer needed in memory (e.g. copied into another layout).
  void release_tensor_data(const TensorInfo& t) const;

 private:
  [[noreturn]] void type_mismatch(std::string_view key, const char* wanted, GgufType has) const;
  const GgufValue& need(std::string_view key) const;

  std::shared_ptr<ByteSource> src_;
  std::span<const uint8_t> bytes_;
  uint32_t version_ = 0;
  uint32_t alignment_ = kGgufDefaultAlignment;
  uint64_t data_offset_ = 0;
  bool data_truncated_ = false;
  std::vector<GgufKV> kv_;
  std::map<std::string, size_t, std::less<>> kv_index_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;

  friend struct GgufParser;
};

template <class T> std::optional<T> GgufFile::get_opt(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (const T* p = std::get_if<T>(&v->v)) return *p;
  if constexpr (std::is_same_v<T, std::string>) {
    type_mismatch(key, "string", v->type());
  } else if constexpr (std::is_same_v<T, GgufArray>) {
    type_mismatch(key, "array", v->type());
  } else {
    type_mismatch(key, gguf_type_name(gguf_type_of<T>::value), v->type());
  }
}

template <class T> T GgufFile::get(std::string_view key) const {
  need(key);
  return *get_opt<T>(key);
}

}  // namespace llmkit

// safetensors reader: an 8-byte little-endian header length, a JSON header naming each tensor's
// dtype, shape and byte range, then the data. Everything in the header is checked against the
// file before a byte of data is trusted (a hostile file gets Error("bad_safetensors")), and the
// data is used in place through a read-only mapping.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llmkit/byte_source.h"

namespace llmkit {

// The dtypes of the format. Only the float ones carry weights llmkit converts; the others are
// read and validated (checkpoints carry integer buffers such as BERT's position_ids).
enum class StDtype { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, F8_E4M3, F8_E5M2 };
const char* st_dtype_name(StDtype d);
uint32_t st_dtype_bytes(StDtype d);

struct StTensor {
  std::string name;
  StDtype dtype = StDtype::F32;
  std::vector<int64_t> shape;  // row-major, outermost first (as PyTorch writes it)
  uint64_t n_elements = 1;
  uint64_t begin = 0, end = 0;  // byte range, relative to the data section
  std::span<const uint8_t> data;
};

// The header may not be larger than this (the reference implementation's limit too).
constexpr uint64_t kSafetensorsMaxHeader = 100u << 20;

class SafetensorsFile {
 public:
  // Throws Error("io") when the file cannot be read, Error("bad_safetensors") with the file name
  // and the problem when its contents are not a valid safetensors file.
  static SafetensorsFile open(const std::string& path);
  static SafetensorsFile parse(std::shared_ptr<ByteSource> src, const std::string& name);

  const std::string& path() const { return path_; }
  const std::vector<StTensor>& tensors() const { return tensors_; }
  const StTensor* find(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return meta_; }  // "__metadata__"
  // The caller is done with a tensor's bytes for now: their pages may be given back.
  void release(const StTensor& t) const { src_->release(t.data); }

 private:
  std::shared_ptr<ByteSource> src_;
  std::string path_;
  std::vector<StTensor> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
  std::map<std::string, std::string> meta_;
};

// A Hugging Face model folder's weights: model.safetensors, or the shards that
// model.safetensors.index.json maps every tensor to (each shard opened once, every tensor the
// index names present in its shard, no tensor in two shards).
class Checkpoint {
 public:
  static Checkpoint open_dir(const std::string& dir);

  struct Entry {
    const SafetensorsFile* file;
    const StTensor* tensor;
  };
  // In file order, shard by shard.
  const std::vector<Entry>& tensors() const { return entries_; }
  const StTensor* find(std::string_view name) const;
  const std::vector<std::string>& files() const { return names_; }

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::vector<std::string> names_;
  std::vector<Entry> entries_;
  std::map<std::string, size_t, std::less<>> index_;
};

}  // namespace llmkit

// GGUF writer: metadata, tensor table, then tensor data streamed from one producer per tensor,
// so a model larger than RAM can be written. Output goes to a temporary file in the target
// directory and is renamed into place only when complete.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "llmkit/ggml_type.h"
#include "llmkit/gguf.h"
#include "llmkit/gguf_value.h"

namespace llmkit {

// Receives one tensor's bytes, in order, in pieces of any size.
class TensorSink {
 public:
  virtual ~TensorSink() = default;
  virtual void write(const void* data, size_t n) = 0;
};
using TensorProducer = std::function<void(TensorSink&)>;

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t version = 3);

  // Sets general.alignment too (when not the default), so readers agree on the layout.
  void set_alignment(uint32_t alignment);
  uint32_t alignment() const { return alignment_; }

  // Adds or replaces a key (replacing keeps its position).
  void set(const std::string& key, GgufValue value);
  void remove(const std::string& key);
  const std::vector<GgufKV>& metadata() const { return kv_; }

  // shape[0] is the row length (ggml order). The producer must write exactly the tensor's size.
  void add_tensor(const std::string& name, GgmlType type, std::vector<int64_t> shape,
                  TensorProducer producer);
  // Copies every metadata key (but general.alignment) from an open file.
  void copy_metadata(const GgufFile& f);

  // Writes the whole file; on any error nothing is left at `path` (nor any temporary).
  void write(const std::string& path);
  // The same bytes in memory (GgufFile::parse reads them), e.g. a model built only to be run.
  std::shared_ptr<ByteSource> write_to_memory();
  // Metadata and tensor table only, as GgufFile::parse with allow_truncated_data reads them.
  std::vector<uint8_t> header() const;
  // Where a tensor's data starts relative to the data section, once all tensors are added.
  std::vector<uint64_t> tensor_offsets() const;

 private:
  template <class Out> void emit(Out& out);
  struct Pending {
    TensorInfo info;
    TensorProducer producer;
  };
  uint32_t version_;
  uint32_t alignment_ = kGgufDefaultAlignment;
  std::vector<GgufKV> kv_;
  std::vector<Pending> tensors_;
};

}  // namespace llmkit

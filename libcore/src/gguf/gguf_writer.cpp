#include "llmkit/gguf_writer.h"

#include <cstring>
#include <set>

#include "llmkit/atomic_file.h"

namespace llmkit {
namespace {

constexpr size_t kMaxTensorName = 63;  // ggml's GGML_MAX_NAME (64) minus the terminator

template <class T> void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}

void put_string(std::string& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out += s;
}

void put_array(std::string& out, const GgufArray& a) {
  put<uint32_t>(out, static_cast<uint32_t>(a.elem_type));
  put<uint64_t>(out, a.size());
  if (a.elem_type == GgufType::STRING) {
    for (const auto& s : a.strings) put_string(out, s);
  } else if (a.elem_type == GgufType::ARRAY) {
    for (const auto& x : a.arrays) put_array(out, x);
  } else {
    out.append(reinterpret_cast<const char*>(a.packed.data()), a.packed.size());
  }
}

void put_value(std::string& out, const GgufValue& v) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          put_string(out, x);
        } else if constexpr (std::is_same_v<T, GgufArray>) {
          put_array(out, x);
        } else if constexpr (std::is_same_v<T, bool>) {
          put<uint8_t>(out, x ? 1 : 0);
        } else {
          put<T>(out, x);
        }
      },
      v.v);
}

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

template <class Out>
class CountingSink final : public TensorSink {
 public:
  CountingSink(Out& f, const TensorInfo& t) : f_(f), t_(t) {}
  void write(const void* data, size_t n) override {
    if (n > t_.n_bytes - written_)
      throw Error("internal", "tensor '" + t_.name + "': producer wrote more than its " +
                                  std::to_string(t_.n_bytes) + " bytes");
    f_.write(data, n);
    written_ += n;
  }
  uint64_t written() const { return written_; }

 private:
  Out& f_;
  const TensorInfo& t_;
  uint64_t written_ = 0;
};

}  // namespace

GgufWriter::GgufWriter(uint32_t version) : version_(version) {
  if (version < 2 || version > 3) throw Error("invalid_argument", "GGUF writer: version must be 2 or 3");
}

void GgufWriter::set_alignment(uint32_t a) {
  if (a == 0 || (a & (a - 1)) != 0 || a > kGgufMaxAlignment)
    throw Error("invalid_argument", "alignment " + std::to_string(a) + " is not a power of two up to 1 MiB");
  alignment_ = a;
  if (a == kGgufDefaultAlignment) remove("general.alignment");
  else set("general.alignment", GgufValue(a));
}

void GgufWriter::set(const std::string& key, GgufValue value) {
  if (key.empty()) throw Error("invalid_argument", "empty metadata key");
  for (auto& kv : kv_)
    if (kv.key == key) {
      kv.value = std::move(value);
      return;
    }
  kv_.push_back({key, std::move(value)});
}

void GgufWriter::remove(const std::string& key) {
  std::erase_if(kv_, [&](const GgufKV& kv) { return kv.key == key; });
}

void GgufWriter::copy_metadata(const GgufFile& f) {
  for (const auto& kv : f.metadata())
    if (kv.key != "general.alignment") set(kv.key, kv.value);
}

void GgufWriter::add_tensor(const std::string& name, GgmlType type, std::vector<int64_t> shape,
                            TensorProducer producer) {
  if (name.empty() || name.size() > kMaxTensorName)
    throw Error("invalid_argument", "tensor name '" + name + "' must be 1 to 63 bytes (ggml's limit)");
  for (const auto& p : tensors_)
    if (p.info.name == name) throw Error("invalid_argument", "duplicate tensor name '" + name + "'");
  if (shape.empty() || shape.size() > kGgufMaxDims)
    throw Error("invalid_argument", "tensor '" + name + "' must have 1 to 4 dimensions");
  const GgmlTypeInfo& info = ggml_type_info(type);
  TensorInfo t;
  t.name = name;
  t.type = type;
  t.n_dims = static_cast<uint32_t>(shape.size());
  uint64_t n = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] < 0) throw Error("invalid_argument", "tensor '" + name + "' has a negative dimension");
    t.ne[d] = shape[d];
    if (__builtin_mul_overflow(n, uint64_t(shape[d]), &n))
      throw Error("invalid_argument", "tensor '" + name + "' is too large");
  }
  if (t.ne[0] % info.block_size != 0)
    throw Error("invalid_argument", "tensor '" + name + "': row length " + std::to_string(t.ne[0]) +
                                        " is not a multiple of the " + info.name + " block size " +
                                        std::to_string(info.block_size));
  t.n_elements = n;
  t.n_bytes = ggml_bytes(type, n);
  tensors_.push_back({std::move(t), std::move(producer)});
}

std::vector<uint64_t> GgufWriter::tensor_offsets() const {
  std::vector<uint64_t> out;
  uint64_t off = 0;
  for (const auto& p : tensors_) {
    out.push_back(off);
    off = align_up(off + p.info.n_bytes, alignment_);
  }
  return out;
}

std::vector<uint8_t> GgufWriter::header() const {
  std::vector<uint64_t> offsets = tensor_offsets();
  std::string head;
  head.reserve(1 << 16);
  put<uint32_t>(head, kGgufMagic);
  put<uint32_t>(head, version_);
  put<uint64_t>(head, tensors_.size());
  put<uint64_t>(head, kv_.size());
  for (const auto& kv : kv_) {
    put_string(head, kv.key);
    put<uint32_t>(head, static_cast<uint32_t>(kv.value.type()));
    put_value(head, kv.value);
  }
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const TensorInfo& t = tensors_[i].info;
    put_string(head, t.name);
    put<uint32_t>(head, t.n_dims);
    for (uint32_t d = 0; d < t.n_dims; ++d) put<uint64_t>(head, static_cast<uint64_t>(t.ne[d]));
    put<uint32_t>(head, static_cast<uint32_t>(t.type));
    put<uint64_t>(head, offsets[i]);
  }
  head.resize(align_up(head.size(), alignment_), '\0');
  return {head.begin(), head.end()};
}

template <class Out> void GgufWriter::emit(Out& out) {
  const std::vector<uint8_t> head = header();
  out.write(head.data(), head.size());
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const Pending& p = tensors_[i];
    CountingSink<Out> sink(out, p.info);
    if (p.producer) p.producer(sink);
    if (sink.written() != p.info.n_bytes)
      throw Error("internal", "tensor '" + p.info.name + "': producer wrote " + std::to_string(sink.written()) +
                                  " of " + std::to_string(p.info.n_bytes) + " bytes");
    out.write_zeros(align_up(p.info.n_bytes, alignment_) - p.info.n_bytes);
  }
}

void GgufWriter::write(const std::string& path) {
  AtomicFile out(path);
  emit(out);
  out.commit();
}

namespace {
class MemoryBytes final : public ByteSource {
 public:
  explicit MemoryBytes(size_t reserve) { v_.reserve(reserve); }
  void write(const void* data, size_t n) { v_.insert(v_.end(), static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + n); }
  void write_zeros(size_t n) { v_.resize(v_.size() + n, 0); }
  std::span<const uint8_t> bytes() const override { return v_; }

 private:
  std::vector<uint8_t> v_;
};
}  // namespace

std::shared_ptr<ByteSource> GgufWriter::write_to_memory() {
  uint64_t total = header().size();
  for (const auto& p : tensors_) total = align_up(total + p.info.n_bytes, alignment_);
  auto out = std::make_shared<MemoryBytes>(static_cast<size_t>(total));
  emit(*out);
  return out;
}

}  // namespace llmkit

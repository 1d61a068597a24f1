// GGUF parsing. Every length, count and offset is checked against the bytes that really remain
// before it is used, so a hostile file costs at most memory proportional to its own size.
#include <algorithm>
#include <bit>
#include <cinttypes>
#include <cstring>
#include <limits>

#include "llmkit/gguf.h"

static_assert(std::endian::native == std::endian::little, "llmkit reads GGUF on little-endian hosts");

namespace llmkit {
namespace {

class BorrowedBytes final : public ByteSource {
 public:
  explicit BorrowedBytes(std::span<const uint8_t> b) : b_(b) {}
  std::span<const uint8_t> bytes() const override { return b_; }

 private:
  std::span<const uint8_t> b_;
};

std::string fmt_u64(uint64_t v) { return std::to_string(v); }

}  // namespace

struct GgufParser {
  const uint8_t* base;
  uint64_t size;
  uint64_t pos = 0;

  uint64_t left() const { return size - pos; }

  [[noreturn]] void fail(const std::string& msg) const { throw GgufError(pos, msg); }
  [[noreturn]] void fail_at(uint64_t at, const std::string& msg) const { throw GgufError(at, msg); }

  void need(uint64_t n, const char* what) const {
    if (n > left())
      fail(std::string("file ends inside ") + what + " (needs " + fmt_u64(n) + " bytes, " +
           fmt_u64(left()) + " left)");
  }

  template <class T> T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, base + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }

  std::string read_string(const char* what) {
    uint64_t at = pos;
    uint64_t n = read<uint64_t>(what);
    if (n > left())
      fail_at(at, std::string(what) + " length " + fmt_u64(n) + " runs past the end of the file (" +
                      fmt_u64(left()) + " bytes left)");
    std::string s(reinterpret_cast<const char*>(base + pos), static_cast<size_t>(n));
    pos += n;
    return s;
  }

  GgufType read_type(const char* what) {
    uint64_t at = pos;
    uint32_t t = read<uint32_t>(what);
    if (t >= kGgufTypeCount) fail_at(at, std::string("unknown ") + what + " " + std::to_string(t));
    return static_cast<GgufType>(t);
  }

  // The fewest bytes one element of this type occupies: bounds an array count by what is left.
  static uint64_t min_elem_bytes(GgufType t) {
    if (t == GgufType::STRING) return 8;
    if (t == GgufType::ARRAY) return 12;
    return gguf_scalar_size(t);
  }

  GgufArray read_array(const std::string& key, uint32_t depth) {
    if (depth > kGgufMaxArrayDepth)
      fail("key '" + key + "': arrays nested deeper than " + std::to_string(kGgufMaxArrayDepth));
    GgufArray a;
    a.elem_type = read_type("array element type");
    uint64_t at = pos;
    uint64_t n = read<uint64_t>("array length");
    uint64_t min = min_elem_bytes(a.elem_type);
    if (n > left() / min)
      fail_at(at, "key '" + key + "': array of " + fmt_u64(n) + " " + gguf_type_name(a.elem_type) +
                      " elements needs at least " + (n > std::numeric_limits<uint64_t>::max() / min
                                                         ? std::string("more than 2^64")
                                                         : fmt_u64(n * min)) +
                      " bytes, only " + fmt_u64(left()) + " left");
    switch (a.elem_type) {
      case GgufType::STRING:
        a.strings.reserve(static_cast<size_t>(n));
        for (uint64_t i = 0; i < n; ++i) a.strings.push_back(read_string("string"));
        break;
      case GgufType::ARRAY:
        for (uint64_t i = 0; i < n; ++i) a.arrays.push_back(read_array(key, depth + 1));
        break;
      case GgufType::BOOL:
        a.packed.assign(base + pos, base + pos + n);
        for (uint64_t i = 0; i < n; ++i)
          if (a.packed[i] > 1) fail_at(pos + i, "key '" + key + "': bool value " + std::to_string(a.packed[i]));
        pos += n;
        break;
      default:
        a.packed.assign(base + pos, base + pos + n * min);
        pos += n * min;
    }
    return a;
  }

  GgufValue read_value(GgufType t, const std::string& key) {
    switch (t) {
      case GgufType::U8: return GgufValue(read<uint8_t>("u8 value"));
      case GgufType::I8: return GgufValue(read<int8_t>("i8 value"));
      case GgufType::U16: return GgufValue(read<uint16_t>("u16 value"));
      case GgufType::I16: return GgufValue(read<int16_t>("i16 value"));
      case GgufType::U32: return GgufValue(read<uint32_t>("u32 value"));
      case GgufType::I32: return GgufValue(read<int32_t>("i32 value"));
      case GgufType::F32: return GgufValue(read<float>("f32 value"));
      case GgufType::BOOL: {
        uint8_t b = read<uint8_t>("bool value");
        if (b > 1) fail_at(pos - 1, "key '" + key + "': bool value " + std::to_string(b) + " (must be 0 or 1)");
        return GgufValue(b != 0);
      }
      case GgufType::STRING: return GgufValue(read_string("string value"));
      case GgufType::ARRAY: return GgufValue(read_array(key, 1));
      case GgufType::U64: return GgufValue(read<uint64_t>("u64 value"));
      case GgufType::I64: return GgufValue(read<int64_t>("i64 value"));
      case GgufType::F64: return GgufValue(read<double>("f64 value"));
    }
    fail("unreachable value type");
  }

  void parse(GgufFile& f, const GgufOpenOptions& opt) {
    if (size < 4) fail("file is " + fmt_u64(size) + " bytes, too short for a GGUF header");
    uint32_t magic = read<uint32_t>("magic");
    if (magic != kGgufMagic) {
      char m[5] = {};
      std::memcpy(m, base, 4);
      for (char& c : m)
        if (c && (c < 32 || c > 126)) c = '?';
      fail_at(0, std::string("not a GGUF file (magic '") + m + "', expected 'GGUF')");
    }
    uint64_t vat = pos;
    uint32_t version = read<uint32_t>("version");
    uint32_t swapped = __builtin_bswap32(version);
    if (version >= 1 << 16 && swapped >= 1 && swapped <= 3)
      fail_at(vat, "big-endian GGUF file (version " + std::to_string(swapped) +
                       " byte-swapped): llmkit reads little-endian files only");
    if (version == 1) fail_at(vat, "GGUF version 1 is not supported (32-bit counts); re-convert the model");
    if (version < 2 || version > 3) fail_at(vat, "unsupported GGUF version " + std::to_string(version));
    f.version_ = version;

    uint64_t cat = pos;
    uint64_t n_tensors = read<uint64_t>("tensor count");
    uint64_t n_kv = read<uint64_t>("metadata count");
    // A key-value pair takes at least 13 bytes (key length, type, 1-byte value); a tensor entry
    // at least 24 (name length, dims count, type, offset).
    if (n_kv > left() / 13)
      fail_at(cat + 8, "metadata count " + fmt_u64(n_kv) + " cannot fit in the " + fmt_u64(left()) +
                           " bytes left in the file");
    if (n_tensors > left() / 24)
      fail_at(cat, "tensor count " + fmt_u64(n_tensors) + " cannot fit in the " + fmt_u64(left()) +
                       " bytes left in the file");

    f.kv_.reserve(static_cast<size_t>(n_kv));
    for (uint64_t i = 0; i < n_kv; ++i) {
      uint64_t at = pos;
      std::string key = read_string("key");
      if (key.empty()) fail_at(at, "metadata key " + fmt_u64(i) + " is empty");
      if (f.kv_index_.count(key)) fail_at(at, "duplicate metadata key '" + key + "'");
      GgufType t = read_type("value type");
      GgufValue v = read_value(t, key);
      f.kv_index_.emplace(key, f.kv_.size());
      f.kv_.push_back({std::move(key), std::move(v)});
    }

    if (const GgufValue* a = f.find("general.alignment")) {
      const uint32_t* al = std::get_if<uint32_t>(&a->v);
      if (!al)
        throw GgufError(0, std::string("general.alignment must be u32, the file has ") + gguf_type_name(a->type()));
      if (*al == 0 || (*al & (*al - 1)) != 0 || *al > kGgufMaxAlignment)
        throw GgufError(0, "general.alignment " + std::to_string(*al) +
                               " is not a power of two between 1 and 1 MiB");
      f.alignment_ = *al;
    }

    f.tensors_.reserve(static_cast<size_t>(n_tensors));
    for (uint64_t i = 0; i < n_tensors; ++i) {
      TensorInfo t;
      uint64_t at = pos;
      t.name = read_string("tensor name");
      if (t.name.empty()) fail_at(at, "tensor " + fmt_u64(i) + " has an empty name");
      if (f.tensor_index_.count(t.name))
        fail_at(at, "duplicate tensor name '" + t.name + "'");
      uint64_t dat = pos;
      t.n_dims = read<uint32_t>("tensor dimension count");
      if (t.n_dims > kGgufMaxDims)
        fail_at(dat, "tensor '" + t.name + "' has " + std::to_string(t.n_dims) + " dimensions (at most 4)");
      uint64_t n = 1;
      for (uint32_t d = 0; d < t.n_dims; ++d) {
        uint64_t eat = pos;
        uint64_t ne = read<uint64_t>("tensor dimension");
        if (ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          fail_at(eat, "tensor '" + t.name + "' dimension " + std::to_string(d) + " is " + fmt_u64(ne) +
                           " (more than 2^63-1)");
        t.ne[d] = static_cast<int64_t>(ne);
        if (__builtin_mul_overflow(n, ne, &n) || n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          fail_at(eat, "tensor '" + t.name + "' element count overflows (dimensions multiply past 2^63)");
      }
      t.n_elements = n;
      uint64_t tat = pos;
      uint32_t type = read<uint32_t>("tensor type");
      const GgmlTypeInfo* info = ggml_type_info(type);
      if (!info) {
        const char* old = ggml_removed_type_name(type);
        fail_at(tat, "tensor '" + t.name + "' has " +
                         (old ? std::string("type ") + std::to_string(type) + " (" + old +
                                    "), which ggml no longer defines; re-quantize the model"
                              : "unknown tensor type " + std::to_string(type)));
      }
      t.type = info->type;
      if (t.ne[0] % info->block_size != 0)
        fail_at(tat, "tensor '" + t.name + "': row length " + std::to_string(t.ne[0]) +
                         " is not a multiple of the " + info->name + " block size " +
                         std::to_string(info->block_size));
      uint64_t blocks = n / info->block_size;
      if (__builtin_mul_overflow(blocks, uint64_t(info->block_bytes), &t.n_bytes))
        fail_at(tat, "tensor '" + t.name + "' byte size overflows");
      uint64_t oat = pos;
      t.offset = read<uint64_t>("tensor offset");
      if (t.offset % f.alignment_ != 0)
        fail_at(oat, "tensor '" + t.name + "' data offset " + fmt_u64(t.offset) + " is not a multiple of the alignment " +
                         std::to_string(f.alignment_));
      f.tensors_.push_back(std::move(t));
      f.tensor_index_.emplace(f.tensors_.back().name, f.tensors_.size() - 1);
    }

    // The data section starts at the next multiple of the alignment after the tensor table.
    uint64_t data = pos + (f.alignment_ - pos % f.alignment_) % f.alignment_;
    f.data_offset_ = data;
    uint64_t data_size = data <= size ? size - data : 0;

    std::vector<const TensorInfo*> by_offset;
    by_offset.reserve(f.tensors_.size());
    for (auto& t : f.tensors_) {
      uint64_t end, abs_end;
      bool overflow = __builtin_add_overflow(t.offset, t.n_bytes, &end) ||
                      __builtin_add_overflow(data, end, &abs_end);
      t.file_offset = data + t.offset;  // meaningful only when !overflow, which is checked here
      if (overflow || end > data_size) {
        if (!overflow && opt.allow_truncated_data) {
          f.data_truncated_ = true;
        } else {
          throw GgufError(data, "tensor '" + t.name + "' data (offset " + fmt_u64(t.offset) + ", " +
                                    fmt_u64(t.n_bytes) + " bytes) lies outside the data section (" +
                                    fmt_u64(data_size) + " bytes)");
        }
      }
      by_offset.push_back(&t);
    }
    std::sort(by_offset.begin(), by_offset.end(),
              [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
      const TensorInfo* p = by_offset[i - 1];
      const TensorInfo* q = by_offset[i];
      if (p->n_bytes && q->n_bytes && p->offset + p->n_bytes > q->offset)
        throw GgufError(data + q->offset, "tensor '" + q->name + "' data overlaps tensor '" + p->name + "'");
    }
  }
};

GgufFile GgufFile::open(const std::string& path, const GgufOpenOptions& opt) { return parse(map_file(path), opt); }

GgufFile GgufFile::open_named(const std::string& path, const GgufOpenOptions& opt) {
  try {
    return open(path, opt);
  } catch (const Error& e) {
    throw Error(e.code(), path + ": " + e.what());
  }
}

GgufFile GgufFile::parse(std::span<const uint8_t> bytes, const GgufOpenOptions& opt) {
  return parse(std::make_shared<BorrowedBytes>(bytes), opt);
}

GgufFile GgufFile::parse(std::shared_ptr<ByteSource> src, const GgufOpenOptions& opt) {
  GgufFile f;
  f.src_ = std::move(src);
  f.bytes_ = f.src_->bytes();
  GgufParser p{f.bytes_.data(), f.bytes_.size()};
  p.parse(f, opt);
  return f;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].value;
}

const GgufValue& GgufFile::need(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) throw Error("missing_key", "metadata key '" + std::string(key) + "' is missing");
  return *v;
}

void GgufFile::type_mismatch(std::string_view key, const char* wanted, GgufType has) const {
  throw Error("type_mismatch", "metadata key '" + std::string(key) + "': expected " + wanted + ", the file has " +
                                   gguf_type_name(has));
}

std::optional<int64_t> GgufFile::get_int(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  int64_t i;
  if (!v->to_int64(&i)) type_mismatch(key, "an integer", v->type());
  return i;
}

const GgufArray& GgufFile::get_array(std::string_view key) const {
  const GgufValue& v = need(key);
  if (const GgufArray* a = std::get_if<GgufArray>(&v.v)) return *a;
  type_mismatch(key, "array", v.type());
}

const GgufArray* GgufFile::get_array_opt(std::string_view key) const {
  return has(key) ? &get_array(key) : nullptr;
}

const TensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const uint8_t> GgufFile::tensor_data(const TensorInfo& t) const {
  if (t.file_offset > bytes_.size() || t.n_bytes > bytes_.size() - t.file_offset)
    throw GgufError(t.file_offset, "tensor '" + t.name + "' data is cut off (the file is truncated)");
  return bytes_.subspan(static_cast<size_t>(t.file_offset), static_cast<size_t>(t.n_bytes));
}

void GgufFile::release_tensor_data(const TensorInfo& t) const {
  if (src_) src_->release(tensor_data(t));
}

}  // namespace llmkit

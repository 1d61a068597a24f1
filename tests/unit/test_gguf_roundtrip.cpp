// Writer -> reader round trips: every value type, tensors of several types and alignments,
// a real model copied key for key and byte for byte, and failures that leave nothing behind.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <limits>
#include <random>

#include "llmkit/gguf.h"
#include "llmkit/gguf_writer.h"
#include "support/fixture.h"

using namespace llmkit;
namespace fs = std::filesystem;

namespace {

TensorProducer bytes_of(std::vector<uint8_t> data) {
  return [data = std::move(data)](TensorSink& s) {
    // Odd-sized pieces: the writer must not care how a producer slices its output.
    for (size_t i = 0; i < data.size(); i += 7) s.write(data.data() + i, std::min<size_t>(7, data.size() - i));
  };
}

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

size_t files_in(const fs::path& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

}  // namespace

TEST_CASE("every metadata value type survives a round trip", "[gguf][writer]") {
  for (uint32_t version : {2u, 3u}) {
    GgufWriter w(version);
    std::vector<GgufKV> kvs = {
        {"u8", GgufValue(uint8_t(200))},
        {"i8", GgufValue(int8_t(-5))},
        {"u16", GgufValue(uint16_t(60000))},
        {"i16", GgufValue(int16_t(-30000))},
        {"u32", GgufValue(uint32_t(4000000000u))},
        {"i32", GgufValue(int32_t(-2000000000))},
        {"f32", GgufValue(3.5f)},
        {"bool", GgufValue(true)},
        {"string", GgufValue(std::string("h\xC3\xA9llo\0world", 12))},
        {"empty.string", GgufValue("")},
        {"u64", GgufValue(std::numeric_limits<uint64_t>::max())},
        {"i64", GgufValue(std::numeric_limits<int64_t>::min())},
        {"f64", GgufValue(3.141592653589793)},
        {"arr.u8", GgufValue(GgufArray::of(std::vector<uint8_t>{1, 2, 255}))},
        {"arr.i8", GgufValue(GgufArray::of(std::vector<int8_t>{-1, 0, 1}))},
        {"arr.u16", GgufValue(GgufArray::of(std::vector<uint16_t>{1, 65535}))},
        {"arr.i16", GgufValue(GgufArray::of(std::vector<int16_t>{-32768, 32767}))},
        {"arr.u32", GgufValue(GgufArray::of(std::vector<uint32_t>{7, 8}))},
        {"arr.i32", GgufValue(GgufArray::of(std::vector<int32_t>{-7, 8}))},
        {"arr.f32", GgufValue(GgufArray::of(std::vector<float>{0.5f, -1e30f}))},
        {"arr.bool", GgufValue()},  // set below
        {"arr.u64", GgufValue(GgufArray::of(std::vector<uint64_t>{1ull << 60}))},
        {"arr.i64", GgufValue(GgufArray::of(std::vector<int64_t>{-(1ll << 60)}))},
        {"arr.f64", GgufValue(GgufArray::of(std::vector<double>{1e300}))},
        {"arr.string", GgufValue(GgufArray::of(std::vector<std::string>{"a", "", "\xE2\x96\x81the"}))},
        {"arr.empty", GgufValue(GgufArray::of(std::vector<float>{}))},
        {"arr.nested", GgufValue(GgufArray::of(std::vector<GgufArray>{
                           GgufArray::of(std::vector<int32_t>{1, 2}),
                           GgufArray::of(std::vector<GgufArray>{GgufArray::of(std::vector<std::string>{"x"})}),
                       }))},
    };
    // A bool array with real elements (std::vector<bool> is not contiguous: build it packed).
    GgufArray bools;
    bools.elem_type = GgufType::BOOL;
    bools.packed = {1, 0, 1};
    kvs[20].value = GgufValue(bools);
    for (const auto& kv : kvs) w.set(kv.key, kv.value);

    auto dir = fixture::temp_dir();
    std::string path = (dir / "values.gguf").string();
    w.write(path);
    GgufFile f = GgufFile::open(path);
    CHECK(f.version() == version);
    REQUIRE(f.metadata().size() == kvs.size());
    for (size_t i = 0; i < kvs.size(); ++i) {
      INFO("key " << kvs[i].key);
      CHECK(f.metadata()[i].key == kvs[i].key);
      CHECK(f.metadata()[i].value == kvs[i].value);
    }
    CHECK(f.get<uint32_t>("u32") == 4000000000u);
    CHECK(f.get<std::string>("string").size() == 12);
    CHECK(f.get_array("arr.f32").as<float>() == std::vector<float>{0.5f, -1e30f});
    CHECK_THROWS_WITH(f.get_array("arr.f32").as<int32_t>("arr.f32"), Catch::Contains("array of f32"));
    CHECK(f.get_array("arr.bool").size() == 3);
    CHECK(f.get_array("arr.nested").arrays[1].arrays[0].strings[0] == "x");
  }
}

TEST_CASE("tensors of several types and alignments round-trip", "[gguf][writer]") {
  struct T { const char* name; GgmlType type; std::vector<int64_t> shape; };
  const std::vector<T> ts = {
      {"f32", GgmlType::F32, {3}},          {"f16", GgmlType::F16, {5, 3}},
      {"q4_0", GgmlType::Q4_0, {64, 2}},    {"q4_k", GgmlType::Q4_K, {256, 3}},
      {"q8_0", GgmlType::Q8_0, {32}},       {"i32", GgmlType::I32, {7}},
      {"bf16", GgmlType::BF16, {2, 2, 2}},  {"mxfp4", GgmlType::MXFP4, {32, 1, 1, 2}},
      {"q6_k", GgmlType::Q6_K, {512, 1}},   {"empty", GgmlType::F32, {0}},
  };
  for (uint32_t alignment : {1u, 8u, 32u, 64u, 4096u}) {
    INFO("alignment " << alignment);
    GgufWriter w;
    w.set("general.architecture", GgufValue("test"));
    w.set_alignment(alignment);
    std::vector<std::vector<uint8_t>> data;
    uint32_t seed = 1;
    for (const auto& t : ts) {
      uint64_t n = 1;
      for (auto d : t.shape) n *= static_cast<uint64_t>(d);
      data.push_back(random_bytes(ggml_bytes(t.type, n), seed++));
      w.add_tensor(t.name, t.type, t.shape, bytes_of(data.back()));
    }
    auto dir = fixture::temp_dir();
    std::string path = (dir / "t.gguf").string();
    w.write(path);
    GgufFile f = GgufFile::open(path);
    CHECK(f.alignment() == alignment);
    CHECK(f.has("general.alignment") == (alignment != 32));
    CHECK(f.data_offset() % alignment == 0);
    REQUIRE(f.tensors().size() == ts.size());
    for (size_t i = 0; i < ts.size(); ++i) {
      const TensorInfo& t = f.tensors()[i];
      INFO("tensor " << ts[i].name);
      CHECK(t.name == ts[i].name);
      CHECK(t.type == ts[i].type);
      CHECK(t.n_dims == ts[i].shape.size());
      for (size_t d = 0; d < ts[i].shape.size(); ++d) CHECK(t.ne[d] == ts[i].shape[d]);
      CHECK(t.offset % alignment == 0);
      auto got = f.tensor_data(t);
      CHECK(std::vector<uint8_t>(got.begin(), got.end()) == data[i]);
    }
    CHECK(files_in(dir) == 1);  // no temporary left beside the output
  }
}

TEST_CASE("a real model copied through the writer is identical key for key, byte for byte",
          "[gguf][writer][shared]") {
  GgufFile src = GgufFile::open(fixture::require_shared("models/stories260K.gguf").string());
  GgufWriter w;
  w.copy_metadata(src);
  w.set_alignment(src.alignment());
  for (const auto& t : src.tensors()) {
    std::vector<int64_t> shape(t.ne.begin(), t.ne.begin() + t.n_dims);
    w.add_tensor(t.name, t.type, shape, [&src, &t](TensorSink& s) {
      auto d = src.tensor_data(t);
      s.write(d.data(), d.size());
    });
  }
  auto dir = fixture::temp_dir();
  std::string path = (dir / "copy.gguf").string();
  w.write(path);
  GgufFile dst = GgufFile::open(path);
  REQUIRE(dst.metadata().size() == src.metadata().size());
  for (size_t i = 0; i < src.metadata().size(); ++i) {
    CHECK(dst.metadata()[i].key == src.metadata()[i].key);
    CHECK(dst.metadata()[i].value == src.metadata()[i].value);
  }
  REQUIRE(dst.tensors().size() == src.tensors().size());
  for (size_t i = 0; i < src.tensors().size(); ++i) {
    auto a = src.tensor_data(src.tensors()[i]);
    auto b = dst.tensor_data(dst.tensors()[i]);
    CHECK(dst.tensors()[i].offset == src.tensors()[i].offset);
    CHECK(std::equal(a.begin(), a.end(), b.begin(), b.end()));
  }
  // Same layout as llama.cpp's writer: the copy is the original file, byte for byte.
  CHECK(fixture::read_file(path) == fixture::read_file(fixture::require_shared("models/stories260K.gguf")));
}

TEST_CASE("a failed write leaves neither the output nor a temporary", "[gguf][writer]") {
  auto dir = fixture::temp_dir();
  std::string path = (dir / "out.gguf").string();
  {
    GgufWriter w;
    w.add_tensor("a", GgmlType::F32, {4}, [](TensorSink& s) {
      float x[4] = {};
      s.write(x, sizeof x);
    });
    w.add_tensor("b", GgmlType::F32, {4}, [](TensorSink&) { throw Error("test", "producer failed"); });
    CHECK_THROWS_WITH(w.write(path), "producer failed");
  }
  {
    GgufWriter w;
    w.add_tensor("short", GgmlType::F32, {4}, [](TensorSink& s) {
      float x[2] = {};
      s.write(x, sizeof x);
    });
    CHECK_THROWS_WITH(w.write(path), Catch::Contains("wrote 8 of 16 bytes"));
  }
  {
    GgufWriter w;
    w.add_tensor("long", GgmlType::F32, {1}, [](TensorSink& s) {
      float x[2] = {};
      s.write(x, sizeof x);
    });
    CHECK_THROWS_WITH(w.write(path), Catch::Contains("more than its 4 bytes"));
  }
  CHECK(files_in(dir) == 0);
  GgufWriter w;
  CHECK_THROWS_WITH(w.write((dir / "no/such/dir/x.gguf").string()), Catch::Contains("cannot create a temporary"));
}

TEST_CASE("the writer refuses what llama.cpp could not load", "[gguf][writer]") {
  GgufWriter w;
  CHECK_THROWS_WITH(w.add_tensor(std::string(64, 'x'), GgmlType::F32, {1}, nullptr), Catch::Contains("1 to 63 bytes"));
  CHECK_THROWS_WITH(w.add_tensor("q", GgmlType::Q4_K, {100}, nullptr), Catch::Contains("block size 256"));
  CHECK_THROWS_WITH(w.add_tensor("d", GgmlType::F32, {1, 1, 1, 1, 1}, nullptr), Catch::Contains("1 to 4 dimensions"));
  w.add_tensor("ok", GgmlType::F32, {1}, nullptr);
  CHECK_THROWS_WITH(w.add_tensor("ok", GgmlType::F32, {1}, nullptr), Catch::Contains("duplicate"));
  CHECK_THROWS_WITH(w.set_alignment(3), Catch::Contains("power of two"));
}

TEST_CASE("set replaces a key in place", "[gguf][writer]") {
  GgufWriter w;
  w.set("a", GgufValue(uint32_t(1)));
  w.set("b", GgufValue(uint32_t(2)));
  w.set("a", GgufValue("x"));
  REQUIRE(w.metadata().size() == 2);
  CHECK(w.metadata()[0].key == "a");
  CHECK(w.metadata()[0].value == GgufValue("x"));
}

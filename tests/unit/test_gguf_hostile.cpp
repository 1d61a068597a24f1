// Hostile files: every malformed header must give a GgufError naming the problem, never a crash,
// never an allocation sized by an unchecked field. Also run under ASan/UBSan (make test-sanitize).
#include <catch2/catch.hpp>

#include <limits>
#include <string>

#include "llmkit/gguf.h"
#include "llmkit/gguf_writer.h"
#include "support/fixture.h"

using fixture::Bytes;
using llmkit::GgufError;
using llmkit::GgufFile;

namespace {

constexpr uint32_t kMagic = 0x46554747;

Bytes header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
  Bytes b;
  b.u32(kMagic).u32(version).u64(n_tensors).u64(n_kv);
  return b;
}

void tensor(Bytes& b, const std::string& name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset) {
  b.str(name).u32(static_cast<uint32_t>(dims.size()));
  for (auto d : dims) b.u64(d);
  b.u32(type).u64(offset);
}

// Parses and returns the GgufError message; fails the test on success or any other exception.
std::string gguf_error(const std::vector<uint8_t>& bytes) {
  try {
    GgufFile::parse(std::span<const uint8_t>(bytes.data(), bytes.size()));
  } catch (const GgufError& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("expected GgufError, got: " << e.what());
  }
  FAIL("expected GgufError, the file parsed");
  return {};
}

std::vector<uint8_t> tiny_model_bytes(uint32_t alignment = 32) {
  auto dir = fixture::temp_dir();
  fixture::write_tiny_model((dir / "m.gguf").string(), alignment);
  return fixture::read_file(dir / "m.gguf");
}

}  // namespace

TEST_CASE("a valid file built by hand parses", "[gguf][hostile]") {
  Bytes b = header(1, 1);
  b.str("general.architecture").u32(8).str("llama");
  tensor(b, "w", {32, 2}, 0, 0);
  b.pad_to(32).zeros(32 * 2 * 4);
  GgufFile f = GgufFile::parse(std::span<const uint8_t>(b.b.data(), b.b.size()));
  CHECK(f.tensors().size() == 1);
  CHECK(f.tensors()[0].n_bytes == 256);
}

TEST_CASE("our tiny model truncated at every byte of its header is rejected", "[gguf][hostile]") {
  std::vector<uint8_t> full = tiny_model_bytes();
  GgufFile f = GgufFile::parse(std::span<const uint8_t>(full.data(), full.size()));
  const size_t header_end = f.data_offset();
  REQUIRE(header_end > 1000);
  for (size_t n = 0; n < header_end; ++n) {
    INFO("truncated to " << n << " bytes");
    gguf_error(std::vector<uint8_t>(full.begin(), full.begin() + static_cast<long>(n)));
  }
  // Cut inside the data section too: the last tensor no longer fits.
  for (size_t n : {header_end, full.size() - 1}) {
    std::string msg = gguf_error(std::vector<uint8_t>(full.begin(), full.begin() + static_cast<long>(n)));
    CHECK_THAT(msg, Catch::Contains("outside the data section"));
  }
}

TEST_CASE("stories260K truncated at every byte of its header is rejected", "[gguf][hostile][shared]") {
  std::vector<uint8_t> full = fixture::read_file(fixture::require_shared("models/stories260K.gguf"));
  GgufFile f = GgufFile::parse(std::span<const uint8_t>(full.data(), full.size()));
  for (size_t n = 0; n < f.data_offset(); ++n) {
    INFO("truncated to " << n << " bytes");
    gguf_error(std::vector<uint8_t>(full.begin(), full.begin() + static_cast<long>(n)));
  }
}

TEST_CASE("truncated data is accepted only when asked for, header facts intact", "[gguf][hostile]") {
  std::vector<uint8_t> full = tiny_model_bytes();
  GgufFile f = GgufFile::parse(std::span<const uint8_t>(full.data(), full.size()));
  std::vector<uint8_t> part(full.begin(), full.begin() + static_cast<long>(f.data_offset() + 100));
  llmkit::GgufOpenOptions opt;
  opt.allow_truncated_data = true;
  GgufFile p = GgufFile::parse(std::span<const uint8_t>(part.data(), part.size()), opt);
  CHECK(p.data_truncated());
  CHECK(p.tensors().size() == f.tensors().size());
  CHECK_THROWS_WITH(p.tensor_data(p.tensors().back()), Catch::Contains("cut off"));
}

TEST_CASE("bad magic, versions and byte order", "[gguf][hostile]") {
  CHECK_THAT(gguf_error({}), Catch::Contains("too short"));
  Bytes b;
  b.u32(0x4c4d4747).u32(3).u64(0).u64(0);
  CHECK_THAT(gguf_error(b.b), Catch::Contains("not a GGUF file"));
  CHECK_THAT(gguf_error(header(0, 0, 1).b), Catch::Contains("version 1"));
  CHECK_THAT(gguf_error(header(0, 0, 4).b), Catch::Contains("unsupported GGUF version 4"));
  Bytes be;
  be.u32(kMagic).u32(__builtin_bswap32(3)).u64(__builtin_bswap64(0)).u64(__builtin_bswap64(0));
  CHECK_THAT(gguf_error(be.b), Catch::Contains("big-endian"));
}

TEST_CASE("huge counts are bounded by the file size", "[gguf][hostile]") {
  const uint64_t huge = uint64_t(1) << 63;
  CHECK_THAT(gguf_error(header(huge, 0).b), Catch::Contains("tensor count 9223372036854775808"));
  CHECK_THAT(gguf_error(header(0, huge).b), Catch::Contains("metadata count"));
  CHECK_THAT(gguf_error(header(~uint64_t(0), ~uint64_t(0)).b), Catch::Contains("cannot fit"));
  for (uint32_t elem : {0u, 8u, 9u, 12u}) {  // u8, string, array, f64
    Bytes b = header(0, 1);
    b.str("k").u32(9).u32(elem).u64(huge);
    INFO("element type " << elem);
    CHECK_THAT(gguf_error(b.b), Catch::Contains("array of 9223372036854775808"));
  }
}

TEST_CASE("string lengths past the end", "[gguf][hostile]") {
  Bytes key = header(0, 1);
  key.u64(1000).zeros(10);
  CHECK_THAT(gguf_error(key.b), Catch::Contains("key length 1000 runs past the end"));
  Bytes val = header(0, 1);
  val.str("general.name").u32(8).u64(~uint64_t(0) - 3);
  CHECK_THAT(gguf_error(val.b), Catch::Contains("string value length"));
  Bytes name = header(1, 0);
  name.u64(uint64_t(1) << 40).zeros(40);
  CHECK_THAT(gguf_error(name.b), Catch::Contains("tensor name length"));
}

TEST_CASE("bad value types, bools and nesting", "[gguf][hostile]") {
  Bytes t = header(0, 1);
  t.str("k").u32(13).u32(0);
  CHECK_THAT(gguf_error(t.b), Catch::Contains("unknown value type 13"));
  Bytes b = header(0, 1);
  b.str("k").u32(7).put<uint8_t>(2);
  CHECK_THAT(gguf_error(b.b), Catch::Contains("bool value 2"));
  Bytes n = header(0, 1);
  n.str("deep");
  n.u32(9);
  for (int i = 0; i < 20; ++i) n.u32(9).u64(1);
  n.zeros(64);
  CHECK_THAT(gguf_error(n.b), Catch::Contains("nested deeper than 16"));
  Bytes d = header(0, 2);
  d.str("k").u32(4).u32(1).str("k").u32(4).u32(2);
  CHECK_THAT(gguf_error(d.b), Catch::Contains("duplicate metadata key 'k'"));
}

TEST_CASE("dimension products that overflow", "[gguf][hostile]") {
  Bytes b = header(1, 0);
  tensor(b, "w", {uint64_t(1) << 32, uint64_t(1) << 32, 4, 4}, 0, 0);
  CHECK_THAT(gguf_error(b.b), Catch::Contains("element count overflows"));
  Bytes big = header(1, 0);
  tensor(big, "w", {~uint64_t(0)}, 0, 0);
  CHECK_THAT(gguf_error(big.b), Catch::Contains("more than 2^63-1"));
  Bytes bytes = header(1, 0);  // elements fit in 2^63 but bytes (x4) do not
  tensor(bytes, "w", {uint64_t(1) << 62}, 0, 0);
  CHECK_THAT(gguf_error(bytes.b), Catch::Contains("byte size overflows"));
  Bytes dims = header(1, 0);
  tensor(dims, "w", {1, 1, 1, 1, 1}, 0, 0);
  CHECK_THAT(gguf_error(dims.b), Catch::Contains("5 dimensions"));
}

TEST_CASE("tensor offsets past the end, misaligned or overlapping", "[gguf][hostile]") {
  Bytes past = header(1, 0);
  tensor(past, "w", {32}, 0, 1 << 20);
  past.pad_to(32).zeros(128);
  CHECK_THAT(gguf_error(past.b), Catch::Contains("outside the data section"));
  Bytes wrap = header(1, 0);
  tensor(wrap, "w", {32}, 0, ~uint64_t(0) - 31);
  wrap.pad_to(32).zeros(128);
  CHECK_THAT(gguf_error(wrap.b), Catch::Contains("outside the data section"));
  Bytes mis = header(1, 0);
  tensor(mis, "w", {32}, 0, 4);
  mis.pad_to(32).zeros(256);
  CHECK_THAT(gguf_error(mis.b), Catch::Contains("not a multiple of the alignment 32"));
  Bytes over = header(2, 0);
  tensor(over, "a", {32}, 0, 0);
  tensor(over, "b", {32}, 0, 64);
  over.pad_to(32).zeros(256);
  CHECK_THAT(gguf_error(over.b), Catch::Contains("overlaps"));
}

TEST_CASE("unknown and removed tensor types, partial blocks", "[gguf][hostile]") {
  Bytes u = header(1, 0);
  tensor(u, "w", {32}, 99, 0);
  CHECK_THAT(gguf_error(u.b), Catch::Contains("unknown tensor type 99"));
  Bytes r = header(1, 0);
  tensor(r, "w", {32}, 31, 0);
  CHECK_THAT(gguf_error(r.b), Catch::Contains("Q4_0_4_4"));
  Bytes p = header(1, 0);
  tensor(p, "w", {100}, 12, 0);
  CHECK_THAT(gguf_error(p.b), Catch::Contains("not a multiple of the Q4_K block size 256"));
}

TEST_CASE("alignment 0, 3 and 2^30 and of the wrong type", "[gguf][hostile]") {
  for (uint32_t a : {0u, 3u, 1u << 30}) {
    Bytes b = header(0, 1);
    b.str("general.alignment").u32(4).u32(a);
    INFO("alignment " << a);
    CHECK_THAT(gguf_error(b.b), Catch::Contains("is not a power of two"));
  }
  Bytes s = header(0, 1);
  s.str("general.alignment").u32(8).str("32");
  CHECK_THAT(gguf_error(s.b), Catch::Contains("general.alignment must be u32"));
}

TEST_CASE("duplicate tensor names", "[gguf][hostile]") {
  Bytes b = header(2, 0);
  tensor(b, "w", {32}, 0, 0);
  tensor(b, "w", {32}, 0, 128);
  b.pad_to(32).zeros(256);
  CHECK_THAT(gguf_error(b.b), Catch::Contains("duplicate tensor name 'w'"));
}

TEST_CASE("a key read with the wrong type names the key and both types", "[gguf][hostile]") {
  Bytes b = header(0, 2);
  b.str("general.architecture").u32(8).str("llama");
  b.str("llama.block_count").u32(5).put<int32_t>(5);
  GgufFile f = GgufFile::parse(std::span<const uint8_t>(b.b.data(), b.b.size()));
  CHECK_THROWS_WITH(f.get<uint32_t>("general.architecture"),
                    Catch::Contains("'general.architecture'") && Catch::Contains("expected u32") &&
                        Catch::Contains("has string"));
  CHECK_THROWS_WITH(f.get<uint32_t>("llama.block_count"), Catch::Contains("expected u32, the file has i32"));
  CHECK(f.get_int("llama.block_count") == 5);  // the lenient accessor takes any integer type
  CHECK_THROWS_WITH(f.get<std::string>("missing.key"), Catch::Contains("'missing.key' is missing"));
  CHECK_THROWS_WITH(f.get_array("general.architecture"), Catch::Contains("expected array"));
  CHECK(!f.get_opt<uint32_t>("missing.key"));
}

TEST_CASE("random byte corruption of a valid header never crashes", "[gguf][hostile]") {
  std::vector<uint8_t> full = tiny_model_bytes();
  GgufFile f = GgufFile::parse(std::span<const uint8_t>(full.data(), full.size()));
  uint64_t state = 12345;
  auto next = [&] { state = state * 6364136223846793005ull + 1442695040888963407ull; return state >> 33; };
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> m = full;
    for (int k = 0; k < 1 + int(next() % 4); ++k) m[next() % f.data_offset()] = static_cast<uint8_t>(next());
    try {
      GgufFile::parse(std::span<const uint8_t>(m.data(), m.size()));
    } catch (const GgufError&) {
    }
  }
  SUCCEED("no crash on 3000 corrupted headers");
}

// Opening a model reads its header only: constant time in the size of the tensor data.
#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include "llmkit/gguf.h"
#include "llmkit/model_summary.h"
#include "support/fixture.h"

using namespace llmkit;

namespace {
long page_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt + u.ru_majflt;
}
}  // namespace

TEST_CASE("a 2 GiB model is summarised without touching its data", "[gguf][header]") {
  // A sparse file: a real header and a 2 GiB hole for the tensor data.
  fixture::Bytes b;
  b.u32(0x46554747).u32(3).u64(2).u64(1);
  b.str("general.architecture").u32(8).str("llama");
  b.str("blk.0.ffn_up.weight").u32(2).u64(8192).u64(65536).u32(1).u64(0);  // F16, 1 GiB
  b.str("blk.0.ffn_down.weight").u32(2).u64(65536).u64(8192).u32(1).u64(uint64_t(1) << 30);
  b.pad_to(32);
  auto path = fixture::temp_dir() / "sparse.gguf";
  fixture::write_file(path, b.b);
  REQUIRE(truncate(path.c_str(), static_cast<off_t>(b.b.size() + (uint64_t(2) << 30))) == 0);

  long before = page_faults();
  GgufFile f = GgufFile::open(path.string());
  ModelSummary s = summarize(f);
  long faults = page_faults() - before;
  CHECK(s.parameters == 2ull * 8192 * 65536);
  CHECK(s.tensor_bytes == uint64_t(2) << 30);
  // Reading the data would fault in 524,288 pages; the header is one.
  CHECK(faults < 200);
}

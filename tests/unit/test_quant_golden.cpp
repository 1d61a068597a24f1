// Dequantization is exact: llama.cpp's own Q4_K_M file, dequantized by us and compared with the
// F16 source, gives llama.cpp's per-tensor error (golden/quant) to 1e-6.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

#include "llmkit/gguf.h"
#include "llmkit/jsonl.h"
#include "llmkit/quant.h"
#include "support/fixture.h"

using namespace llmkit;

TEST_CASE("dequantizing llama.cpp's Q4_K_M file reproduces the golden per-tensor errors",
          "[quant][golden][shared]") {
  GgufFile q = GgufFile::open(fixture::require_shared("models/synth-llama-256.Q4_K_M.llamacpp.gguf").string());
  GgufFile src = GgufFile::open(fixture::require_shared("models/synth-llama-256.f16.gguf").string());
  JsonObject golden = fixture::read_json_file(fixture::require_shared("golden/quant/synth-llama-256.Q4_K_M.qerr.json"));
  JsonObject tensors = parse_json_object(*golden.raw("tensors"));
  REQUIRE(tensors.fields().size() == q.tensors().size());
  double err_all = 0, ref_all = 0;
  for (const auto& [name, raw] : tensors.fields()) {
    INFO(name);
    JsonObject g = parse_json_object(raw);
    const TensorInfo* tq = q.find_tensor(name);
    const TensorInfo* ts = src.find_tensor(name);
    REQUIRE(tq);
    REQUIRE(ts);
    CHECK(ggml_type_name(tq->type) == g.get_string("type"));
    std::vector<float> a = dequantize_tensor(q, *tq), b = dequantize_tensor(src, *ts);
    const auto [err, ref] = fixture::error_sums(a, b);
    err_all += err;
    ref_all += ref;
    CHECK(std::fabs(std::sqrt(err / ref) - *g.get_number("nrmse")) < 1e-6);
  }
  CHECK(std::fabs(std::sqrt(err_all / ref_all) - *golden.get_number("model_nrmse")) < 1e-6);
}

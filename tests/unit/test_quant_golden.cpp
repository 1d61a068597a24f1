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

namespace {

std::vector<float> to_f32(const GgufFile& f, const TensorInfo& t) {
  std::vector<float> out(t.n_elements);
  auto d = f.tensor_data(t);
  const int64_t row = t.ne[0];
  const uint64_t row_bytes = ggml_bytes(t.type, static_cast<uint64_t>(row));
  for (uint64_t r = 0; r < t.n_elements / static_cast<uint64_t>(row); ++r)
    dequantize_row(t.type, d.data() + r * row_bytes, out.data() + r * row, row);
  return out;
}

}  // namespace

TEST_CASE("dequantizing llama.cpp's Q4_K_M file reproduces the golden per-tensor errors",
          "[quant][golden][shared]") {
  GgufFile q = GgufFile::open(fixture::require_shared("models/synth-llama-256.Q4_K_M.llamacpp.gguf").string());
  GgufFile src = GgufFile::open(fixture::require_shared("models/synth-llama-256.f16.gguf").string());
  std::ifstream in(fixture::require_shared("golden/quant/synth-llama-256.Q4_K_M.qerr.json"));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  text.erase(std::remove(text.begin(), text.end(), '\n'), text.end());
  JsonObject golden = parse_json_object(text);
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
    std::vector<float> a = to_f32(q, *tq), b = to_f32(src, *ts);
    double err = 0, ref = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      double e = double(a[i]) - double(b[i]);
      err += e * e;
      ref += double(b[i]) * double(b[i]);
    }
    err_all += err;
    ref_all += ref;
    CHECK(std::fabs(std::sqrt(err / ref) - *g.get_number("nrmse")) < 1e-6);
  }
  CHECK(std::fabs(std::sqrt(err_all / ref_all) - *golden.get_number("model_nrmse")) < 1e-6);
}

// Synthetic models built in memory (llm-bench --synthetic) hold what gguf-synth followed by
// gguf-quantize writes: the same tensors, types and bytes, so their speed is the real file's.
#include <catch2/catch.hpp>

#include <cstring>

#include "llmkit/gguf.h"
#include "llmkit/quant_plan.h"
#include "llmkit/quantize.h"
#include "llmkit/synth_model.h"
#include "support/fixture.h"

using namespace llmkit;

namespace {
void check_same_tensors(const GgufFile& a, const GgufFile& b) {
  REQUIRE(a.tensors().size() == b.tensors().size());
  for (size_t i = 0; i < a.tensors().size(); ++i) {
    const TensorInfo &x = a.tensors()[i], &y = b.tensors()[i];
    INFO(x.name);
    CHECK(x.name == y.name);
    CHECK(x.type == y.type);
    CHECK(x.ne == y.ne);
    const auto dx = a.tensor_data(x), dy = b.tensor_data(y);
    REQUIRE(dx.size() == dy.size());
    CHECK(std::memcmp(dx.data(), dy.data(), dx.size()) == 0);
  }
  CHECK(a.get_int("general.file_type") == b.get_int("general.file_type"));
}
}  // namespace

TEST_CASE("a synthetic model in memory equals the written and quantized file, tensor for tensor", "[synth]") {
  auto dir = fixture::temp_dir();
  SynthOptions o;
  o.shape = *find_shape("synth-llama-256");
  o.shape.vocab = 2000;  // small and quick; the shape's other dimensions stay
  const std::string f16 = (dir / "f16.gguf").string();
  write_synth_model(o, f16);
  GgufFile written = GgufFile::open(f16);
  check_same_tensors(*synth_model_in_memory(o, nullptr), written);
  for (const char* name : {"Q4_K_M", "Q8_0"}) {
    INFO(name);
    const QuantPreset* preset = find_preset(name);
    const std::string q = (dir / (std::string(name) + ".gguf")).string();
    quantize_model(written, plan_quantization(written, *preset, {}), q);
    check_same_tensors(*synth_model_in_memory(o, preset), GgufFile::open(q));
  }
}

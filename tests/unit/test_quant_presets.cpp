// Every preset with a golden file: quantize synth-llama-256.f16 with our tool chain, then
//  - the type chosen for each tensor equals llama.cpp's exactly;
//  - each tensor's nrmse <= llama.cpp's x 1.005, and the whole-model nrmse <= llama.cpp's;
//  - the file size equals llama.cpp's (same layout, same types);
//  - for the IQ presets, every IQ tensor's bytes equal llama-quantize's.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <xxhash.h>

#include "llmkit/gguf.h"
#include "llmkit/imatrix.h"
#include "llmkit/jsonl.h"
#include "llmkit/quant.h"
#include "llmkit/quant_plan.h"
#include "llmkit/quantize.h"
#include "support/fixture.h"

using namespace llmkit;

TEST_CASE("every preset: llama.cpp's tensor types, at most its error, its file size", "[quant][golden][shared][slow]") {
  const std::string src_path = fixture::require_shared("models/synth-llama-256.f16.gguf").string();
  GgufFile src = GgufFile::open(src_path);
  auto dir = fixture::temp_dir();
  // The shared goldens, and tests/data/quant_qerr/ (tests/reference/quant_qerr.sh) for the presets they lack.
  for (const char* name : {"Q2_K", "Q3_K_M", "Q4_0", "Q4_1", "Q4_K_S", "Q4_K_M", "Q5_0", "Q5_1", "Q5_K_M", "Q6_K", "Q8_0",
                           "IQ4_NL", "IQ4_XS", "IQ3_XS", "IQ3_S", "IQ3_M", "IQ3_XXS", "IQ2_M", "IQ2_S", "IQ2_XS", "IQ2_XXS", "IQ1_M", "IQ1_S"}) {
    INFO("preset " << name);
    const std::string golden_name = std::string("synth-llama-256.") + name + ".qerr.json";
    const bool ours = name[0] == 'I';
    JsonObject golden = fixture::read_json_file(ours ? std::filesystem::path(LLMKIT_TEST_DATA) / "quant_qerr" / golden_name
                                                     : fixture::require_shared("golden/quant/" + golden_name));
    JsonObject gt = parse_json_object(*golden.raw("tensors"));
    const QuantPreset* preset = find_preset(name);
    REQUIRE(preset);
    // Presets whose types need a matrix: llama-imatrix's, the one llama-quantize was given.
    const bool weighted = golden.raw("imatrix") && *golden.raw("imatrix") == "true";
    const Imatrix im = weighted ? read_imatrix(std::string(LLMKIT_TEST_DATA) + "/synth-llama-256.imatrix.gguf") : Imatrix{};
    QuantPlanOptions po;
    po.has_imatrix = weighted;
    QuantPlan plan = plan_quantization(src, *preset, po);
    std::string out = (dir / (std::string(name) + ".gguf")).string();
    QuantizeOptions qo;
    if (weighted) qo.imatrix = &im, qo.imatrix_file = "tests/data/synth-llama-256.imatrix.gguf";  // as llama-quantize was given it
    quantize_model(src, plan, out, qo);
    GgufFile q = GgufFile::open(out);
    CHECK(q.file_size() == uint64_t(*golden.get_int("file_bytes")));
    CHECK(q.get<uint32_t>("general.file_type") == preset->ftype);
    CHECK(q.get<uint32_t>("general.quantization_version") == 2);
    REQUIRE(gt.fields().size() == q.tensors().size());
    double err_all = 0, ref_all = 0, worst = 0;
    int hashed = 0;
    std::string worst_name;
    for (const auto& [tname, raw] : gt.fields()) {
      INFO("tensor " << tname);
      JsonObject g = parse_json_object(raw);
      const TensorInfo* tq = q.find_tensor(tname);
      REQUIRE(tq);
      CHECK(ggml_type_name(tq->type) == g.get_string("type"));
      // IQ tensors: llama-quantize's bytes exactly (its algorithms, the same float operations).
      if (auto h = g.get_string("xxh64"); h && std::string(ggml_type_name(tq->type)).rfind("IQ", 0) == 0) {
        const auto bytes = q.tensor_data(*tq);
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH64(bytes.data(), bytes.size(), 0)));
        CHECK(std::string(hex) == *h);
        ++hashed;
      }
      std::vector<float> a = dequantize_tensor(q, *tq), b = dequantize_tensor(src, *src.find_tensor(tname));
      const auto [err, ref] = fixture::error_sums(a, b);
      err_all += err;
      ref_all += ref;
      const double ours = std::sqrt(err / ref), theirs = *g.get_number("nrmse");
      CHECK(ours <= theirs * 1.005 + 1e-9);
      if (std::getenv("LLMKIT_QUANT_DEBUG")) std::printf("  %-28s %-5s %.6f %.6f %.5f\n", tname.c_str(), ggml_type_name(tq->type), ours, theirs, ours / theirs);
      if (theirs > 0 && ours / theirs > worst) {
        worst = ours / theirs;
        worst_name = tname;
      }
    }
    if (ours) CHECK(hashed >= 20);  // every IQ tensor of the model (28 or 29 of its 39)
    const double model = std::sqrt(err_all / ref_all);
    std::printf("%-7s model nrmse %.6f (llama.cpp %.6f), worst tensor ratio %.5f (%s)\n", name, model,
                *golden.get_number("model_nrmse"), worst, worst_name.c_str());
    CHECK(model <= *golden.get_number("model_nrmse") + 5e-7);  // the shared goldens are rounded to 6 digits
  }
}

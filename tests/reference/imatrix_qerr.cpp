// Per-tensor weighted quantization error (llmkit::weighted_error) of a quantized model against
// its source, in an importance matrix's measure, for the tensors the matrix has: the figures
// tests/data/imatrix_qerr_reference.json holds for llama-quantize --imatrix (imatrix_qerr.sh).
//   imatrix_qerr SOURCE.gguf QUANTIZED.gguf IMATRIX  > JSON
#include <cstdio>

#include "llmkit/gguf.h"
#include "llmkit/imatrix.h"
#include "llmkit/quant.h"

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  const llmkit::GgufFile src = llmkit::GgufFile::open(argv[1]), q = llmkit::GgufFile::open(argv[2]);
  const llmkit::Imatrix im = llmkit::read_imatrix(argv[3]);
  std::printf("{");
  bool first = true;
  for (const auto& [name, e] : im.entries) {
    const llmkit::TensorInfo* a = src.find_tensor(name);
    const llmkit::TensorInfo* b = q.find_tensor(name);
    if (!a || !b) continue;
    const std::vector<float> x = llmkit::dequantize_tensor(src, *a), y = llmkit::dequantize_tensor(q, *b);
    const llmkit::WeightedError w = llmkit::weighted_error(x.data(), y.data(), a->ne[0], static_cast<int64_t>(x.size()) / a->ne[0], e.means());
    std::printf("%s\"%s\":{\"type\":\"%s\",\"wnrmse\":%.8g}", first ? "" : ",", name.c_str(), llmkit::ggml_type_name(b->type), w.nrmse());
    first = false;
  }
  std::printf("}\n");
  return 0;
}

// Per-tensor quantization error of a quantized model against its source, in the form of
// ../shared/golden/quant/*.qerr.json (type and nrmse per tensor, the model's nrmse, the file's
// size) plus each tensor's xxh64 (seed 0): the figures tests/data/quant_qerr/ holds for presets
// the shared goldens lack (quant_qerr.sh).
//   quant_qerr SOURCE.gguf QUANTIZED.gguf > JSON
#include <cmath>
#include <cstdio>

#include <xxhash.h>

#include "llmkit/gguf.h"
#include "llmkit/quant.h"

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const llmkit::GgufFile src = llmkit::GgufFile::open(argv[1]), q = llmkit::GgufFile::open(argv[2]);
  double err_all = 0, ref_all = 0;
  std::printf("{\"file_bytes\":%llu,\"tensors\":{", static_cast<unsigned long long>(q.file_size()));
  bool first = true;
  for (const auto& t : q.tensors()) {
    const llmkit::TensorInfo* a = src.find_tensor(t.name);
    if (!a) return 1;
    const std::vector<float> x = llmkit::dequantize_tensor(src, *a), y = llmkit::dequantize_tensor(q, t);
    double err = 0, ref = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      err += (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
      ref += double(x[i]) * x[i];
    }
    err_all += err, ref_all += ref;
    const auto bytes = q.tensor_data(t);
    std::printf("%s\"%s\":{\"type\":\"%s\",\"nrmse\":%.8g,\"xxh64\":\"%016llx\"}", first ? "" : ",", t.name.c_str(),
                llmkit::ggml_type_name(t.type), ref > 0 ? std::sqrt(err / ref) : 0.0,
                static_cast<unsigned long long>(XXH64(bytes.data(), bytes.size(), 0)));
    first = false;
  }
  std::printf("},\"model_nrmse\":%.8g}\n", std::sqrt(err_all / ref_all));
  return 0;
}

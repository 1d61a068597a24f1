#include "llmkit/quant.h"
#include "quant/kernel_ops.h"

#include <cstring>

#include "llmkit/error.h"
#include "llmkit/gguf.h"

namespace llmkit {
bool can_quantize(GgmlType t) {
  const QuantOps* ops = quant_ops(t);
  return ops && ops->from_float;  // the grid formats are read but not yet written
}
bool can_dequantize(GgmlType t) { return quant_ops(t) != nullptr; }

void dequantize_row(GgmlType t, const void* src, float* dst, int64_t n) {
  const QuantOps* ops = quant_ops(t);
  if (!ops) throw Error("unsupported_type", std::string("cannot convert ") + ggml_type_name(t) + " to F32");
  ops->to_float(src, dst, n);
}

void quantize_row(GgmlType t, const float* src, void* dst, int64_t n) {
  const QuantOps* ops = quant_ops(t);
  if (!ops || !ops->from_float) throw Error("unsupported_type", std::string("cannot quantize to ") + ggml_type_name(t));
  ops->from_float(src, dst, n);
}

void quantize_act_row(GgmlType t, const float* src, void* dst, int64_t n) {
  const QuantOps* ops = quant_ops(t);
  if (!ops) throw Error("unsupported_type", std::string("cannot quantize to ") + ggml_type_name(t));
  (ops->act_from_float ? ops->act_from_float : ops->from_float)(src, dst, n);
}

std::vector<float> dequantize_tensor(const GgufFile& f, const TensorInfo& t) {
  std::vector<float> out(t.n_elements);
  if (t.n_elements == 0) return out;
  auto d = f.tensor_data(t);
  const int64_t row = t.ne[0];
  const uint64_t row_bytes = ggml_bytes(t.type, static_cast<uint64_t>(row));
  for (uint64_t r = 0; r < t.n_elements / static_cast<uint64_t>(row); ++r)
    dequantize_row(t.type, d.data() + r * row_bytes, out.data() + r * static_cast<uint64_t>(row), row);
  return out;
}

}  // namespace llmkit

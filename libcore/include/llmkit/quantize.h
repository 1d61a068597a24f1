// Streams a model through a quantization plan into a new GGUF file: metadata copied (with
// general.file_type and general.quantization_version set as llama.cpp sets them), tensors
// converted in row chunks across threads, written as they are produced. Peak memory is a few
// chunks, not the model.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "llmkit/gguf.h"
#include "llmkit/quant_plan.h"

namespace llmkit {

struct QuantizeProgress {
  size_t tensor_index;  // 0-based, of plan.tensors
  size_t tensor_count;
  uint64_t in_bytes_done;
  uint64_t in_bytes_total;
};

struct Imatrix;
struct QuantizeOptions {
  int threads = 0;  // 0: OpenMP's default
  std::function<void(const QuantizeProgress&)> on_tensor_done;
  // Tensors with an entry here are quantized weighted by its means, for the types whose fit
  // takes weights (imatrix_weighted()); others as without it.
  const Imatrix* imatrix = nullptr;
  std::string imatrix_file;  // named in the output's quantize.imatrix.* keys, as llama-quantize does
};

// Whether quantizing to this type uses an importance matrix.
bool imatrix_weighted(GgmlType t);
// Throws Error("needs_imatrix") naming the first tensor whose type (IQ3_XXS, IQ2_*, IQ1_*) needs an
// importance matrix entry that `imatrix` (possibly none) lacks. quantize_model calls it first.
void check_imatrix_needs(const QuantPlan& plan, const Imatrix* imatrix);

struct QuantizeResult {
  uint64_t in_bytes = 0, out_bytes = 0, file_bytes = 0, parameters = 0;
  double seconds = 0;
  std::map<std::string, uint64_t> types;  // output tensor count per type
};

// Metadata of a quantized model: src's keys, with general.file_type and
// general.quantization_version set last, as llama.cpp does; src's alignment.
class GgufWriter;
void set_quantized_metadata(GgufWriter& w, const GgufFile& src, const QuantPreset& preset);

// Throws Error on bad input (NaN/Inf weights: code "bad_weights"); nothing is left at out_path then.
QuantizeResult quantize_model(const GgufFile& src, const QuantPlan& plan, const std::string& out_path,
                              const QuantizeOptions& opt = {});

// Converts `rows` rows of `ne0` elements from one type to another (dequantize, then quantize),
// in parallel over rows. Returns false if a source value was NaN or infinite.
// `weights`: an importance matrix's means for these rows (ne0 of them), or nullptr.
bool convert_rows(GgmlType from, const uint8_t* src, GgmlType to, uint8_t* dst, int64_t ne0, int64_t rows,
                  const float* weights = nullptr);

// Streams a tensor's rows converted from `from` to `to` into a sink, a chunk of rows (a few MiB
// of work) at a time, so memory holds one chunk. Throws Error("bad_weights") naming tensor
// `what` and the rows when a value is NaN or infinite.
class TensorSink;
// `weights`: an importance matrix's means, ne0 per block of `block_rows` rows (one block per
// expert of a 3-D tensor), or nullptr.
void convert_rows_to_sink(TensorSink& sink, GgmlType from, const uint8_t* src, GgmlType to, int64_t ne0, int64_t rows,
                          const std::string& what, const float* weights = nullptr, int64_t block_rows = 0);

}  // namespace llmkit

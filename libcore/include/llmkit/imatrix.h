// Importance matrices as llama.cpp defines them: for each weight matrix, the sum over the tokens of
// a calibration text of the square of each input value that multiplies its columns, and how many
// tokens were summed; the quantizers weight each column's error by the mean. Read and written in
// both of llama.cpp's forms: the GGUF file current llama-imatrix writes (`<name>.in_sum2` and
// `<name>.counts` tensors, imatrix.* keys) and the legacy `.dat`.
#pragma once
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "llmkit/model.h"

namespace llmkit {

struct ImatrixEntry {
  std::vector<float> sums;    // n_mat blocks of ne0 values (n_mat: experts; 1 for a dense matrix)
  std::vector<float> counts;  // tokens summed, per block
  // The mean square per column (sums / counts), what the quantizers weight by.
  std::vector<float> means() const;
};

struct Imatrix {
  std::map<std::string, ImatrixEntry> entries;  // by weight name ("blk.0.attn_q.weight")
  std::vector<std::string> datasets;            // calibration files
  uint32_t chunk_count = 0, chunk_size = 0;
};

// Sums the inputs of a model's weight products as llama-imatrix does: the matrices of the blocks
// ("blk.*"; "output.weight" too with process_output), from passes of at least 16 tokens.
class ImatrixCollector : public ProductObserver {
 public:
  explicit ImatrixCollector(bool process_output = false) : process_output_(process_output) {}
  void on_product(const TensorInfo& w, const float* x, int64_t n) override;
  // Throws Error("non_finite") naming the matrix when an input was NaN or infinite.
  Imatrix result(std::vector<std::string> datasets, uint32_t chunk_count, uint32_t chunk_size) const;

 private:
  bool process_output_;
  std::map<std::string, std::pair<std::vector<double>, uint64_t>> sums_;
};

// GGUF (general.type "imatrix") or llama.cpp's legacy form; written to a temporary name and
// renamed when complete.
void write_imatrix(const Imatrix& im, const std::string& path, bool legacy = false);
// Either form, told apart by the GGUF magic. Throws Error("bad_imatrix") naming what is wrong
// (a truncated file, a count or size that does not add up, a non-finite value).
Imatrix read_imatrix(const std::string& path);

// How far a quantized matrix is from its source in the importance matrix's measure: the squared
// differences of each column weighted by its mean, over the same weighting of the source's squares
// (its square root is a normalized RMS error that counts the columns the model leans on most).
// `means` holds ne0 values per block of rows / (means.size() / ne0) rows.
struct WeightedError {
  double err = 0, ref = 0;
  double nrmse() const { return ref > 0 ? std::sqrt(err / ref) : 0.0; }
};
WeightedError weighted_error(const float* source, const float* quantized, int64_t ne0, int64_t rows, const std::vector<float>& means);

// Throws Error("imatrix_mismatch") naming the first entry whose matrix the model lacks or whose
// row length differs from the matrix's.
void check_imatrix(const Imatrix& im, const GgufFile& model);

}  // namespace llmkit

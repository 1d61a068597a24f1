#include "llmkit/quantize.h"

#include <omp.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <vector>

#include "llmkit/error.h"
#include "llmkit/gguf_writer.h"
#include "llmkit/imatrix.h"
#include "llmkit/quant.h"
#include "quant/kernel_ops.h"

namespace llmkit {
namespace {

// Rows per chunk: about 8 MiB of F32 work per chunk keeps memory flat and threads busy.
int64_t chunk_rows(int64_t ne0) {
  int64_t rows = (int64_t(8) << 20) / (ne0 * 4);
  return rows < 1 ? 1 : rows;
}

bool all_finite(const float* x, int64_t n) {
  // An exponent of all ones is NaN or infinity. Integer OR-reduction: no float dependency
  // chain, so it vectorizes.
  uint32_t bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, x + i, 4);
    bad |= static_cast<uint32_t>((u & 0x7f800000u) == 0x7f800000u);
  }
  return bad == 0;
}

// Maps the source pages of the next chunk in one call instead of one fault per 64 KiB
// (MADV_POPULATE_READ, Linux 5.14+; a no-op elsewhere).
void prefault(const uint8_t* p, uint64_t n) {
#ifdef __linux__
  const uintptr_t page = 4096;
  uintptr_t a = reinterpret_cast<uintptr_t>(p) & ~(page - 1);
  uintptr_t e = reinterpret_cast<uintptr_t>(p) + n;
  madvise(reinterpret_cast<void*>(a), e - a, 22 /* MADV_POPULATE_READ */);
#else
  (void)p;
  (void)n;
#endif
}

}  // namespace

bool imatrix_weighted(GgmlType t) {
  const QuantOps* ops = quant_ops(t);
  return ops && ops->from_float_weighted;
}

bool convert_rows(GgmlType from, const uint8_t* src, GgmlType to, uint8_t* dst, int64_t ne0, int64_t rows,
                  const float* weights) {
  const QuantOps* in = quant_ops(from);
  const QuantOps* out = quant_ops(to);
  if (!in || !out) throw Error("unsupported_type", std::string("cannot convert ") + ggml_type_name(from) + " to " + ggml_type_name(to));
  const uint64_t in_row = ggml_bytes(from, static_cast<uint64_t>(ne0));
  const uint64_t out_row = ggml_bytes(to, static_cast<uint64_t>(ne0));
  bool ok = true;
#pragma omp parallel
  {
    std::vector<float> buf(static_cast<size_t>(ne0));
    bool local_ok = true;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      in->to_float(src + static_cast<uint64_t>(r) * in_row, buf.data(), ne0);
      if (!all_finite(buf.data(), ne0)) {
        local_ok = false;
        continue;
      }
      if (weights && out->from_float_weighted) out->from_float_weighted(buf.data(), dst + static_cast<uint64_t>(r) * out_row, ne0, weights);
      else out->from_float(buf.data(), dst + static_cast<uint64_t>(r) * out_row, ne0);
    }
    if (!local_ok) {
#pragma omp atomic write
      ok = false;
    }
  }
  return ok;
}

void convert_rows_to_sink(TensorSink& sink, GgmlType from, const uint8_t* src, GgmlType to, int64_t ne0, int64_t rows,
                          const std::string& what, const float* weights, int64_t block_rows) {
  const int64_t step = chunk_rows(ne0);
  const uint64_t in_row = ggml_bytes(from, static_cast<uint64_t>(ne0));
  const uint64_t out_row = ggml_bytes(to, static_cast<uint64_t>(ne0));
  std::vector<uint8_t> out(static_cast<size_t>(out_row * static_cast<uint64_t>(std::min(step, rows))));
  // Blocks of rows that share their weights (an expert of a 3-D tensor each); chunks within them.
  const int64_t block = weights && block_rows > 0 ? block_rows : rows;
  for (int64_t b0 = 0; b0 < rows; b0 += block) {
    const float* w = weights ? weights + (b0 / block) * ne0 : nullptr;
    const int64_t b1 = std::min(rows, b0 + block);
    for (int64_t r = b0; r < b1; r += step) {
      const int64_t n = std::min(step, b1 - r);
      prefault(src + static_cast<uint64_t>(r) * in_row, static_cast<uint64_t>(n) * in_row);
      if (!convert_rows(from, src + static_cast<uint64_t>(r) * in_row, to, out.data(), ne0, n, w))
        throw Error("bad_weights", "tensor '" + what + "' has NaN or infinite values (rows " + std::to_string(r) + " to " +
                                       std::to_string(r + n - 1) + ")");
      sink.write(out.data(), static_cast<size_t>(out_row * static_cast<uint64_t>(n)));
    }
  }
}

void set_quantized_metadata(GgufWriter& w, const GgufFile& src, const QuantPreset& preset) {
  w.copy_metadata(src);
  w.set_alignment(src.alignment());
  // llama.cpp sets these last (removing any earlier copy), so they end the key list.
  w.remove("general.quantization_version");
  w.set("general.quantization_version", GgufValue(uint32_t(2)));
  w.remove("general.file_type");
  w.set("general.file_type", GgufValue(preset.ftype));
}

namespace {
// The lowest-bit grid formats fit garbage without an importance matrix; llama-quantize refuses
// them too (the token embedding and the output excepted).
bool needs_imatrix(GgmlType t) {
  switch (t) {
    case GgmlType::IQ3_XXS:
    case GgmlType::IQ2_XXS:
    case GgmlType::IQ2_XS:
    case GgmlType::IQ2_S:
    case GgmlType::IQ1_S:
    case GgmlType::IQ1_M: return true;
    default: return false;
  }
}
}  // namespace

void check_imatrix_needs(const QuantPlan& plan, const Imatrix* imatrix) {
  for (const auto& tp : plan.tensors) {
    const std::string& name = tp.src->name;
    if (!tp.convert || !needs_imatrix(tp.to) || name == "token_embd.weight" || name == "output.weight") continue;
    if (!imatrix)
      throw Error("needs_imatrix", "tensor '" + name + "' would be " + ggml_type_name(tp.to) +
                                       ", which needs an importance matrix (--imatrix; llm-imatrix makes one): without one the "
                                       "fit is garbage");
    if (!imatrix->entries.count(name))
      throw Error("needs_imatrix", "tensor '" + name + "' would be " + ggml_type_name(tp.to) +
                                       ", which needs an importance matrix, and the matrix has no entry for it");
  }
}

QuantizeResult quantize_model(const GgufFile& src, const QuantPlan& plan, const std::string& out_path,
                              const QuantizeOptions& opt) {
  auto t0 = std::chrono::steady_clock::now();
  check_imatrix_needs(plan, opt.imatrix);
  if (opt.threads > 0) omp_set_num_threads(opt.threads);

  GgufWriter w;
  set_quantized_metadata(w, src, *plan.preset);
  if (opt.imatrix) {  // what llama-quantize records of its importance matrix
    w.set("quantize.imatrix.file", GgufValue(opt.imatrix_file.substr(0, 127)));
    if (!opt.imatrix->datasets.empty()) w.set("quantize.imatrix.dataset", GgufValue(opt.imatrix->datasets[0].substr(0, 127)));
    w.set("quantize.imatrix.entries_count", GgufValue(static_cast<int32_t>(opt.imatrix->entries.size())));
    if (opt.imatrix->chunk_count > 0) w.set("quantize.imatrix.chunks_count", GgufValue(static_cast<int32_t>(opt.imatrix->chunk_count)));
  }

  QuantizeResult res;
  uint64_t done = 0;
  for (size_t i = 0; i < plan.tensors.size(); ++i) {
    const TensorPlan& tp = plan.tensors[i];
    const TensorInfo& t = *tp.src;
    std::vector<int64_t> shape(t.ne.begin(), t.ne.begin() + t.n_dims);
    res.types[ggml_type_name(tp.to)]++;
    w.add_tensor(t.name, tp.to, shape, [&src, &tp, &opt, &plan, &done, i](TensorSink& sink) {
      const TensorInfo& t = *tp.src;
      auto data = src.tensor_data(t);
      if (!tp.convert) {
        sink.write(data.data(), data.size());
      } else {
        const int64_t rows = static_cast<int64_t>(t.n_elements / static_cast<uint64_t>(t.ne[0]));
        std::vector<float> means;
        if (opt.imatrix && imatrix_weighted(tp.to))
          if (auto e = opt.imatrix->entries.find(t.name); e != opt.imatrix->entries.end()) means = e->second.means();
        // One block of means per matrix of a 3-D tensor (its experts), else one for all rows.
        const int64_t n_mat = means.empty() ? 1 : static_cast<int64_t>(means.size()) / t.ne[0];
        convert_rows_to_sink(sink, t.type, data.data(), tp.to, t.ne[0], rows, t.name, means.empty() ? nullptr : means.data(),
                             n_mat > 1 ? rows / n_mat : 0);
      }
      done += t.n_bytes;
      if (opt.on_tensor_done) opt.on_tensor_done({i, plan.tensors.size(), done, plan.in_bytes});
    });
  }
  w.write(out_path);

  res.in_bytes = plan.in_bytes;
  res.out_bytes = plan.out_bytes;
  res.parameters = plan.parameters;
  res.file_bytes = GgufFile::open(out_path).file_size();
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace llmkit

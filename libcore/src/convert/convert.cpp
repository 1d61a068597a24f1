// One streaming pass from a Hugging Face folder to a GGUF file: the tensors are read from the
// mapped safetensors a chunk of rows at a time, reordered where llama's rope needs it,
// converted to their output type and written, so memory holds a few chunks, not the model.
#include <omp.h>

#include <chrono>
#include <cstring>
#include <filesystem>

#include "hf_json.h"
#include "llmkit/error.h"
#include "llmkit/gguf_writer.h"
#include "llmkit/model.h"
#include "llmkit/tokenizer.h"
#include "llmkit/quant.h"
#include "llmkit/quant_plan.h"

namespace llmkit {
namespace {

GgmlType ggml_of(StDtype d) {
  switch (d) {
    case StDtype::F32: return GgmlType::F32;
    case StDtype::F16: return GgmlType::F16;
    case StDtype::BF16: return GgmlType::BF16;
    default: throw Error("unsupported_model", std::string("dtype ") + st_dtype_name(d) + " is not converted");
  }
}

// The float type tensors are written at before any quantization (llama.cpp: convert to F16,
// then quantize).
GgmlType float_type_for(const QuantPreset& p) {
  if (p.base == GgmlType::F32 || p.base == GgmlType::BF16) return p.base;
  return GgmlType::F16;
}

// Rows of the Hugging Face tensor in the order llama's rope wants (see hf_arch.cpp): output row
// h*d + 2i + j comes from input row h*d + j*d/2 + i, for each of `heads` heads of d rows.
std::vector<uint8_t> permuted_rows(const StTensor& t, int heads) {
  const uint64_t rows = static_cast<uint64_t>(t.shape[0]);
  const uint64_t row_bytes = t.data.size() / rows;
  const uint64_t d = rows / static_cast<uint64_t>(heads), half = d / 2;
  std::vector<uint8_t> out(t.data.size());
  for (uint64_t h = 0; h < static_cast<uint64_t>(heads); ++h)
    for (uint64_t i = 0; i < half; ++i)
      for (uint64_t j = 0; j < 2; ++j)
        std::memcpy(out.data() + (h * d + 2 * i + j) * row_bytes, t.data.data() + (h * d + j * half + i) * row_bytes,
                    row_bytes);
  return out;
}

}  // namespace

HfModel read_hf_model(const std::string& dir, const Checkpoint& ck, const ConvertOptions& opt) {
  namespace fs = std::filesystem;
  const QuantPreset* preset = find_preset(opt.outtype);
  if (!preset) throw Error("usage", "--outtype " + opt.outtype + ": not f32, f16, bf16 or a gguf-quantize preset");
  auto config = hf::load_json((fs::path(dir) / "config.json").string(), true);
  if (!config->root.is_object()) throw Error("bad_checkpoint", config->path + ": not a JSON object");
  HfModel m;
  hf::read_arch(dir, *config, ck, float_type_for(*preset), m);
  std::string name = opt.name;
  if (name.empty()) {
    name = config->get_string("_name_or_path").value_or("");
    if (auto slash = name.rfind('/'); slash != std::string::npos) name = name.substr(slash + 1);
  }
  if (name.empty()) name = fs::path(dir).lexically_normal().filename().string();
  if (name.empty() || name == ".") name = fs::absolute(dir).lexically_normal().parent_path().filename().string();
  std::vector<GgufKV> head = {{"general.architecture", GgufValue(m.arch)}, {"general.name", GgufValue(name)}};
  m.metadata.insert(m.metadata.begin(), head.begin(), head.end());
  hf::read_vocab(dir, *config, opt, m);
  return m;
}

ConvertResult convert_hf_model(const std::string& dir, const std::string& out_path, const ConvertOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  if (opt.threads > 0) omp_set_num_threads(opt.threads);
  const Checkpoint ck = Checkpoint::open_dir(dir);
  ConvertResult res;
  res.model = read_hf_model(dir, ck, opt);
  const HfModel& m = res.model;
  const QuantPreset& preset = *find_preset(opt.outtype);
  const bool quantized = ggml_type_info(preset.base).quantized;

  // The file as llama.cpp's converter would write it (header only): the quantization planner
  // picks each tensor's output type from it, exactly as gguf-quantize would from that file.
  GgufWriter virt;
  for (const auto& kv : m.metadata) virt.set(kv.key, kv.value);
  virt.set("general.file_type", GgufValue(float_type_for(preset) == GgmlType::F32    ? uint32_t(0)
                                          : float_type_for(preset) == GgmlType::BF16 ? uint32_t(32)
                                                                                     : uint32_t(1)));
  std::map<std::string, const HfTensor*> by_name;
  for (const auto& t : m.tensors) {
    if (!by_name.emplace(t.name, &t).second) throw Error("bad_checkpoint", "two checkpoint tensors map to '" + t.name + "'");
    virt.add_tensor(t.name, t.type, t.shape, [](TensorSink&) {});
  }
  const std::vector<uint8_t> header = virt.header();
  const auto vf = std::make_shared<GgufFile>(GgufFile::parse(header, {.allow_truncated_data = true}));
  // The file must load: a bias of the wrong rank, a missing query weight or a transposed FFN is
  // refused now, not by the first program that reads the output.
  try {
    Model::load(vf, {.header_only = true});
    load_vocab(*vf);
  } catch (const Error& e) {
    throw Error("bad_checkpoint", dir + ": the converted model would not load: " + e.what());
  }
  const QuantPlan plan = plan_quantization(*vf, preset, {});

  GgufWriter w;
  for (const auto& kv : m.metadata) w.set(kv.key, kv.value);
  if (quantized) w.set("general.quantization_version", GgufValue(uint32_t(2)));
  w.set("general.file_type", GgufValue(preset.ftype));

  uint64_t done = 0, in_total = 0;
  for (const auto& t : m.tensors) in_total += t.src ? t.src->data.size() : t.values.size() * 4;
  QuantizeResult& q = res.q;
  for (size_t i = 0; i < plan.tensors.size(); ++i) {
    const TensorPlan& tp = plan.tensors[i];
    const HfTensor& h = *by_name.at(tp.src->name);
    q.types[ggml_type_name(tp.to)]++;
    q.parameters += tp.src->n_elements;
    q.out_bytes += tp.out_bytes;
    w.add_tensor(h.name, tp.to, h.shape, [&, i, to = tp.to](TensorSink& sink) {
      if (!h.values.empty()) {
        if (to != GgmlType::F32) throw Error("bad_checkpoint", h.name + ": a computed vector must stay F32");
        sink.write(h.values.data(), h.values.size() * sizeof(float));
        if (h.src) h.file->release(*h.src);
        done += h.values.size() * 4;
        if (opt.on_tensor_done) opt.on_tensor_done({i, plan.tensors.size(), done, in_total});
        return;
      }
      const StTensor& st = *h.src;
      const GgmlType from = ggml_of(st.dtype);
      std::vector<uint8_t> permuted;
      const uint8_t* data = st.data.data();
      if (h.permute_heads > 0) {
        permuted = permuted_rows(st, h.permute_heads);
        data = permuted.data();
      }
      if (from == to) {
        sink.write(data, st.data.size());
      } else {
        const int64_t rows = static_cast<int64_t>(st.n_elements / static_cast<uint64_t>(h.shape[0]));
        convert_rows_to_sink(sink, from, data, to, h.shape[0], rows, h.name + " (" + st.name + ")");
      }
      h.file->release(st);
      done += st.data.size();
      if (opt.on_tensor_done) opt.on_tensor_done({i, plan.tensors.size(), done, in_total});
    });
  }
  w.write(out_path);
  q.in_bytes = in_total;
  q.file_bytes = std::filesystem::file_size(out_path);
  q.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace llmkit

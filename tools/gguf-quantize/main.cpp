// gguf-quantize: FP16/BF16/F32 GGUF to any llama.cpp preset, file-compatible with llama.cpp.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "llmkit/cli.h"
#include "llmkit/jsonl.h"
#include "llmkit/table.h"
#include "llmkit/output.h"
#include "llmkit/error.h"
#include "llmkit/gguf.h"
#include "llmkit/json_writer.h"
#include "llmkit/quant_plan.h"
#include "llmkit/imatrix.h"
#include "llmkit/quantize.h"

namespace {

// JSON-lines, or on a terminal a table and a closing total line.
void print_plan(const llmkit::QuantPlan& plan) {
  const bool tty = llmkit::stdout_is_tty();
  std::vector<llmkit::JsonObject> rows;
  for (const auto& tp : plan.tensors) {
    llmkit::JsonWriter w;
    w.begin_object().field("name", tp.src->name).key("shape").begin_array();
    for (uint32_t d = 0; d < tp.src->n_dims; ++d) w.value(tp.src->ne[d]);
    w.end_array().field("from", llmkit::ggml_type_name(tp.src->type)).field("to", llmkit::ggml_type_name(tp.to));
    w.field("bytes", tp.out_bytes);
    if (!tp.note.empty()) w.field("note", tp.note);
    if (tty) rows.push_back(llmkit::parse_json_object(w.end_object().str()));
    else std::puts(w.end_object().str().c_str());
  }
  if (tty) {
    std::fputs(llmkit::format_table(rows, {{"name", "tensor"}, {"shape", "shape"}, {"from", "from"}, {"to", "to"},
                                           {"bytes", "bytes"}, {"note", "note"}}).c_str(), stdout);
    std::printf("total: %zu tensors, %.2f MiB -> %.2f MiB, %.2f bits/weight (%s)\n", plan.tensors.size(),
                double(plan.in_bytes) / 1048576.0, double(plan.out_bytes) / 1048576.0,
                plan.parameters ? double(plan.out_bytes) * 8 / double(plan.parameters) : 0.0, plan.preset->name);
    return;
  }
  llmkit::JsonWriter t;
  t.begin_object().field("total", true).field("preset", plan.preset->name);
  t.field("tensors", uint64_t(plan.tensors.size())).field("parameters", plan.parameters);
  t.field("in_bytes", plan.in_bytes).field("out_bytes", plan.out_bytes);
  t.field("bits_per_weight", plan.parameters ? double(plan.out_bytes) * 8 / double(plan.parameters) : 0.0);
  std::puts(t.end_object().str().c_str());
}

// The importance matrix: read, checked against the model (names, row lengths), narrowed to the
// tensors --include-weights names and rid of those --exclude-weights names (substrings, as
// llama-quantize matches them).
llmkit::Imatrix load_imatrix(const std::string& path, const llmkit::GgufFile& src, const llmkit::QuantPlan& plan,
                             const std::vector<std::string>& include, const std::vector<std::string>& exclude) {
  llmkit::Imatrix im = llmkit::read_imatrix(path);
  llmkit::check_imatrix(im, src);
  const auto has = [](const std::string& name, const std::vector<std::string>& parts) {
    return std::any_of(parts.begin(), parts.end(), [&](const std::string& p) { return name.find(p) != std::string::npos; });
  };
  for (auto it = im.entries.begin(); it != im.entries.end();)
    it = has(it->first, exclude) || (!include.empty() && !has(it->first, include)) ? im.entries.erase(it) : std::next(it);
  size_t used = 0;
  for (const auto& tp : plan.tensors) used += tp.convert && im.entries.count(tp.src->name) && llmkit::imatrix_weighted(tp.to);
  std::fprintf(stderr, "gguf-quantize: importance matrix %s: %zu entries, weighting %zu tensors\n", path.c_str(), im.entries.size(), used);
  return im;
}

}  // namespace

int tool_main(int argc, char** argv, llmkit::Stdout& stdout_) {
  std::vector<std::string> pos;
  int threads = 0;
  bool dry_run = false, allow_requantize = false, pure = false;
  std::vector<std::string> overrides, include_weights, exclude_weights;
  std::string imatrix_path;
  CLI::App app{
      "Quantize a GGUF model (F32/F16/BF16) to a llama.cpp preset, with llama.cpp's per-tensor type\n"
      "choices, writing a file llama.cpp and Ollama load. Usage: gguf-quantize IN.gguf OUT.gguf PRESET\n"
      "Presets: F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K",
      "gguf-quantize"};
  app.add_option("IN OUT PRESET", pos, "input model, output file, preset (with --dry-run: IN PRESET)")->required();
  app.add_option("-t,--threads", threads, "threads (default: all cores)")->check(CLI::PositiveNumber);
  app.add_flag("--dry-run", dry_run, "print the per-tensor plan as JSON-lines and write nothing");
  app.add_flag("--allow-requantize", allow_requantize, "accept already-quantized input tensors (loses accuracy)");
  app.add_option("--tensor-type", overrides, "REGEX=TYPE: tensors whose name matches get TYPE (first match wins)")
      ->allow_extra_args(false);  // one REGEX=TYPE per --tensor-type; repeat the flag for more
  app.add_flag("--pure", pure, "no mixture: every quantized tensor gets the preset's base type");
  app.add_option("--imatrix", imatrix_path, "importance matrix (llm-imatrix or llama-imatrix, GGUF or .dat) weighting the K-quant and legacy fits");
  app.add_option("--include-weights", include_weights, "use the importance matrix only for tensors whose name contains this (repeatable)")->allow_extra_args(false);
  app.add_option("--exclude-weights", exclude_weights, "do not use it for tensors whose name contains this (repeatable)")->allow_extra_args(false);
  app.set_version_flag("-V,--version", llmkit::version_line("gguf-quantize"));
  try {
    app.parse(argc, argv);
    if (pos.size() != 3 && !(dry_run && pos.size() == 2))
      throw CLI::ValidationError("arguments", "expected IN.gguf OUT.gguf PRESET");
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? llmkit::kExitOk : llmkit::kExitUsage;
  }
  const std::string in = pos[0];
  const std::string out = pos.size() == 3 ? pos[1] : "";
  const std::string preset_name = pos.back();

  try {
    const llmkit::QuantPreset* preset = llmkit::find_preset(preset_name);
    if (!preset) {
      std::string names;
      for (const auto& p : llmkit::quant_presets()) names += std::string(" ") + p.name;
      throw llmkit::Error("usage", "unknown preset '" + preset_name + "' (presets:" + names + ")");
    }
    llmkit::QuantPlanOptions po;
    po.pure = pure;
    po.allow_requantize = allow_requantize;
    for (const auto& o : overrides) po.overrides.push_back(llmkit::parse_type_override(o));
    po.has_imatrix = !imatrix_path.empty();

    if (imatrix_path.empty() && (!include_weights.empty() || !exclude_weights.empty()))
      throw llmkit::Error("usage", "--include-weights and --exclude-weights need --imatrix");
    llmkit::GgufFile src = llmkit::GgufFile::open_named(in);
    llmkit::QuantPlan plan = llmkit::plan_quantization(src, *preset, po);
    std::optional<llmkit::Imatrix> imatrix;
    if (!imatrix_path.empty()) imatrix = load_imatrix(imatrix_path, src, plan, include_weights, exclude_weights);
    if (dry_run) {
      print_plan(plan);
      return llmkit::kExitOk;
    }
    for (const auto& tp : plan.tensors)
      if (tp.convert && llmkit::ggml_type_info(tp.src->type).quantized) {
        std::fprintf(stderr, "gguf-quantize: warning: requantizing %s tensors loses accuracy\n",
                     llmkit::ggml_type_name(tp.src->type));
        break;
      }
    size_t fallbacks = 0;
    const llmkit::TensorPlan* first = nullptr;
    for (const auto& tp : plan.tensors)
      if (!tp.note.empty() && !fallbacks++) first = &tp;
    if (fallbacks)
      std::fprintf(stderr, "gguf-quantize: %zu of %zu tensors use a fallback type, e.g. %s: %s (--dry-run lists them)\n",
                   fallbacks, plan.tensors.size(), first->src->name.c_str(), first->note.c_str());

    llmkit::ProgressBar bar(llmkit::stderr_is_tty());
    llmkit::QuantizeOptions qo;
    qo.threads = threads;
    if (imatrix) qo.imatrix = &*imatrix, qo.imatrix_file = imatrix_path;
    qo.on_tensor_done = [&bar](const llmkit::QuantizeProgress& p) {
      bar.update(p.tensor_index, p.tensor_count, p.in_bytes_done, p.in_bytes_total);
    };
    llmkit::QuantizeResult r = llmkit::quantize_model(src, plan, out, qo);

    llmkit::JsonWriter w;
    w.begin_object().field("input", in).field("output", out).field("preset", preset->name);
    w.field("in_bytes", uint64_t(src.file_size())).field("out_bytes", r.file_bytes);
    w.field("parameters", r.parameters);
    w.field("bits_per_weight", r.parameters ? double(r.out_bytes) * 8 / double(r.parameters) : 0.0);
    w.field("seconds", r.seconds);
    w.key("types").begin_object();
    for (const auto& [type, n] : r.types) w.field(type, n);
    w.end_object().end_object();
    std::puts(w.str().c_str());
  } catch (const llmkit::Error& e) {
    std::fprintf(stderr, "gguf-quantize: %s\n", e.what());
    return llmkit::kExitUsage;
  }
  return llmkit::kExitOk;
}

int main(int argc, char** argv) { return llmkit::run_tool("gguf-quantize", argc, argv, tool_main); }

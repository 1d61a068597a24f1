// llm-memcalc: will this model fit, at this quantization and context, on that GPU or this
// machine; how many layers can go to the GPU; how fast can it generate. Computed from the tensors
// and the attention shape, not from a rule of thumb.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "llmkit/cli.h"
#include "llmkit/table.h"
#include "llmkit/output.h"
#include "llmkit/error.h"
#include "llmkit/gguf.h"
#include "llmkit/json_writer.h"
#include "llmkit/jsonl.h"
#include "llmkit/kv_cache.h"
#include "llmkit/memplan.h"
#include "llmkit/quant_plan.h"
#include "llmkit/system_info.h"

namespace {

using namespace llmkit;

struct Options {
  std::vector<std::string> files;
  std::string model, quant, gpu, cache_k = "f16", cache_v = "f16", output;
  int64_t n_ctx = 4096, parallel = 1, batch = 512, ngl = -1;
  double vram_gb = 0, cpu_bw = 0;
  bool fit = false, calibrate = false, list_models = false, list_gpus = false, json = false, no_repack = false;
};

struct Target {  // the GPUs asked about
  std::string name;
  int count = 0;
  double bytes = 0, bandwidth = 0;  // per GPU
};

// --gpu NAME[xN] or --vram GB.
std::optional<Target> parse_target(const Options& o) {
  if (o.gpu.empty() && o.vram_gb <= 0) return std::nullopt;
  Target t;
  if (!o.gpu.empty()) {
    std::string name = o.gpu;
    t.count = 1;
    if (auto x = name.find_last_of("xX"); !find_gpu(name) && x != std::string::npos && x + 1 < name.size() &&
                                          name.find_first_not_of("0123456789", x + 1) == std::string::npos) {
      t.count = std::stoi(name.substr(x + 1));
      name = name.substr(0, x);
    }
    const GpuSpec* g = find_gpu(name);
    if (!g) throw Error("usage", "unknown GPU '" + name + "' (--list-gpus)");
    if (t.count < 1 || t.count > 64) throw Error("usage", "GPU count must be 1 to 64");
    t.name = g->name;
    // Unified memory: the GPU may use about three quarters of it by default (macOS's limit).
    t.bytes = g->mem_gb * 1e9 * (g->unified ? 0.75 : 1.0);
    t.bandwidth = g->bandwidth_gbs * 1e9;
  } else {
    t.name = "vram", t.count = 1, t.bytes = o.vram_gb * 1e9;
  }
  return t;
}

MemOptions mem_options(const Options& o, int64_t n_ctx, int64_t ngl, int gpus) {
  MemOptions m;
  m.n_ctx = n_ctx, m.n_parallel = o.parallel, m.n_batch = o.batch;
  m.type_k = parse_cache_type(o.cache_k), m.type_v = parse_cache_type(o.cache_v);
  m.n_gpu_layers = ngl, m.n_gpus = gpus, m.repack = !o.no_repack;
  return m;
}

bool fits(const MemPlan& p, const Target& t) { return double(p.gpu_total) <= t.bytes; }

void plan_json(JsonWriter& w, const MemPlan& p) {
  w.key("weights_host_bytes").value(p.weights_host).key("weights_gpu_bytes").value(p.weights_gpu);
  w.key("mapped_only_bytes").value(p.mapped_only);
  w.key("kv_host_bytes").value(p.kv_host).key("kv_gpu_bytes").value(p.kv_gpu);
  w.key("compute_host_bytes").value(p.compute_host).key("compute_gpu_bytes").value(p.compute_gpu);
  w.key("overhead_host_bytes").value(p.overhead_host).key("overhead_gpu_bytes").value(p.overhead_gpu);
  w.key("host_total_bytes").value(p.host_total).key("gpu_total_bytes").value(p.gpu_total);
  w.key("gpu_layers").value(p.layers_gpu).key("output_on_gpu").value(p.output_gpu);
}

// Everything about one model: the plan at -c/-ngl, and with a target: fit, largest context,
// layers that fit, GPUs needed; the speed bound; the calibrated estimate.
std::string report(const ModelMemory& m, const Options& o, const std::optional<Target>& t, double cpu_bw, double efficiency) {
  JsonWriter w;
  w.begin_object();
  w.key("model").value(m.name).key("arch").value(m.arch).key("type").value(m.type);
  w.key("params").value(m.params).key("weight_bytes").value(m.weight_bytes);
  w.key("bits_per_weight").value(m.params ? 8.0 * double(m.weight_bytes) / double(m.params) : 0.0);
  w.key("layers").value(m.layers).key("kv_heads").value(m.kv_heads).key("head_dim").value(m.head_dim);
  w.key("n_ctx").value(o.n_ctx).key("parallel").value(o.parallel).key("cache_type_k").value(o.cache_k).key("cache_type_v").value(o.cache_v);
  const int gpus = t ? t->count : 0;
  const int64_t ngl = t ? (o.ngl >= 0 ? o.ngl : m.layers + 1) : 0;
  const MemPlan p = plan_memory(m, mem_options(o, o.n_ctx, ngl, gpus));
  plan_json(w, p);
  // Speed: bytes read per generated token over each side's bandwidth.
  double seconds = 0;
  if (p.read_per_token_host) seconds += double(p.read_per_token_host) / (cpu_bw > 0 ? cpu_bw : 1);
  if (t && p.read_per_token_gpu && t->bandwidth > 0) seconds += double(p.read_per_token_gpu) / (t->bandwidth * t->count);
  w.key("read_per_token_bytes").value(p.read_per_token_host + p.read_per_token_gpu);
  if (cpu_bw > 0) w.key("cpu_bandwidth_gbs").value(cpu_bw / 1e9);
  if (seconds > 0 && (cpu_bw > 0 || !p.read_per_token_host)) {
    w.key("tg_upper_ts").value(1.0 / seconds);
    if (efficiency > 0) w.key("tg_estimate_ts").value(efficiency / seconds).key("calibration_efficiency").value(efficiency);
  }
  if (t) {
    w.key("gpu").value(t->name).key("gpus").value(t->count).key("gpu_bytes").value(static_cast<uint64_t>(t->bytes));
    w.key("fits").value(fits(p, *t));
    // Largest context with every layer on the GPUs (-c in steps of 256).
    const MemOptions full = mem_options(o, 256, m.layers + 1, t->count);
    int64_t lo = 0, hi = std::max<int64_t>(m.context, 256) / 256;
    while (lo < hi) {
      const int64_t mid = (lo + hi + 1) / 2;
      MemOptions x = full;
      x.n_ctx = mid * 256;
      if (fits(plan_memory(m, x), *t)) lo = mid;
      else hi = mid - 1;
    }
    w.key("max_ctx_full_offload").value(lo * 256);
    // Most layers on the GPUs at -c.
    int64_t best = 0;
    for (int64_t n = m.layers + 1; n >= 1; --n)
      if (fits(plan_memory(m, mem_options(o, o.n_ctx, n, t->count)), *t)) {
        best = n;
        break;
      }
    w.key("max_gpu_layers").value(best);
    int need = 0;
    for (int n = 1; n <= 64 && !need; ++n) {
      Target tn = *t;
      tn.count = n;
      if (fits(plan_memory(m, mem_options(o, o.n_ctx, m.layers + 1, n)), tn)) need = n;
    }
    w.key("gpus_needed").value(int64_t(need));
  }
  w.end_object();
  return w.take();
}

double median_efficiency(std::istream& in) {
  std::vector<double> f;
  JsonlReader r(in);
  std::string line;
  uint64_t no = 0;
  while (r.next_line(line, no)) {
    try {
      JsonObject rec = parse_json_object(line);
      if (auto c = rec.get_number("ceiling_fraction")) f.push_back(*c);
    } catch (const Error&) {
    }
  }
  if (f.empty()) throw Error("usage", "--calibrate: no llm-bench generation records (ceiling_fraction) on stdin");
  std::sort(f.begin(), f.end());
  return f[f.size() / 2];
}

std::string fmt2(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", v);
  return b;
}

void table(const std::string& json) {
  const JsonObject r = parse_json_object(json);
  auto num = [&](const char* k) { return r.get_number(k).value_or(0); };
  std::printf("%s (%s, %s): %.2f GB of weights, %.2f bits/weight, -c %lld x %lld\n", r.get_string("model")->c_str(),
              r.get_string("arch")->c_str(), r.get_string("type")->c_str(), num("weight_bytes") / 1e9, num("bits_per_weight"),
              static_cast<long long>(num("n_ctx")), static_cast<long long>(num("parallel")));
  std::printf("  %-10s %10s %10s\n", "", "host GB", "per GPU GB");
  std::printf("  %-10s %10.2f %10.2f\n", "weights", num("weights_host_bytes") / 1e9, num("weights_gpu_bytes") / 1e9 / std::max(1.0, num("gpus")));
  std::printf("  %-10s %10.2f %10.2f\n", "KV cache", num("kv_host_bytes") / 1e9, num("kv_gpu_bytes") / 1e9 / std::max(1.0, num("gpus")));
  std::printf("  %-10s %10.2f %10.2f\n", "compute", num("compute_host_bytes") / 1e9, num("compute_gpu_bytes") / 1e9);
  std::printf("  %-10s %10.2f %10.2f\n", "overhead", num("overhead_host_bytes") / 1e9, num("overhead_gpu_bytes") / 1e9);
  std::printf("  %-10s %10.2f %10.2f\n", "total", num("host_total_bytes") / 1e9, num("gpu_total_bytes") / 1e9);
  if (r.has("gpu"))
    std::printf("  on %lld x %s (%.1f GB): %s; largest context fully offloaded %lld; -ngl %lld fits at -c %lld; GPUs needed %lld\n",
                static_cast<long long>(num("gpus")), r.get_string("gpu")->c_str(), num("gpu_bytes") / 1e9,
                *r.raw("fits") == "true" ? "fits" : "does not fit", static_cast<long long>(num("max_ctx_full_offload")),
                static_cast<long long>(num("max_gpu_layers")), static_cast<long long>(num("n_ctx")),
                static_cast<long long>(num("gpus_needed")));
  if (r.has("tg_upper_ts")) std::printf("  generation: at most %.1f tok/s", num("tg_upper_ts"));
  if (r.has("tg_estimate_ts")) std::printf(", about %.1f tok/s calibrated", num("tg_estimate_ts"));
  if (r.has("tg_upper_ts")) std::printf("\n");
}

// --fit on a terminal: a row per preset, sizes in GB (10^9 bytes), as the per-model table says.
void fit_table(const std::vector<std::string>& recs) {
  std::vector<JsonObject> rows;
  for (const std::string& s : recs) {
    JsonObject r = parse_json_object(s);
    if (std::any_of(rows.begin(), rows.end(), [&](const JsonObject& x) { return x.get_string("type") == r.get_string("type"); }))
      continue;  // the unquantized model again
    auto gb = [&](const char* k, const char* to) {
      if (auto v = r.get_number(k)) r.set_raw(to, fmt2(*v / 1e9));
    };
    gb("weight_bytes", "weights_gb");
    r.set_raw("kv_gb", fmt2((r.get_number("kv_host_bytes").value_or(0) + r.get_number("kv_gpu_bytes").value_or(0)) / 1e9));
    gb("host_total_bytes", "host_gb");
    if (auto v = r.get_number("gpu_total_bytes"); v && r.has("gpu")) r.set_raw("gpu_gb", fmt2(*v / 1e9));
    if (auto v = r.get_number("bits_per_weight")) r.set_raw("bpw", fmt2(*v));
    if (auto v = r.get_number("tg_upper_ts")) r.set_raw("tg", fmt2(*v));
    rows.push_back(std::move(r));
  }
  std::vector<TableColumn> cols = {{"type", "type"}, {"bpw", "bits/w"}, {"weights_gb", "weights GB"}, {"kv_gb", "KV GB"},
                                   {"host_gb", "host total GB"}};
  if (rows.front().has("gpu")) {
    cols.insert(cols.end(), {{"gpu_gb", "per GPU GB"}, {"fits", "fits"}, {"max_ctx_full_offload", "max -c on GPU"},
                             {"max_gpu_layers", "-ngl that fits"}});
  }
  cols.push_back({"tg", "tok/s at most"});
  const JsonObject& f = rows.front();
  std::printf("%s, -c %lld x %lld", f.get_string("model").value_or("").c_str(),
              static_cast<long long>(f.get_number("n_ctx").value_or(0)), static_cast<long long>(f.get_number("parallel").value_or(1)));
  if (f.has("gpu"))
    std::printf(", on %lld x %s (%.1f GB each)", static_cast<long long>(f.get_number("gpus").value_or(1)),
                f.get_string("gpu").value_or("").c_str(), f.get_number("gpu_bytes").value_or(0) / 1e9);
  std::printf("\n");
  std::fputs(format_table(rows, cols).c_str(), stdout);
}

}  // namespace

int tool_main(int argc, char** argv, llmkit::Stdout& stdout_) {
  Options o;
  CLI::App app{
      "Plan memory before loading or buying: weights, KV cache, compute buffers and totals for host RAM and each\n"
      "GPU, whether a model fits, its largest context, how many layers (-ngl) fit, and a generation speed bound.\n"
      "Models: GGUF files (header only), gguf-info --json records on stdin, or --model NAME from the catalog.",
      "llm-memcalc"};
  app.add_option("FILE", o.files, "GGUF files (a partly downloaded file works: only the header is read)");
  app.add_option("--model", o.model, "a catalog model (--list-models)");
  app.add_option("--quant", o.quant, "with --model: a gguf-quantize preset (default F16)");
  app.add_option("-c,--ctx-size", o.n_ctx, "context per sequence (default 4096)")->check(CLI::PositiveNumber);
  app.add_option("--parallel", o.parallel, "sequences (-np; default 1)")->check(CLI::PositiveNumber);
  app.add_option("-b,--batch-size", o.batch, "tokens per forward pass (default 512)")->check(CLI::PositiveNumber);
  app.add_option("--cache-type-k", o.cache_k, "KV cache type for keys: f16, f32, q8_0 (-ctk)");
  app.add_option("--cache-type-v", o.cache_v, "KV cache type for values: f16, f32, q8_0 (-ctv)");
  app.add_option("--n-gpu-layers", o.ngl, "layers on the GPUs (-ngl; default: all with --gpu/--vram)");
  app.add_option("--gpu", o.gpu, "a catalog GPU, NAME or NAMExN for N of them (--list-gpus)");
  app.add_option("--vram", o.vram_gb, "GPU memory in GB instead of --gpu");
  app.add_option("--cpu-bandwidth", o.cpu_bw, "host memory bandwidth in GB/s (default: measured)");
  app.add_flag("--fit", o.fit, "every quantization preset with its size, and whether it fits");
  app.add_flag("--calibrate", o.calibrate, "read llm-bench records on stdin: speed estimate from their share of the ceiling");
  app.add_flag("--list-models", o.list_models, "print the model catalog and exit");
  app.add_flag("--list-gpus", o.list_gpus, "print the GPU catalog and exit");
  app.add_flag("--json", o.json, "JSON-lines even on a terminal");
  app.add_flag("--no-repack", o.no_repack, "plan for weights used in the file's layout (as llm-generate --no-repack)");
  app.set_version_flag("-V,--version", version_line("llm-memcalc"));
  if (!rewrite_llama_flags("llm-memcalc", argc, argv, {{"-np", "--parallel"}, {"-ngl", "--n-gpu-layers"}, {"-ctk", "--cache-type-k"}, {"-ctv", "--cache-type-v"}})) return kExitUsage;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  const bool as_json = o.json || !stdout_is_tty();
  auto emit = [&](const std::string& rec) {
    if (as_json) stdout_.record(rec);
    else table(rec);
  };
  if (o.list_models || o.list_gpus) {  // JSON-lines, or tables on a terminal
    std::vector<JsonObject> models, gpus;
    JsonWriter w;
    if (o.list_models)
      for (const ModelShape& m : model_shapes()) {
        JsonWriter r;
        r.begin_object().key("model").value(m.name).key("arch").value(m.arch).key("layers").value(m.layers);
        r.key("embd").value(m.embd).key("heads").value(m.heads).key("kv_heads").value(m.kv_heads).key("head_dim").value(m.head_dim);
        r.key("ff").value(m.ff).key("vocab").value(m.vocab).key("context").value(m.context).key("experts").value(m.experts);
        r.key("swa_window").value(m.swa_window).end_object();
        if (as_json) stdout_.record(r.str());
        else models.push_back(parse_json_object(r.str()));
      }
    if (o.list_gpus)
      for (const GpuSpec& g : gpu_catalog()) {
        JsonWriter r;
        r.begin_object().key("gpu").value(g.name).key("memory_gb").value(g.mem_gb).key("bandwidth_gbs").value(g.bandwidth_gbs);
        r.key("unified").value(g.unified).end_object();
        if (as_json) stdout_.record(r.str());
        else gpus.push_back(parse_json_object(r.str()));
      }
    if (!models.empty())
      std::fputs(format_table(models, {{"model", "model"}, {"arch", "arch"}, {"layers", "layers"}, {"embd", "embd"},
                                       {"heads", "heads"}, {"kv_heads", "kv heads"}, {"ff", "ff"}, {"vocab", "vocab"},
                                       {"context", "context"}, {"experts", "experts"}}).c_str(), stdout);
    if (!gpus.empty())
      std::fputs(format_table(gpus, {{"gpu", "gpu"}, {"memory_gb", "memory GB"}, {"bandwidth_gbs", "bandwidth GB/s"},
                                     {"unified", "unified"}}).c_str(), stdout);
    return kExitOk;
  }

  std::optional<Target> target;
  double efficiency = 0, cpu_bw = o.cpu_bw * 1e9;
  const QuantPreset* preset = nullptr;
  try {
    target = parse_target(o);
    parse_cache_type(o.cache_k), parse_cache_type(o.cache_v);
    if (!o.quant.empty() && !(preset = find_preset(o.quant)) && o.quant != "F16" && o.quant != "f16")
      throw Error("usage", "unknown preset '" + o.quant + "'");
    if (!o.quant.empty() && o.model.empty()) throw Error("usage", "--quant goes with --model (a file has its own types)");
    if (o.calibrate) {
      if (o.files.empty() && o.model.empty()) throw Error("usage", "--calibrate reads stdin: name the model with FILE or --model");
      efficiency = median_efficiency(std::cin);
    }
    if (!o.model.empty() && !find_shape(o.model)) throw Error("usage", "unknown model '" + o.model + "' (--list-models)");
  } catch (const Error& e) {
    std::fprintf(stderr, "llm-memcalc: %s\n", e.what());
    return kExitUsage;
  }
  const bool need_cpu = !target || o.ngl >= 0;
  if (cpu_bw <= 0 && need_cpu) cpu_bw = measure_read_bandwidth(static_cast<int>(std::max(1, system_info().cores)), uint64_t(128) << 20, 3);

  int status = kExitOk;
  try {
    if (!o.model.empty()) {
      const ModelShape& c = *find_shape(o.model);
      if (o.fit) {  // every preset: JSON-lines, or on a terminal one table a buyer can read
        std::vector<std::string> recs;
        for (const QuantPreset& qp : quant_presets()) recs.push_back(report(model_memory(c, &qp), o, target, cpu_bw, efficiency));
        recs.push_back(report(model_memory(c, nullptr), o, target, cpu_bw, efficiency));
        if (as_json) {
          for (const std::string& r : recs) stdout_.record(r);
        } else {
          fit_table(recs);
        }
        return kExitOk;
      }
      emit(report(model_memory(c, preset), o, target, cpu_bw, efficiency));
      return kExitOk;
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "llm-memcalc: %s\n", e.what());
    return kExitUsage;
  }
  std::vector<std::string> paths = o.files;
  const bool from_stdin = paths.empty();
  if (from_stdin && isatty(0)) {
    std::fprintf(stderr, "llm-memcalc: no FILE, no --model, and stdin is a terminal (try --help)\n");
    return kExitUsage;
  }
  auto one = [&](const std::string& path, const JsonObject* rec) {
    GgufOpenOptions go;
    go.allow_truncated_data = true;
    const GgufFile f = GgufFile::open(path, go);
    ModelMemory m = model_memory(f);
    if (m.name.empty()) m.name = path;
    std::string out = report(m, o, target, cpu_bw, efficiency);
    if (rec && as_json) {  // keep the record's fields, add ours
      JsonObject r = *rec;
      const JsonObject ours = parse_json_object(out);
      for (const auto& [k, v] : ours.fields()) r.set_raw(k, v);
      out = r.dump();
    }
    emit(out);
  };
  if (!from_stdin) {
    for (const std::string& p : paths) try {
        one(p, nullptr);
      } catch (const Error& e) {
        std::fprintf(stderr, "llm-memcalc: %s: %s\n", p.c_str(), e.what());
        status = kExitUsage;
      }
    return status;
  }
  JsonlReader reader(std::cin);
  std::string line;
  uint64_t no = 0;
  while (reader.next_line(line, no)) {
    JsonObject rec;
    try {
      rec = parse_json_object(line);
      auto path = rec.get_string("path");
      if (!path) throw Error("missing_field", "record has no \"path\" (gguf-info --json gives one)");
      one(*path, &rec);
    } catch (const Error& e) {
      stdout_.record(error_record(&rec, e.code(), e.what(), no));
      status = kExitSomeFailed;
    }
  }
  return status;
}

int main(int argc, char** argv) { return llmkit::run_tool("llm-memcalc", argc, argv, tool_main); }

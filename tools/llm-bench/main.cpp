// llm-bench: tokens/s of prompt processing and generation, as llama-bench measures them, with the
// machine's memory bandwidth as the ceiling for generation.
#include <CLI/CLI.hpp>
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "llmkit/cli.h"
#include "llmkit/output.h"
#include "llmkit/error.h"
#include "llmkit/gguf.h"
#include "llmkit/model.h"
#include "llmkit/model_summary.h"
#include "llmkit/quant.h"
#include "llmkit/quant_plan.h"
#include "llmkit/synth_model.h"
#include "llmkit/system_info.h"
#include "report.h"
#include "run_test.h"
#include "svg_plot.h"

namespace {

using namespace llmkit;
using namespace llmkit::bench;

// "1,2,4" or "1-4" (every value) or a mix: "1,8-10".
std::vector<int64_t> parse_list(const std::string& s, const char* what, int64_t min) {
  std::vector<int64_t> out;
  size_t i = 0;
  while (i <= s.size()) {
    const size_t j = std::min(s.find(',', i), s.size());
    const std::string item = s.substr(i, j - i);
    try {
      size_t used = 0;
      const int64_t a = std::stoll(item, &used);
      int64_t b = a;
      if (used < item.size()) {
        if (item[used] != '-') throw std::invalid_argument(item);
        size_t used2 = 0;
        b = std::stoll(item.substr(used + 1), &used2);
        if (used + 1 + used2 != item.size() || b < a || b - a > 4096) throw std::invalid_argument(item);
      }
      for (int64_t v = a; v <= b; ++v) {
        if (v < min) throw std::invalid_argument(item);
        out.push_back(v);
      }
    } catch (const std::logic_error&) {
      throw Error("usage", std::string(what) + ": '" + item + "' is not a number (or range a-b) of at least " + std::to_string(min));
    }
    i = j + 1;
  }
  return out;
}

struct ModelSource {
  std::string label;   // file path or "synthetic:SHAPE:TYPE"
  std::shared_ptr<const GgufFile> file;
};

ModelSource synthetic(const std::string& spec) {
  const size_t c = spec.rfind(':');
  if (c == std::string::npos) throw Error("usage", "--synthetic wants SHAPE:TYPE (e.g. tinyllama-1.1b:Q4_K_M), got '" + spec + "'");
  const std::string shape = spec.substr(0, c), type = spec.substr(c + 1);
  const ModelShape* s = find_shape(shape);
  if (!s) throw Error("usage", "unknown shape '" + shape + "' (known: " + shape_names() + ")");
  SynthOptions o;
  o.shape = *s;
  const QuantPreset* preset = nullptr;
  if (type == "F16" || type == "f16") o.type = GgmlType::F16;
  else if (type == "BF16" || type == "bf16") o.type = GgmlType::BF16;
  else if (type == "F32" || type == "f32") o.type = GgmlType::F32;
  else if (!(preset = find_preset(type))) throw Error("usage", "unknown type '" + type + "' (a gguf-quantize preset, or F16, BF16, F32)");
  return {"synthetic:" + spec, synth_model_in_memory(o, preset)};
}

std::string model_type(const ModelSummary& s) {
  char b[64];
  const double p = static_cast<double>(s.parameters);
  if (p >= 1e9) std::snprintf(b, sizeof b, "%.1fB", p / 1e9);
  else std::snprintf(b, sizeof b, "%.0fM", p / 1e6);
  return s.architecture + " " + b + " " + (s.file_type.empty() ? "?" : s.file_type);
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}
double stddev(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

}  // namespace

int tool_main(int argc, char** argv, llmkit::Stdout& stdout_) {
  if (!rewrite_llama_flags("llm-bench", argc, argv, {{"-np", "--parallel"}, {"-pg", "--pg"}, {"-nr", "--no-repack"}})) return kExitUsage;
  std::vector<std::string> models, synth, pg;
  std::string n_prompt = "512", n_gen = "128", threads, batch = "512", parallel = "1", depth = "0", output, plot;
  int reps = 5;
  uint64_t seed = 42;
  bool no_warmup = false, no_repack = false;
  std::string backend = "auto";
  CLI::App app{
      "Benchmark prompt processing (pp N), generation (tg N) and both (pg N,M), as llama-bench defines them.\n"
      "Lists (1,2,4) and ranges (1-4) sweep every combination. Each test: a warm-up run, then -r runs;\n"
      "mean and standard deviation of tokens/s. Generation results also give the memory-bandwidth ceiling\n"
      "(measured read bandwidth / bytes read per token) and the fraction reached; prompt results GFLOP/s.\n"
      "Output: JSON-lines when stdout is not a terminal, a Markdown table when it is; -o to choose.",
      "llm-bench"};
  app.add_option("-m,--model", models, "model file(s) (GGUF); repeat for several");
  app.add_option("--synthetic", synth, "random weights of a known shape built in memory: SHAPE:TYPE, e.g. llama3-8b:Q4_K_M");
  app.add_option("-p,--n-prompt", n_prompt, "prompt lengths for pp tests (0: none; default 512)");
  app.add_option("-n,--n-gen", n_gen, "token counts for tg tests (0: none; default 128)");
  app.add_option("--pg", pg, "PP,TG: a prompt then generation (as -pg in llama-bench); repeat for several");
  app.add_option("-t,--threads", threads, "threads (default: all cores)");
  app.add_option("-b,--batch-size", batch, "prompt batch sizes (default 512)");
  app.add_option("--parallel", parallel, "sequences decoded together (-np; default 1)");
  app.add_option("-d,--depth,-c", depth, "tokens already in the context before each test (default 0)");
  app.add_option("-r,--repetitions", reps, "timed runs per test (default 5)")->check(CLI::Range(1, 1000));
  app.add_option("-o,--output", output, "jsonl, json, md or csv")->check(CLI::IsMember({"jsonl", "json", "md", "csv"}));
  app.add_option("--plot", plot, "write an SVG chart of the sweep (tok/s against threads, depth, parallel or batch)");
  app.add_option("-s,--seed", seed, "seed of the random prompt tokens (default 42)");
  app.add_flag("--no-warmup", no_warmup, "skip the warm-up run");
  app.add_flag("--no-repack", no_repack, "use the weights in the file's layout only");
  app.add_option("--backend", backend, "who computes F32 and BF16 weight products: auto (oneDNN for prompts where it has native kernels), cpu (llmkit only), onednn (always)")->check(CLI::IsMember({"auto", "cpu", "onednn"}));
  app.set_version_flag("-V,--version", version_line("llm-bench"));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  try {
    if (models.empty() && synth.empty()) throw Error("usage", "give a model (-m FILE) or --synthetic SHAPE:TYPE");
    const auto tl = parse_list(threads.empty() ? std::to_string(omp_get_max_threads()) : threads, "--threads", 1);
    const auto bl = parse_list(batch, "--batch-size", 1), nl = parse_list(parallel, "--parallel", 1);
    const auto dl = parse_list(depth, "--depth", 0);
    std::vector<Test> tests;
    for (int64_t p : parse_list(n_prompt, "--n-prompt", 0))
      if (p > 0) tests.push_back({p, 0});
    for (int64_t g : parse_list(n_gen, "--n-gen", 0))
      if (g > 0) tests.push_back({0, g});
    for (const std::string& s : pg) {
      const auto v = parse_list(s, "--pg", 1);
      if (v.size() != 2) throw Error("usage", "--pg wants PP,TG (two numbers), got '" + s + "'");
      tests.push_back({v[0], v[1]});
    }
    if (tests.empty()) throw Error("usage", "no tests: -p, -n and --pg are all empty or 0");
    const Format fmt = output == "json" ? Format::json : output == "md" ? Format::md : output == "csv" ? Format::csv
                       : output == "jsonl" ? Format::jsonl : stdout_is_tty() ? Format::md : Format::jsonl;
    const bool tty = stderr_is_tty();

    const SystemInfo sys = system_info();
    int max_threads = 1;
    for (int64_t t : tl) max_threads = std::max(max_threads, static_cast<int>(t));
    const double bandwidth = measure_read_bandwidth(max_threads);
    std::fprintf(stderr, "llm-bench: %s, %d cores, read bandwidth %.1f GB/s (%d threads), kernels %s\n", sys.cpu.c_str(),
                 sys.cores, bandwidth / 1e9, max_threads, cpu_kernel_path());

    std::vector<ModelSource> sources;
    for (const auto& m : models) sources.push_back({m, std::make_shared<GgufFile>(GgufFile::open_named(m))});
    for (const auto& s : synth) {
      std::fprintf(stderr, "llm-bench: building %s in memory ...\n", s.c_str());
      sources.push_back(synthetic(s));
    }
    Writer out(fmt, sys, stdout_);
    std::vector<Record> all;
    for (const ModelSource& src : sources) {
      const ModelSummary summary = summarize(*src.file);
      auto model = Model::load(src.file, {.repack = !no_repack, .backend = parse_backend(backend)});
      for (const Test& test : tests)
        for (int64_t t : tl)
          for (int64_t b : bl)
            for (int64_t np : nl)
              for (int64_t d : dl) {
                const Params p{static_cast<int>(t), b, static_cast<int>(np), d};
                Record r;
                r.model = src.label;
                r.model_type = model_type(summary);
                r.type = summary.file_type;
                r.size = summary.tensor_bytes;
                r.params = summary.parameters;
                r.kernels = cpu_kernel_path();
                r.backend = model->backend_name();
                r.repack = !no_repack && model->packed_bytes() > 0;
                r.threads = p.threads, r.batch = b, r.parallel = p.parallel, r.depth = d;
                r.test = test.name(), r.n_prompt = test.n_prompt, r.n_gen = test.n_gen;
                if (tty) std::fprintf(stderr, "\r%s %s t=%d ...", r.model_type.c_str(), r.test.c_str(), p.threads);
                if (!no_warmup) run_once(*model, test, p, seed);
                const double tokens = static_cast<double>(np * (test.n_prompt + test.n_gen));
                for (int i = 0; i < reps; ++i) r.samples_ts.push_back(tokens / run_once(*model, test, p, seed + 1 + static_cast<uint64_t>(i)));
                if (tty) std::fprintf(stderr, "\r\033[K");
                r.avg_ts = mean(r.samples_ts), r.stddev_ts = stddev(r.samples_ts);
                r.bandwidth_gbs = bandwidth / 1e9;
                if (test.n_prompt > 0)
                  r.gflops = r.avg_ts * flops_per_token(*model, d + test.n_prompt / 2) / 1e9;
                if (test.n_prompt == 0) {
                  const double bytes = static_cast<double>(bytes_per_step(*model, d + test.n_gen / 2, p.parallel));
                  r.bytes_per_token = bytes / static_cast<double>(np);
                  r.ceiling_ts = bandwidth / *r.bytes_per_token;
                  r.ceiling_fraction = r.avg_ts / *r.ceiling_ts;
                }
                out.write(r);
                all.push_back(std::move(r));
              }
    }
    out.finish();

    if (!plot.empty()) {
      // The first parameter that varies is the x axis; one line per model and test.
      const char* axis = tl.size() > 1 ? "threads" : dl.size() > 1 ? "depth" : nl.size() > 1 ? "parallel" : bl.size() > 1 ? "batch" : nullptr;
      if (!axis) throw Error("usage", "--plot needs a sweep: several values of -t, -d, --parallel or -b");
      std::map<std::string, Series> by;
      std::vector<std::string> order;
      for (const Record& r : all) {
        const std::string key = r.model_type + " " + r.test;
        if (!by.count(key)) order.push_back(key), by[key].label = key;
        const double x = axis == std::string("threads") ? r.threads : axis == std::string("depth") ? static_cast<double>(r.depth)
                         : axis == std::string("parallel") ? r.parallel : static_cast<double>(r.batch);
        by[key].points.push_back({x, r.avg_ts, r.stddev_ts});
      }
      std::vector<Series> series;
      for (const auto& k : order) series.push_back(by[k]);
      write_svg_plot(plot, "llm-bench on " + sys.cpu, axis, "tokens/s", series);
      std::fprintf(stderr, "llm-bench: wrote %s\n", plot.c_str());
    }
    return kExitOk;
  } catch (const Error& e) {
    std::fprintf(stderr, "llm-bench: %s\n", e.what());
    return kExitUsage;
  }
}

int main(int argc, char** argv) { return llmkit::run_tool("llm-bench", argc, argv, tool_main); }

// llm-imatrix: an importance matrix for quantization, as llama-imatrix computes one: the text in
// chunks of -c tokens (BOS first, as llama-perplexity cuts them), and for each weight matrix of the
// blocks the sum of the squares of the inputs that meet each of its columns. Written in llama.cpp's
// GGUF form (or its legacy .dat), which llama-quantize --imatrix and gguf-quantize --imatrix read.
#include <CLI/CLI.hpp>
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "llmkit/atomic_file.h"
#include "llmkit/cli.h"
#include "llmkit/error.h"
#include "llmkit/gguf.h"
#include "llmkit/imatrix.h"
#include "llmkit/json_writer.h"
#include "llmkit/model.h"
#include "llmkit/output.h"
#include "llmkit/perplexity.h"
#include "llmkit/tokenizer.h"

int tool_main(int argc, char** argv, llmkit::Stdout& out) {
  std::string model_path, text_path, out_path = "imatrix.gguf", format;
  int64_t n_ctx = 512, chunks = -1;
  int threads = 0;
  bool process_output = false, progress = false, no_ppl = false;
  CLI::App app{
      "Importance matrix of a model over a calibration text, as llama-imatrix computes it: per weight matrix of\n"
      "the blocks, the sums of the squared inputs of each column and the tokens summed. Written to -o in\n"
      "llama.cpp's GGUF form (or the legacy form for a name ending in .dat, or with --output-format dat);\n"
      "gguf-quantize --imatrix and llama-quantize --imatrix read it. A summary record goes to stdout.",
      "llm-imatrix"};
  app.add_option("-m,--model", model_path, "model (GGUF), usually the F16 or BF16 one to be quantized")->required();
  app.add_option("-f,--file", text_path, "calibration text ('-' for stdin)")->required();
  app.add_option("-o,--output", out_path, "imatrix file to write (default imatrix.gguf)");
  app.add_option("--output-format", format, "gguf or dat (default: by the name, gguf unless it ends in .dat)")->check(CLI::IsMember({"gguf", "dat"}));
  app.add_option("-c,--ctx-size", n_ctx, "tokens per chunk (default 512)")->check(CLI::Range(16, 1 << 20));
  app.add_option("--chunks", chunks, "use at most this many chunks (default: all)");
  app.add_flag("--process-output", process_output, "include output.weight, as llama-imatrix --process-output");
  app.add_flag("--no-ppl", no_ppl, "leave the perplexity out of the summary");
  app.add_option("-t,--threads", threads, "threads (default: all cores)")->check(CLI::PositiveNumber);
  app.add_flag("--progress", progress, "progress on stderr even when it is not a terminal");
  app.set_version_flag("-V,--version", llmkit::version_line("llm-imatrix"));
  if (!llmkit::rewrite_llama_flags("llm-imatrix", argc, argv, {})) return llmkit::kExitUsage;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? llmkit::kExitOk : llmkit::kExitUsage;
  }
  if (threads > 0) omp_set_num_threads(threads);
  const bool dat = format == "dat" || (format.empty() && out_path.size() >= 4 && out_path.compare(out_path.size() - 4, 4, ".dat") == 0);
  try {
    const std::string text = llmkit::read_text_input(text_path);
    auto file = std::make_shared<llmkit::GgufFile>(llmkit::GgufFile::open_named(model_path));
    auto model = llmkit::Model::load(file, {});
    llmkit::Tokenizer tok(llmkit::load_vocab(*file));
    llmkit::refuse_input_file(out_path);

    llmkit::ImatrixCollector collector(process_output);
    llmkit::PerplexityOptions o;
    o.n_ctx = n_ctx;
    o.chunks = chunks;
    o.observer = &collector;
    const bool show = progress || llmkit::stderr_is_tty();
    const auto t0 = std::chrono::steady_clock::now();
    o.on_chunk = [&](int64_t c, int64_t n, double ppl) {
      if (!show) return;
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::fprintf(stderr, "\rllm-imatrix: chunk %lld/%lld, ppl %.4f, %.1f s, %.0f s left ", static_cast<long long>(c + 1),
                   static_cast<long long>(n), ppl, s, s / double(c + 1) * double(n - c - 1));
      if (c + 1 == n) std::fputc('\n', stderr);
    };
    const llmkit::PerplexityResult r = llmkit::evaluate_perplexity(*model, tok, text, o);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const llmkit::Imatrix im = collector.result({text_path}, static_cast<uint32_t>(r.chunks), static_cast<uint32_t>(n_ctx));
    llmkit::write_imatrix(im, out_path, dat);

    llmkit::JsonWriter w;
    w.begin_object().field("model", model_path).field("file", text_path).field("output", out_path);
    w.field("format", std::string(dat ? "dat" : "gguf")).field("chunks", r.chunks).field("chunk_size", n_ctx);
    w.field("tokens", r.chunks * n_ctx).field("entries", static_cast<int64_t>(im.entries.size()));
    if (!no_ppl) w.field("ppl", r.ppl);
    w.field("seconds", secs).field("tokens_per_second", double(r.chunks * n_ctx) / secs);
    out.record(w.end_object().take());
  } catch (const llmkit::Error& e) {
    std::fprintf(stderr, "llm-imatrix: %s\n", e.what());
    return llmkit::kExitUsage;
  }
  return llmkit::kExitOk;
}

int main(int argc, char** argv) { return llmkit::run_tool("llm-imatrix", argc, argv, tool_main); }

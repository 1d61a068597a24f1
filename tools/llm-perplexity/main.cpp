// llm-perplexity: how well a model predicts a text, by llama.cpp's method; with --base, how much
// a quantized model drifted from the model it came from.
#include <CLI/CLI.hpp>
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include "llmkit/cli.h"
#include "llmkit/output.h"
#include "llmkit/error.h"
#include "llmkit/gguf.h"
#include "llmkit/json_writer.h"
#include "llmkit/model.h"
#include "llmkit/perplexity.h"
#include "llmkit/tokenizer.h"

int tool_main(int argc, char** argv, llmkit::Stdout& stdout_) {
  std::string model_path, text_path, base_path;
  int64_t n_ctx = 512, chunks = -1;
  int threads = 0;
  bool no_repack = false;
  std::string backend = "auto";
  CLI::App app{
      "Perplexity of a model on a text, by llama.cpp's method (chunks of -c tokens, the second half of each\n"
      "scored). With --base (e.g. the FP16 model a quantized one was made from): both perplexities, their\n"
      "ratio, the mean KL divergence of the next-token distributions and how often the top tokens agree.\n"
      "Result as one JSON object on stdout; progress on stderr when it is a terminal.",
      "llm-perplexity"};
  app.add_option("-m,--model", model_path, "model (GGUF)")->required();
  app.add_option("-f,--file", text_path, "text file to score ('-' for stdin)")->required();
  app.add_option("-c,--ctx-size", n_ctx, "tokens per chunk (default 512)")->check(CLI::Range(4, 1 << 20));
  app.add_option("--chunks", chunks, "score at most this many chunks (default: all)");
  app.add_option("--base", base_path, "reference model to compare with (same vocabulary)");
  app.add_option("-t,--threads", threads, "threads (default: all cores)")->check(CLI::PositiveNumber);
  app.add_flag("--no-repack", no_repack, "use the weights in the file's layout only (no interleaved copy at load)");
  app.add_option("--backend", backend, "who computes F32 and BF16 weight products: auto (oneDNN for prompts where it has native kernels), cpu (llmkit only), onednn (always)")->check(CLI::IsMember({"auto", "cpu", "onednn"}));
  app.set_version_flag("-V,--version", llmkit::version_line("llm-perplexity"));
  if (!llmkit::rewrite_llama_flags("llm-perplexity", argc, argv, {})) return llmkit::kExitUsage;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? llmkit::kExitOk : llmkit::kExitUsage;
  }
  if (threads > 0) omp_set_num_threads(threads);
  try {
    const std::string text = llmkit::read_text_input(text_path);
    auto file = std::make_shared<llmkit::GgufFile>(llmkit::GgufFile::open_named(model_path));
    const llmkit::LoadOptions load{.repack = !no_repack, .backend = llmkit::parse_backend(backend)};
    auto model = llmkit::Model::load(file, load);
    llmkit::Tokenizer tok(llmkit::load_vocab(*file));
    std::unique_ptr<llmkit::Model> base;
    if (!base_path.empty()) base = llmkit::Model::load(std::make_shared<llmkit::GgufFile>(llmkit::GgufFile::open_named(base_path)), load);

    llmkit::PerplexityOptions o;
    o.n_ctx = n_ctx;
    o.chunks = chunks;
    o.base = base.get();
    const bool tty = llmkit::stderr_is_tty();
    o.on_chunk = [tty](int64_t c, int64_t n, double ppl) {
      if (!tty) return;
      std::fprintf(stderr, "\r[%lld/%lld] ppl %.4f ", static_cast<long long>(c + 1), static_cast<long long>(n), ppl);
      if (c + 1 == n) std::fputc('\n', stderr);
    };
    auto t0 = std::chrono::steady_clock::now();
    llmkit::PerplexityResult r = llmkit::evaluate_perplexity(*model, tok, text, o);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    llmkit::JsonWriter w;
    w.begin_object().field("model", model_path).field("file", text_path).field("n_ctx", n_ctx);
    w.field("chunks", r.chunks).field("tokens_scored", r.tokens_scored).field("ppl", r.ppl).field("ppl_err", r.ppl_err);
    if (base) {
      w.field("base", base_path).field("base_ppl", r.base_ppl).field("base_ppl_err", r.base_ppl_err);
      w.field("ppl_ratio", r.ppl / r.base_ppl).field("kl_mean", r.kl_mean).field("kl_err", r.kl_err);
      w.field("top1_agreement", r.top1_agreement);
    }
    w.field("seconds", secs).field("tokens_per_second", double(r.chunks * n_ctx * (base ? 2 : 1)) / secs);
    std::puts(w.end_object().str().c_str());
  } catch (const llmkit::Error& e) {
    std::fprintf(stderr, "llm-perplexity: %s\n", e.what());
    return llmkit::kExitUsage;
  }
  return llmkit::kExitOk;
}

int main(int argc, char** argv) { return llmkit::run_tool("llm-perplexity", argc, argv, tool_main); }

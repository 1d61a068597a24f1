// gguf-synth: write a random-weight model of a known shape, so hardware, memory and tooling can
// be tested without downloading gigabytes.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "llmkit/cli.h"
#include "llmkit/jsonl.h"
#include "llmkit/table.h"
#include "llmkit/output.h"
#include "llmkit/error.h"
#include "llmkit/gguf.h"
#include "llmkit/json_writer.h"
#include "llmkit/arch.h"
#include "llmkit/synth_model.h"

int tool_main(int argc, char** argv, llmkit::Stdout& stdout_) {
  std::string out, shape_name, type_name = "F16", vocab_path, name;
  int64_t embd = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, ff = 0, vocab = 0, context = 0, window = -1,
          longrope = 0;
  float rope_base = 0, rope_llama3 = 0;
  uint64_t seed = 42;
  bool list = false, tied = false;
  std::string arch = "llama";
  CLI::App app{
      "Write a random-weight GGUF model of a named shape (or explicit dimensions). Weights are\n"
      "heavy-tailed with per-row scales, deterministic for a seed. Quantize the result with\n"
      "gguf-quantize.",
      "gguf-synth"};
  app.add_option("OUT", out, "output GGUF file");
  app.add_option("--shape", shape_name, "a known model shape (--list-shapes)");
  app.add_flag("--list-shapes", list, "print the known shapes as JSON-lines and exit");
  std::vector<std::string> decoders;
  for (const auto& a : llmkit::architectures())
    if (!a.encoder) decoders.push_back(a.name);
  app.add_option("--arch", arch, "architecture for explicit shapes (llama, qwen2, qwen3, gemma2, gemma3, phi3)")
      ->check(CLI::IsMember(decoders));
  app.add_option("--embd", embd, "embedding width");
  app.add_option("--layers", layers, "number of blocks");
  app.add_option("--heads", heads, "attention heads");
  app.add_option("--kv-heads", kv_heads, "KV heads (default: heads)");
  app.add_option("--head-dim", head_dim, "head size (default: embedding / heads)");
  app.add_option("--ff", ff, "feed-forward width");
  app.add_option("--window", window, "sliding-window span of the windowed layers (gemma2, gemma3)");
  app.add_option("--rope-base", rope_base, "rope frequency base");
  app.add_option("--longrope", longrope, "Phi-3 LongRoPE from this original context (writes the factor tensors)");
  app.add_flag("--tied", tied, "no output.weight: the output reuses the token embedding");
  app.add_option("--rope-llama3", rope_llama3, "Llama 3.1 rope scaling factor (writes rope_freqs; llama only)");
  app.add_option("--vocab-size", vocab, "vocabulary size (placeholder tokens)");
  app.add_option("-c,--context", context, "context length written to the metadata");
  app.add_option("--type", type_name, "F16 (default), BF16 or F32");
  app.add_option("--vocab", vocab_path, "take the tokenizer (and vocabulary size) from this GGUF file");
  app.add_option("--seed", seed, "random seed (default 42)");
  app.add_option("--name", name, "general.name");
  app.set_version_flag("-V,--version", llmkit::version_line("gguf-synth"));
  try {
    app.parse(argc, argv);
    if (!list && out.empty()) throw CLI::ValidationError("OUT", "an output file is required");
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? llmkit::kExitOk : llmkit::kExitUsage;
  }
  if (list) {  // JSON-lines, or a table on a terminal
    std::vector<llmkit::JsonObject> rows;
    for (const auto& s : llmkit::model_shapes()) {
      if (s.experts) continue;  // memory planning only
      llmkit::JsonWriter w;
      w.begin_object().field("shape", s.name).field("arch", s.arch).field("embd", s.embd).field("layers", s.layers);
      w.field("heads", s.heads).field("kv_heads", s.kv_heads).field("head_dim", s.head_dim).field("ff", s.ff);
      w.field("vocab", s.vocab).field("context", s.context).field("tied_output", s.tied);
      w.field("parameters", llmkit::shape_parameters(s));
      if (llmkit::stdout_is_tty()) rows.push_back(llmkit::parse_json_object(w.end_object().str()));
      else std::puts(w.end_object().str().c_str());
    }
    if (!rows.empty())
      std::fputs(llmkit::format_table(rows, {{"shape", "shape"}, {"arch", "arch"}, {"embd", "embd"}, {"layers", "layers"},
                                             {"heads", "heads"}, {"kv_heads", "kv heads"}, {"head_dim", "head dim"}, {"ff", "ff"}, {"vocab", "vocab"},
                                             {"context", "context"}, {"parameters", "parameters"}})
                     .c_str(),
                 stdout);
    return llmkit::kExitOk;
  }
  try {
    llmkit::SynthOptions o;
    if (!shape_name.empty()) {
      const llmkit::ModelShape* s = llmkit::find_shape(shape_name);
      if (!s) throw llmkit::Error("usage", "unknown shape '" + shape_name + "' (see --list-shapes)");
      o.shape = *s;
    } else {
      o.shape = {nullptr, nullptr, 0, 0, 0, 0, 0, 0, 32000, 4096, false};
      if (!embd || !layers || !heads || !ff) throw llmkit::Error("usage", "give --shape, or --embd --layers --heads --ff");
    }
    static std::string arch_storage;
    arch_storage = shape_name.empty() ? arch : o.shape.arch;
    o.shape.arch = arch_storage.c_str();
    if (embd) o.shape.embd = embd;
    if (layers) o.shape.layers = layers;
    if (heads) o.shape.heads = heads;
    o.shape.kv_heads = kv_heads ? kv_heads : (shape_name.empty() || heads ? o.shape.heads : o.shape.kv_heads);
    if (ff) o.shape.ff = ff;
    if (head_dim) o.shape.head_dim = head_dim;
    else if (embd || heads || shape_name.empty()) o.shape.head_dim = o.shape.heads ? o.shape.embd / o.shape.heads : 0;
    if (!head_dim && o.shape.heads && o.shape.embd % o.shape.heads)
      throw llmkit::Error("usage", "the embedding does not divide into the heads: give --head-dim");
    if (window >= 0) o.shape.swa_window = window;
    else if (shape_name.empty()) o.shape.swa_window = llmkit::find_arch(arch)->swa_default_window;
    if (rope_base > 0) o.shape.rope_base = rope_base;
    if (tied) o.shape.tied = true;
    if (longrope > 0) o.shape.longrope_ctx = longrope;
    if (rope_llama3 > 0) o.shape.rope_llama3 = rope_llama3;
    if (vocab) o.shape.vocab = vocab;
    if (context) o.shape.context = context;
    auto t = llmkit::ggml_type_from_name(type_name);
    if (!t) throw llmkit::Error("usage", "unknown --type " + type_name);
    o.type = *t;
    o.seed = seed;
    o.name = name;
    std::optional<llmkit::GgufFile> vf;
    if (!vocab_path.empty()) {
      vf = llmkit::GgufFile::open_named(vocab_path);
      o.vocab = &*vf;
    }
    auto t0 = std::chrono::steady_clock::now();
    llmkit::write_synth_model(o, out);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    llmkit::GgufFile f = llmkit::GgufFile::open(out);
    uint64_t params = 0;
    for (const auto& ti : f.tensors()) params += ti.n_elements;
    llmkit::JsonWriter w;
    w.begin_object().field("output", out).field("shape", shape_name.empty() ? "custom" : shape_name);
    w.field("type", llmkit::ggml_type_name(o.type)).field("parameters", params).field("bytes", uint64_t(f.file_size()));
    w.field("seed", seed).field("seconds", secs);
    std::puts(w.end_object().str().c_str());
  } catch (const llmkit::Error& e) {
    std::fprintf(stderr, "gguf-synth: %s\n", e.what());
    return llmkit::kExitUsage;
  }
  return llmkit::kExitOk;
}

int main(int argc, char** argv) { return llmkit::run_tool("gguf-synth", argc, argv, tool_main); }

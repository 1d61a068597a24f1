// llm-embed: text to sentence embeddings (BERT encoders and decoder models), JSON-lines in and
// out, or raw float32 rows for bulk loading into a vector store.
#include <CLI/CLI.hpp>
#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "llmkit/cli.h"
#include "llmkit/output.h"
#include "llmkit/embed.h"
#include "llmkit/error.h"
#include "llmkit/gguf.h"
#include "llmkit/json_writer.h"
#include "llmkit/jsonl.h"
#include "llmkit/record_io.h"
#include "llmkit/record_run.h"
#include "llmkit/record_flags.h"
#include "llmkit/model.h"
#include "llmkit/tokenizer.h"

namespace {

struct Options {
  llmkit::RecordRunOptions records;  // -f -o --progress --resume --retry-errors --shard --index
  std::string model, prompt, field = "text", output_field = "embedding", pooling, normalize = "l2", format = "jsonl";
  int64_t n_ctx = 0, n_batch = 2048;
  int threads = 0;
  bool have_prompt = false, truncate = false, no_repack = false;
  std::string backend = "auto";
};

// One input record on its way through: its tokens, or why it failed.
struct Item {
  uint64_t seq = 0;  // the record loop's number for it
  llmkit::JsonObject rec;
  bool parsed = false;
  uint64_t line = 0;
  std::vector<int32_t> tokens;
  bool truncated = false;
  std::optional<llmkit::Error> error;
};

struct Run {
  const Options& o;
  const llmkit::Tokenizer& tok;
  llmkit::Embedder& emb;
  llmkit::Stdout& out;          // f32 vectors, and the record of -p
  llmkit::RecordRun* loop;       // JSON-lines records of a batch run (null with -p or f32)
  llmkit::Pooling pooling;
  llmkit::Normalize norm;
  int64_t dim;
  bool failed = false;
  int64_t records = 0, errors = 0, tokens = 0;

  // Text to tokens, with the context limit applied: an error, or with --truncate the tail cut
  // (keeping a closing SEP/EOS the tokenizer added, as sentence-transformers does).
  void tokenize(Item& it, const std::string& field) const {
    auto text = it.rec.get_string(field);
    if (!text) throw llmkit::Error("missing_field", "record has no \"" + field + "\" string");
    it.tokens = tok.encode(*text);
    if (it.tokens.empty()) throw llmkit::Error("empty_text", "the text has no tokens");
    const size_t limit = static_cast<size_t>(emb.n_ctx());
    if (it.tokens.size() <= limit) return;
    if (!o.truncate)
      throw llmkit::Error("too_long", "the text has " + std::to_string(it.tokens.size()) + " tokens; the context holds " +
                                          std::to_string(limit) + " (-c, or --truncate)");
    const bool keep_last = tok.vocab().add_eos && it.tokens.back() == tok.vocab().eos;
    const int32_t last = it.tokens.back();
    it.tokens.resize(limit);
    if (keep_last) it.tokens.back() = last;
    it.truncated = true;
  }

  void write_error(const Item& it) {
    failed = true;
    ++records, ++errors;
    if (o.format == "f32") {
      // A row of NaN keeps row i for input record i; the reason goes to stderr.
      std::vector<float> nan(static_cast<size_t>(dim), std::nanf(""));
      out.write(nan.data(), nan.size() * sizeof(float));
      out.end_record();
      std::fprintf(stderr, "llm-embed: record %llu: %s: %s\n", static_cast<unsigned long long>(it.line),
                   it.error->code().c_str(), it.error->what());
      return;
    }
    std::string line = it.parsed ? llmkit::error_record(&it.rec, it.error->code(), it.error->what())
                                 : llmkit::error_record(nullptr, it.error->code(),
                                                        "line " + std::to_string(it.line) + ": " + it.error->what(), it.line);
    put(it, std::move(line), true);
  }

  void put(const Item& it, std::string line, bool failed_record) {
    if (loop) loop->done(it.seq, std::move(line), failed_record, it.tokens.size());
    else out.record(line);
  }

  void write(Item& it, const std::vector<float>& v) {
    // A NaN weight or hyperparameter poisons every value; such a vector is an error, not output.
    for (float x : v)
      if (!std::isfinite(x)) {
        it.error = llmkit::Error("non_finite", "the embedding has non-finite values (NaN or Inf): the model's weights "
                                               "or hyperparameters are broken");
        write_error(it);
        return;
      }
    ++records, tokens += static_cast<int64_t>(it.tokens.size());
    if (o.format == "f32") {
      out.write(v.data(), v.size() * sizeof(float));
      out.end_record();
      return;
    }
    llmkit::JsonWriter w;
    w.begin_array();
    if (pooling == llmkit::Pooling::None) {
      for (size_t r = 0; r < v.size(); r += static_cast<size_t>(dim)) {
        w.begin_array();
        for (size_t i = r; i < r + static_cast<size_t>(dim); ++i) w.value(v[i]);
        w.end_array();
      }
    } else {
      for (float x : v) w.value(x);
    }
    it.rec.set_raw(o.output_field, w.end_array().take());
    it.rec.set("n_tokens", static_cast<int64_t>(it.tokens.size()));
    if (it.truncated) it.rec.set("truncated", true);
    put(it, it.rec.dump(), false);
  }

  // Embeds the records that tokenized, then writes every record in input order.
  void flush(std::vector<Item>& items) {
    std::vector<std::vector<int32_t>> seqs;
    for (Item& it : items)
      if (!it.error) seqs.push_back(it.tokens);
    std::vector<std::vector<float>> vecs;
    try {
      vecs = emb.embed(seqs, pooling, norm);
    } catch (const llmkit::Error& e) {
      for (Item& it : items)
        if (!it.error) it.error = e;
    }
    size_t k = 0;
    for (Item& it : items) {
      if (it.error) write_error(it);
      else write(it, vecs[k++]);
    }
    out.flush();
    items.clear();
  }
};

}  // namespace

// What makes two runs the same command, for --resume.
std::string identity(const Options& o) {
  llmkit::JsonWriter w;
  w.begin_object();
  w.field("field", o.field).field("output_field", o.output_field).field("pooling", o.pooling).field("normalize", o.normalize);
  w.field("ctx_size", o.n_ctx).field("truncate", o.truncate);
  return w.end_object().take();
}

int tool_main(int argc, char** argv, llmkit::Stdout& out) {
  Options o;
  CLI::App app{
      "Embed text with a model: BERT-family encoders or decoder models (llama, qwen2). Reads JSON-lines\n"
      "records ({\"text\": ...}) on stdin and writes each with every field kept and \"embedding\" and\n"
      "\"n_tokens\" added, in input order; or embeds -p TEXT. --format f32 writes raw float32 rows.",
      "llm-embed"};
  app.add_option("-m,--model", o.model, "model (GGUF)")->required();
  app.add_option("-p,--prompt", o.prompt, "embed this text instead of reading stdin");
  add_record_flags(app, o.records);
  app.add_option("--field", o.field, "input field holding the text (default text)");
  app.add_option("--output-field", o.output_field, "name of the added field (default embedding)");
  app.add_option("--pooling", o.pooling, "mean, cls, last or none (one vector per token); default: the model's")
      ->check(CLI::IsMember({"mean", "cls", "last", "none"}));
  app.add_option("--normalize", o.normalize, "l2 (default) or none")->check(CLI::IsMember({"l2", "none"}));
  app.add_option("-c,--ctx-size", o.n_ctx, "longest text in tokens (0: the model's context, at most 8192)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("-b,--batch-size", o.n_batch, "tokens per forward pass; records are grouped up to it (default 2048)")
      ->check(CLI::PositiveNumber);
  app.add_option("-t,--threads", o.threads, "threads (default: all cores)")->check(CLI::PositiveNumber);
  app.add_flag("--truncate", o.truncate, "cut over-long texts to the context (marked \"truncated\") instead of failing");
  app.add_option("--format", o.format, "jsonl (default) or f32: little-endian float32 rows, the dimension on stderr")
      ->check(CLI::IsMember({"jsonl", "f32"}));
  app.add_flag("--no-repack", o.no_repack, "use the weights in the file's layout only (no interleaved copy at load)");
  app.add_option("--backend", o.backend, "who computes F32 and BF16 weight products: auto (oneDNN for prompts where it has native kernels), cpu (llmkit only), onednn (always)")->check(CLI::IsMember({"auto", "cpu", "onednn"}));
  app.set_version_flag("-V,--version", llmkit::version_line("llm-embed"));
  if (!llmkit::rewrite_llama_flags("llm-embed", argc, argv, {})) return llmkit::kExitUsage;
  try {
    app.parse(argc, argv);
    o.have_prompt = app.count("--prompt") > 0;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? llmkit::kExitOk : llmkit::kExitUsage;
  }
  if (o.format == "f32" && o.pooling == "none") {
    std::fprintf(stderr, "llm-embed: --format f32 writes one row per record; --pooling none needs jsonl\n");
    return llmkit::kExitUsage;
  }
  if (!o.have_prompt && o.records.files.empty() && isatty(0)) {
    std::fprintf(stderr, "llm-embed: no -p TEXT and stdin is a terminal (try --help)\n");
    return llmkit::kExitUsage;
  }
  if (o.format == "f32" && isatty(1)) {
    std::fprintf(stderr, "llm-embed: --format f32 writes binary; redirect stdout to a file or a pipe\n");
    return llmkit::kExitUsage;
  }
  if (o.threads > 0) omp_set_num_threads(o.threads);

  std::shared_ptr<llmkit::GgufFile> file;
  std::unique_ptr<llmkit::Model> model;
  std::optional<llmkit::Tokenizer> tok;
  std::optional<llmkit::Embedder> emb;
  llmkit::Pooling pooling{};
  try {
    file = std::make_shared<llmkit::GgufFile>(llmkit::GgufFile::open(o.model));
    model = llmkit::Model::load(file, {.repack = !o.no_repack, .backend = llmkit::parse_backend(o.backend)});
    tok.emplace(llmkit::load_vocab(*file));
    const llmkit::ModelParams& p = model->params();
    pooling = o.pooling.empty() ? llmkit::default_pooling(p) : llmkit::parse_pooling(o.pooling);
    if (o.format == "f32" && pooling == llmkit::Pooling::None)
      throw llmkit::Error("usage", "the model pools nothing (one vector per token); f32 output needs --pooling");
    const int64_t n_ctx = o.n_ctx > 0 ? o.n_ctx : std::min<int64_t>(p.n_ctx_train > 0 ? p.n_ctx_train : 8192, 8192);
    emb.emplace(*model, n_ctx, o.n_batch);
  } catch (const llmkit::Error& e) {
    std::fprintf(stderr, "llm-embed: %s: %s\n", o.model.c_str(), e.what());
    return llmkit::kExitUsage;
  }
  if (!o.records.output.empty() && (o.format == "f32" || o.have_prompt)) {
    std::fprintf(stderr, "llm-embed: -o writes JSON-lines records: not with -p or --format f32 (use > FILE)\n");
    return llmkit::kExitUsage;
  }
  const bool batch = !o.have_prompt && o.format != "f32";  // the shared record loop: files, shards, resume
  std::optional<llmkit::RecordInput> input;  // f32 vectors: one row per input line, in order
  std::optional<llmkit::RecordRun> records;
  try {
    if (batch) {
      llmkit::RecordRunOptions ro = o.records;
    ro.model = o.model;
      ro.identity = identity(o);
      ro.error_record = [](const llmkit::JsonObject* rec, const llmkit::Error& e, std::optional<uint64_t> line) {
        return llmkit::error_record(rec, e.code(), e.what(), line);
      };
      records.emplace("llm-embed", out, std::move(ro));
    } else {
      if (o.records.resume || !o.records.shard.empty() || o.records.index) throw llmkit::Error("usage", "--resume, --shard and --index need JSON-lines records (not -p or --format f32)");
      input.emplace(o.have_prompt ? std::vector<std::string>{} : o.records.files);
    }
  } catch (const llmkit::Error& e) {
    std::fprintf(stderr, "llm-embed: %s\n", e.what());
    return llmkit::kExitUsage;
  }
  Run run{o, *tok, *emb, out, records ? &*records : nullptr, pooling, llmkit::parse_normalize(o.normalize),
          model->params().n_embd};
  const auto start = std::chrono::steady_clock::now();
  // What a batch run did, on stderr: records, tokens and their rates (model loading excluded).
  auto summary = [&] {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const int64_t n = records ? static_cast<int64_t>(records->answered()) : run.records;
    const int64_t failed = records ? records->failed() : run.errors;
    std::fprintf(stderr, "llm-embed: %lld records (%lld failed), %lld tokens in %.2f s: %.1f records/s, %.1f tokens/s\n",
                 static_cast<long long>(n), static_cast<long long>(failed), static_cast<long long>(run.tokens), s,
                 s > 0 ? static_cast<double>(n) / s : 0.0, s > 0 ? static_cast<double>(run.tokens) / s : 0.0);
    return failed ? llmkit::kExitSomeFailed : llmkit::kExitOk;
  };
  if (o.format == "f32") std::fprintf(stderr, "llm-embed: dimension %lld\n", static_cast<long long>(run.dim));

  std::vector<Item> items;
  // -p TEXT makes a record {"text": TEXT}, whatever --field says of stdin records.
  const std::string field = o.have_prompt ? "text" : o.field;
  auto add = [&](Item it) {
    if (!it.error) try {
        run.tokenize(it, field);
      } catch (const llmkit::Error& e) {
        it.error = e;
      }
    items.push_back(std::move(it));
  };
  if (o.have_prompt) {
    Item it;
    it.rec.set("text", std::string_view(o.prompt));
    it.parsed = true;
    add(std::move(it));
    run.flush(items);
    return run.failed ? llmkit::kExitSomeFailed : llmkit::kExitOk;  // one text: no summary
  }

  // Records are gathered until their tokens fill a few passes, so that short texts share passes;
  // output keeps input order.
  int64_t pending = 0;
  try {
    while (true) {
      Item it;
      if (records) {
        std::optional<llmkit::RecordRun::Item> r = records->next();
        if (!r) break;
        it.seq = r->seq, it.rec = std::move(r->rec), it.line = r->line_no, it.parsed = true;
      } else {
        std::string line;
        if (!input->next(line, it.line)) break;
        try {
          it.rec = llmkit::parse_json_object(line);
          it.parsed = true;
        } catch (const llmkit::Error& e) {
          it.error = e;
        }
      }
      add(std::move(it));
      pending += static_cast<int64_t>(items.back().tokens.size());
      if (pending >= 4 * o.n_batch || items.size() >= 1024) run.flush(items), pending = 0;
    }
  } catch (const llmkit::Error& e) {  // an input file that cannot be read on, a resume of another input
    run.flush(items);
    std::fprintf(stderr, "llm-embed: %s\n", e.what());
    return llmkit::kExitUsage;
  }
  run.flush(items);
  if (records) records->finish();
  return summary();
}

int main(int argc, char** argv) { return llmkit::run_tool("llm-embed", argc, argv, tool_main); }

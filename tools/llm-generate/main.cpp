// llm-generate: text generation for one prompt (-p, streamed) or for JSON-lines records on stdin,
// many at once with --parallel (continuous batching), one output record per input, in order.
#include <CLI/CLI.hpp>
#include <simdjson.h>
#include <xxhash.h>
#include <omp.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>

#include "llmkit/chat_template.h"
#include "llmkit/cli.h"
#include "llmkit/output.h"
#include "llmkit/error.h"
#include "llmkit/generate.h"
#include "llmkit/gguf.h"
#include "llmkit/json_writer.h"
#include "llmkit/jsonl.h"
#include "llmkit/model.h"
#include "llmkit/record_io.h"
#include "llmkit/record_run.h"
#include "llmkit/record_flags.h"
#include "llmkit/tokenizer.h"
#include "prompt.h"

namespace {

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_sigint(int) { g_interrupted = 1; }

// SIGINT ends the run between forward passes; a second one kills at once (SA_RESETHAND). No
// SA_RESTART, so a blocking read of stdin returns.
void install_sigint() {
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
}

constexpr int kExitInterrupted = 130;

struct Options {
  std::string model, prompt, template_text, system, chat_template, chat_template_file, chat_template_kwargs;
  std::string output_field = "output";
  llmkit::RecordRunOptions records;  // -f -o --progress --resume --retry-errors --shard --index
  bool no_prefix_cache = false;
  std::string cache_type_k = "f16", cache_type_v = "f16";
  bool have_prompt = false, chat = false, truncate = false, json = false, ignore_eos = false, no_repack = false;
  bool dry_run = false;
  std::string backend = "auto";
  int64_t n_predict = -1, n_ctx = 0, n_batch = 512;
  int threads = 0, parallel = 1;
  llmkit::SamplerParams sampling;
  std::vector<std::string> stop;
  std::string grammar, grammar_file;  // GBNF text (a --grammar-file's is read into grammar)
  std::string json_schema, json_schema_file;  // a JSON schema (a file's is read into json_schema)
  bool print_grammar = false;
};

const char* finish_name(llmkit::FinishReason f) { return f == llmkit::FinishReason::Stop ? "stop" : "length"; }

double per_second(int64_t n, double ms) { return ms > 0 ? double(n) * 1000.0 / ms : 0.0; }

void add_result(llmkit::JsonObject& rec, const std::string& field, const llmkit::GenerationResult& r, int64_t dropped,
                bool grammar) {
  rec.set(field, std::string_view(r.text));
  rec.set("finish_reason", std::string_view(finish_name(r.finish)));
  const int64_t completion = static_cast<int64_t>(r.tokens.size());
  llmkit::JsonWriter u;
  u.begin_object().field("prompt_tokens", r.prompt_tokens).field("completion_tokens", completion);
  u.field("total_tokens", r.prompt_tokens + completion);
  if (dropped) u.field("prompt_tokens_dropped", dropped);
  rec.set_raw("usage", u.end_object().take());
  llmkit::JsonWriter t;
  t.begin_object().field("prompt_ms", r.prompt_ms).field("prompt_per_second", per_second(r.prompt_tokens, r.prompt_ms));
  t.field("predicted_ms", r.gen_ms).field("predicted_per_second", per_second(completion, r.gen_ms));
  if (grammar) t.field("grammar_ms", r.grammar_ms).field("grammar_redrawn", r.grammar_redrawn);
  rec.set_raw("timings", t.end_object().take());
}

// The output of a schema-constrained request as compact JSON; nullopt when it does not parse (cut
// off by the token limit before the grammar could close it).
std::optional<std::string> output_json(const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(text).get(e) != simdjson::SUCCESS) return std::nullopt;
  return simdjson::minify(e);
}

llmkit::Error incomplete_json(const llmkit::GenerationResult& r) {
  return llmkit::Error("incomplete_json", "the output is not complete JSON after " + std::to_string(r.tokens.size()) +
                                              " tokens (" + (r.finish == llmkit::FinishReason::Length ? "the token limit cut it: raise -n or max_tokens" : "stopped early") + ")");
}

std::string failed_record(const llmkit::JsonObject* rec, const llmkit::Error& e, std::optional<uint64_t> line = {}) {
  llmkit::JsonObject out;
  if (rec) out = *rec;
  out.set("finish_reason", std::string_view("error"));
  return llmkit::error_record(&out, e.code(), e.what(), line);
}

void report(const llmkit::GenerationStats& s, int64_t failed, uint64_t kept = 0) {
  const double gen = s.seconds > 0 ? double(s.generated_tokens) / s.seconds : 0;
  const double all = s.seconds > 0 ? double(s.generated_tokens + s.prompt_tokens) / s.seconds : 0;
  const std::string reused =
      s.reused_tokens ? " (" + std::to_string(s.reused_tokens) + " of them from shared prefixes)" : std::string();
  std::fprintf(stderr,
               "llm-generate: %lld records (%lld failed), %lld prompt%s + %lld generated tokens in %.2f s: "
               "%.2f generated tok/s, %.2f total tok/s\n",
               static_cast<long long>(s.requests + failed + static_cast<int64_t>(kept)), static_cast<long long>(failed),
               static_cast<long long>(s.prompt_tokens), reused.c_str(), static_cast<long long>(s.generated_tokens),
               s.seconds, gen, all);
  if (s.grammar_tokens > 0)
    std::fprintf(stderr, "llm-generate: grammar: %.3f ms per generated token (%lld of %lld tokens redrawn from a mask)\n",
                 s.grammar_ms / double(s.grammar_tokens), static_cast<long long>(s.grammar_redrawn),
                 static_cast<long long>(s.grammar_tokens));
}

// The -p prompt, prepared; a failure is reported on stderr (the caller exits 1).
std::optional<PreparedPrompt> prepare_prompt(const Options& o, const PromptSettings& ps, const llmkit::Tokenizer& tok) {
  try {
    return prepare_text(unescape(o.prompt), ps, tok);
  } catch (const llmkit::Error& e) {
    std::fprintf(stderr, "llm-generate: %s\n", e.what());
    return std::nullopt;
  }
}

int run_prompt(const Options& o, const PromptSettings& ps, const llmkit::Model& m, const llmkit::Tokenizer& tok,
               llmkit::KvCache& kv, llmkit::Stdout& out) {
  std::optional<PreparedPrompt> prepared = prepare_prompt(o, ps, tok);
  if (!prepared) return llmkit::kExitSomeFailed;
  const PreparedPrompt& p = *prepared;
  bool sent = false;
  llmkit::GenerationResult result;
  llmkit::GenerationCallbacks cb;
  cb.next = [&]() -> std::optional<std::pair<uint64_t, llmkit::GenerationRequest>> {
    if (sent) return std::nullopt;
    sent = true;
    return std::make_pair(uint64_t{0}, p.request);
  };
  if (!o.json)
    cb.on_text = [&out](uint64_t, std::string_view text) {
      out.write(text);
      out.flush();
    };
  cb.on_done = [&](uint64_t, llmkit::GenerationResult&& r) { result = std::move(r); };
  cb.cancelled = [] { return g_interrupted != 0; };
  llmkit::generate(m, tok, kv, o.n_batch, cb);
  if (result.error) {
    if (!o.json) out.record("");
    std::fprintf(stderr, "llm-generate: %s\n", result.error->what());
    return llmkit::kExitSomeFailed;
  }
  std::optional<std::string> parsed;
  if (p.json_output && !(parsed = output_json(result.text))) {
    if (!o.json) out.record("");
    std::fprintf(stderr, "llm-generate: %s\n", incomplete_json(result).what());
    return llmkit::kExitSomeFailed;
  }
  if (o.json) {
    llmkit::JsonObject rec;
    rec.set("prompt", std::string_view(o.prompt));
    add_result(rec, o.output_field, result, p.dropped, p.request.grammar != nullptr);
    if (parsed) rec.set_raw("output_json", *parsed);
    out.record(rec.dump());
  } else {
    out.record("");
  }
  if (g_interrupted) return kExitInterrupted;
  const int64_t n_gen = static_cast<int64_t>(result.tokens.size());
  std::fprintf(stderr, "llm-generate: prompt %lld tokens in %.1f ms (%.2f tok/s), generated %lld tokens in %.1f ms (%.2f tok/s), %s\n",
               static_cast<long long>(result.prompt_tokens), result.prompt_ms, per_second(result.prompt_tokens, result.prompt_ms),
               static_cast<long long>(n_gen), result.gen_ms, per_second(n_gen, result.gen_ms), finish_name(result.finish));
  if (p.request.grammar && n_gen > 0)
    std::fprintf(stderr, "llm-generate: grammar: %.3f ms per generated token (%lld of %lld tokens redrawn from a mask)\n",
                 result.grammar_ms / double(n_gen), static_cast<long long>(result.grammar_redrawn), static_cast<long long>(n_gen));
  return llmkit::kExitOk;
}

int run_records(const Options& o, const PromptSettings& ps, const llmkit::Model& m, const llmkit::Tokenizer& tok,
                llmkit::KvCache& kv, llmkit::RecordRun& run) {
  struct InFlight {
    llmkit::JsonObject rec;
    int64_t dropped;
    bool grammar, json_output;
  };
  std::unordered_map<uint64_t, InFlight> in_flight;
  int64_t generation_errors = 0;  // counted by generate() as requests too
  llmkit::GenerationCallbacks cb;
  cb.next = [&]() -> std::optional<std::pair<uint64_t, llmkit::GenerationRequest>> {
    while (!g_interrupted) {
      std::optional<llmkit::RecordRun::Item> it = run.next();
      if (!it) return std::nullopt;
      try {
        PreparedPrompt p = prepare_record(it->rec, ps, tok);
        in_flight.emplace(it->seq, InFlight{std::move(it->rec), p.dropped, p.request.grammar != nullptr, p.json_output});
        return std::make_pair(it->seq, std::move(p.request));
      } catch (const llmkit::Error& e) {
        run.done_error(it->seq, &it->rec, e);
      }
    }
    return std::nullopt;
  };
  cb.on_done = [&](uint64_t id, llmkit::GenerationResult&& r) {
    auto it = in_flight.find(id);
    if (r.error) {
      ++generation_errors;
      run.done_error(id, &it->second.rec, *r.error);
    } else {
      const uint64_t n = r.tokens.size();
      add_result(it->second.rec, o.output_field, r, it->second.dropped, it->second.grammar);
      std::optional<std::string> parsed;
      if (it->second.json_output && !(parsed = output_json(r.text))) {
        ++generation_errors;
        run.done_error(id, &it->second.rec, incomplete_json(r));
      } else {
        if (parsed) it->second.rec.set_raw("output_json", *parsed);
        run.done(id, it->second.rec.dump(), false, n);
      }
    }
    in_flight.erase(it);
  };
  cb.cancelled = [] { return g_interrupted != 0; };
  const llmkit::GenerationStats s = llmkit::generate(m, tok, kv, o.n_batch, cb, !o.no_prefix_cache);
  if (g_interrupted) {
    run.stop();
    std::fprintf(stderr, "llm-generate: interrupted; %zu unfinished records not written%s\n", in_flight.size(),
                 run.output().to_file() ? (", the output so far is in " + run.output().partial_path()).c_str() : "");
    return kExitInterrupted;
  }
  run.finish();
  report(s, run.failed() - generation_errors, run.kept_ok());
  return run.failed() ? llmkit::kExitSomeFailed : llmkit::kExitOk;
}

// What makes two runs the same command, for --resume: the model file, the chat template, every
// setting that shapes an output (the record loop adds the model file, inputs, shard and index).
std::string run_identity(const Options& o, const PromptSettings& ps) {
  llmkit::JsonWriter w;
  w.begin_object();
  w.field("chat_template", ps.chat_template_hash);
  w.field("n_predict", o.n_predict).field("ctx_size", o.n_ctx).field("temp", o.sampling.temperature);
  w.field("top_k", static_cast<int64_t>(o.sampling.top_k)).field("top_p", o.sampling.top_p).field("min_p", o.sampling.min_p);
  w.field("repeat_penalty", o.sampling.repeat_penalty).field("repeat_last_n", static_cast<int64_t>(o.sampling.penalty_last_n));
  w.field("presence_penalty", o.sampling.presence_penalty).field("frequency_penalty", o.sampling.frequency_penalty);
  w.field("seed", static_cast<uint64_t>(o.sampling.seed)).field("template", o.template_text).field("system", o.system);
  w.field("chat", ps.chat).field("chat_template_kwargs", o.chat_template_kwargs).field("output_field", o.output_field);
  w.field("truncate", o.truncate).field("ignore_eos", o.ignore_eos).field("grammar", o.grammar).field("json_schema", o.json_schema);
  w.key("stop").begin_array();
  for (const std::string& x : o.stop) w.value(x);
  w.end_array();
  return w.end_object().take();
}

// The chat template: --chat-template-file, a named --chat-template, the model's own, or ChatML
// (with a warning at first use) for a model without one. A model template that does not parse
// fails only the records that need it.
void load_chat_template(const Options& o, const llmkit::GgufFile& file, const llmkit::Tokenizer& tok, PromptSettings& ps) {
  const llmkit::Vocab& v = tok.vocab();
  const std::string bos = v.bos >= 0 ? v.tokens[static_cast<size_t>(v.bos)] : "";
  const std::string eos = v.eos >= 0 ? v.tokens[static_cast<size_t>(v.eos)] : "";
  std::string source, origin;
  bool from_model = false;
  if (!o.chat_template_file.empty()) {
    std::ifstream in(o.chat_template_file, std::ios::binary);
    if (!in) throw llmkit::Error("usage", "cannot read --chat-template-file " + o.chat_template_file);
    std::ostringstream text;
    text << in.rdbuf();
    source = text.str(), origin = o.chat_template_file;
  } else if (!o.chat_template.empty()) {
    auto named = llmkit::chat_format_source(o.chat_template);
    if (!named) throw llmkit::Error("usage", "unknown chat template '" + o.chat_template + "' (or use --chat-template-file)");
    source = *named, origin = o.chat_template;
  } else if (auto jinja = file.get_opt<std::string>("tokenizer.chat_template")) {
    source = *jinja, origin = "the model's chat template", from_model = true;
  } else {
    source = *llmkit::chat_format_source("chatml"), origin = "chatml";
    ps.fallback_warning = "the model has no chat template; chat prompts use ChatML (see --chat-template)";
  }
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(XXH3_64bits(source.data(), source.size())));
  ps.chat_template_hash = hash;
  try {
    ps.chat_template = std::make_shared<llmkit::ChatTemplate>(source, origin, bos, eos);
  } catch (const llmkit::jinja::JinjaError& e) {
    if (!from_model) throw;  // a template the user named: a usage error
    ps.chat_template_error = std::string("the model's chat template: ") + e.what() + " (use --chat-template NAME or --chat-template-file)";
  }
}

void add_dry_run(llmkit::JsonObject& rec, const PreparedPrompt& p) {
  if (!p.text.empty()) rec.set("prompt", std::string_view(p.text));
  rec.set("prompt_tokens", static_cast<int64_t>(p.request.prompt.size()));
}

int dry_run_prompt(const Options& o, const PromptSettings& ps, const llmkit::Tokenizer& tok, llmkit::Stdout& out) {
  std::optional<PreparedPrompt> prepared = prepare_prompt(o, ps, tok);
  if (!prepared) return llmkit::kExitSomeFailed;
  const PreparedPrompt& p = *prepared;
  if (o.json) {
    llmkit::JsonObject rec;
    add_dry_run(rec, p);
    out.record(rec.dump());
  } else {
    out.write(p.text);
    std::fprintf(stderr, "llm-generate: %zu prompt tokens\n", p.request.prompt.size());
  }
  out.flush();
  return llmkit::kExitOk;
}

int dry_run_records(const PromptSettings& ps, const llmkit::Tokenizer& tok, llmkit::RecordRun& run) {
  while (std::optional<llmkit::RecordRun::Item> it = run.next()) {
    try {
      add_dry_run(it->rec, prepare_record(it->rec, ps, tok));
      run.done(it->seq, it->rec.dump(), false);
    } catch (const llmkit::Error& e) {
      run.done_error(it->seq, &it->rec, e);
    }
  }
  run.finish();
  return run.failed() ? llmkit::kExitSomeFailed : llmkit::kExitOk;
}

}  // namespace

int tool_main(int argc, char** argv, llmkit::Stdout& out) {
  Options o;
  CLI::App app{
      "Generate text with a model. -p TEXT: one prompt, the text streamed to stdout. Otherwise JSON-lines\n"
      "records on stdin, each {\"prompt\": ...}, {\"messages\": [{\"role\", \"content\"}...]}, {\"tokens\": [ids]}\n"
      "or any record with --template; each yields one record on stdout, in input order, with every input field kept and\n"
      "\"output\", \"finish_reason\", \"usage\" and \"timings\" added. --parallel N decodes N records together.",
      "llm-generate"};
  app.add_option("-m,--model", o.model, "model (GGUF)");
  app.add_option("-p,--prompt", o.prompt, "one prompt (escapes such as \\n are read)");
  add_record_flags(app, o.records);
  app.add_flag("--no-prefix-cache", o.no_prefix_cache, "compute every prompt in full, even the start it shares with another record's (the output is the same)");
  app.add_option("-n,--n-predict", o.n_predict, "tokens to generate at most (-1: until end of text or full context)");
  app.add_option("-c,--ctx-size", o.n_ctx, "context per sequence (0: the model's, at most 4096)")->check(CLI::NonNegativeNumber);
  app.add_option("-b,--batch-size", o.n_batch, "tokens per forward pass (default 512)")->check(CLI::PositiveNumber);
  app.add_option("-t,--threads", o.threads, "threads (default: all cores)")->check(CLI::PositiveNumber);
  app.add_option("--parallel", o.parallel, "records decoded together (default 1)")->check(CLI::Range(1, 256));
  app.add_option("--temp", o.sampling.temperature, "temperature; 0 = greedy (default 0.8)");
  app.add_option("--top-k", o.sampling.top_k, "top-k, 0 = off (default 40)");
  app.add_option("--top-p", o.sampling.top_p, "top-p, 1 = off (default 0.95)");
  app.add_option("--min-p", o.sampling.min_p, "min-p, 0 = off (default 0.05)");
  app.add_option("--repeat-penalty", o.sampling.repeat_penalty, "repeat penalty, 1 = off (default 1.0)");
  app.add_option("--repeat-last-n", o.sampling.penalty_last_n, "history the penalties see (default 64)");
  app.add_option("--presence-penalty", o.sampling.presence_penalty, "presence penalty (default 0)");
  app.add_option("--frequency-penalty", o.sampling.frequency_penalty, "frequency penalty (default 0)");
  app.add_option("-s,--seed", o.sampling.seed, "random seed (default 42: runs repeat)");
  app.add_option("--stop", o.stop, "stop before this text (repeatable)");
  app.add_option("--grammar", o.grammar, "GBNF grammar (llama.cpp's syntax) every output must follow");
  app.add_option("--grammar-file", o.grammar_file, "file holding a GBNF grammar");
  app.add_option("-j,--json-schema", o.json_schema, "JSON schema every output must follow (made a grammar); records get \"output_json\"");
  app.add_option("--json-schema-file", o.json_schema_file, "file holding a JSON schema");
  app.add_flag("--print-grammar", o.print_grammar, "write the grammar (a JSON schema's, as converted) to stdout and exit");
  app.add_option("--template", o.template_text, "prompt from a record's fields: 'Summarize:\\n\\n{text}'");
  app.add_flag("--chat", o.chat, "render prompts as a user message in the model's chat format");
  app.add_option("--system", o.system, "system message for chat prompts (implies --chat)");
  app.add_option("--chat-template", o.chat_template, "a named chat format instead of the model's template: chatml, llama3, llama2, mistral, phi3, gemma, zephyr");
  app.add_option("--chat-template-file", o.chat_template_file, "a Jinja chat template file instead of the model's template");
  app.add_option("--chat-template-kwargs", o.chat_template_kwargs, "further chat template variables, a JSON object: '{\"enable_thinking\": false}' (a record's \"chat_template_kwargs\" adds to them)");
  bool jinja_flag = false;  // llama.cpp's opt-in; here templates are always Jinja
  app.add_flag("--jinja", jinja_flag, "accepted as llama.cpp accepts it: chat templates are always rendered as Jinja");
  app.add_flag("--dry-run", o.dry_run, "write each record with its rendered \"prompt\" and \"prompt_tokens\" (-p: the prompt text); generate nothing");
  app.add_option("--output-field", o.output_field, "name of the added field (default output)");
  app.add_flag("--truncate", o.truncate, "cut over-long prompts from the left instead of failing the record");
  app.add_option("--cache-type-k", o.cache_type_k, "KV cache type for keys: f16, f32, q8_0 (default f16)");
  app.add_option("--cache-type-v", o.cache_type_v, "KV cache type for values: f16, f32, q8_0 (default f16)");
  app.add_flag("--ignore-eos", o.ignore_eos, "keep generating past end-of-text tokens (benchmarks)");
  app.add_flag("--no-repack", o.no_repack, "use the weights in the file's layout only (no interleaved copy at load)");
  app.add_option("--backend", o.backend, "who computes F32 and BF16 weight products: auto (oneDNN for prompts where it has native kernels), cpu (llmkit only), onednn (always)")->check(CLI::IsMember({"auto", "cpu", "onednn"}));
  app.add_flag("--json", o.json, "with -p: one JSON record instead of streamed text");
  app.set_version_flag("-V,--version", llmkit::version_line("llm-generate"));
  if (!llmkit::rewrite_llama_flags("llm-generate", argc, argv, {{"-np", "--parallel"}, {"-ctk", "--cache-type-k"}, {"-ctv", "--cache-type-v"}, {"-sys", "--system"}})) return llmkit::kExitUsage;
  try {
    app.parse(argc, argv);
    o.have_prompt = app.count("--prompt") > 0;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? llmkit::kExitOk : llmkit::kExitUsage;
  }
  if (!o.have_prompt && o.records.files.empty() && isatty(0)) {
    std::fprintf(stderr, "llm-generate: no -p TEXT or -f FILE, and stdin is a terminal (try --help)\n");
    return llmkit::kExitUsage;
  }
  if (o.threads > 0) omp_set_num_threads(o.threads);
  // The grammar first: a mistake in it is reported before a model is loaded.
  std::optional<llmkit::Grammar> grammar;
  const bool schema = !o.json_schema.empty() || !o.json_schema_file.empty();
  if (!o.grammar.empty() + !o.grammar_file.empty() + !o.json_schema.empty() + !o.json_schema_file.empty() > 1) {
    std::fprintf(stderr, "llm-generate: --grammar, --grammar-file, --json-schema and --json-schema-file: give one\n");
    return llmkit::kExitUsage;
  }
  for (auto [path, text, flag] : {std::tuple{&o.grammar_file, &o.grammar, "--grammar-file"}, std::tuple{&o.json_schema_file, &o.json_schema, "--json-schema-file"}}) {
    if (path->empty()) continue;
    std::ifstream in(*path, std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    if (!in) {
      std::fprintf(stderr, "llm-generate: cannot read %s %s\n", flag, path->c_str());
      return llmkit::kExitUsage;
    }
    *text = content.str();
  }
  const std::string grammar_origin = !o.grammar_file.empty() ? o.grammar_file : !o.json_schema_file.empty() ? o.json_schema_file
                                     : schema ? "--json-schema" : "--grammar";
  std::string gbnf = o.grammar;
  try {
    if (schema) gbnf = llmkit::json_schema_to_gbnf(o.json_schema);
    if (!gbnf.empty()) grammar = llmkit::parse_gbnf(gbnf);
  } catch (const llmkit::Error& e) {
    std::fprintf(stderr, "llm-generate: %s: %s\n", grammar_origin.c_str(), e.what());
    return llmkit::kExitUsage;
  }
  if (o.print_grammar) {
    if (!grammar) {
      std::fprintf(stderr, "llm-generate: --print-grammar needs --grammar, --grammar-file, --json-schema or --json-schema-file\n");
      return llmkit::kExitUsage;
    }
    out.write(gbnf);
    out.flush();
    return llmkit::kExitOk;
  }
  if (o.model.empty()) {
    std::fprintf(stderr, "llm-generate: -m/--model is required\n");
    return llmkit::kExitUsage;
  }

  std::shared_ptr<llmkit::GgufFile> file;
  std::unique_ptr<llmkit::Model> model;
  std::optional<llmkit::Tokenizer> tok;
  std::unique_ptr<llmkit::KvCache> kv;
  PromptSettings ps;
  try {
    file = std::make_shared<llmkit::GgufFile>(llmkit::GgufFile::open(o.model));
    tok.emplace(llmkit::load_vocab(*file));
    int64_t n_ctx = o.n_ctx;
    if (!o.dry_run) {  // a dry run needs the vocabulary only
      model = llmkit::Model::load(file, {.repack = !o.no_repack, .backend = llmkit::parse_backend(o.backend)});
      const llmkit::ModelParams& p = model->params();
      if (n_ctx <= 0) n_ctx = std::min<int64_t>(p.n_ctx_train > 0 ? p.n_ctx_train : 4096, 4096);
      kv = std::make_unique<llmkit::KvCache>(p, n_ctx, o.have_prompt ? 1 : o.parallel,
                                             llmkit::parse_cache_type(o.cache_type_k), llmkit::parse_cache_type(o.cache_type_v),
                                             o.n_batch);
    } else if (n_ctx <= 0) {
      const std::string arch = file->get_opt<std::string>("general.architecture").value_or("");
      n_ctx = std::min<int64_t>(file->get_int(arch + ".context_length").value_or(4096), 4096);
    }
    ps.n_ctx = n_ctx;
    ps.truncate = o.truncate;
    ps.template_text = unescape(o.template_text);
    ps.system = unescape(o.system);
    ps.chat = o.chat || !o.system.empty();
    load_chat_template(o, *file, *tok, ps);
    if (!o.chat_template_kwargs.empty()) {
      try {
        ps.chat_vars = llmkit::jinja::from_json(o.chat_template_kwargs);
      } catch (const llmkit::Error&) {
        ps.chat_vars = llmkit::jinja::Value::none();
      }
      if (ps.chat_vars.kind != llmkit::jinja::Value::Kind::Object)
        throw llmkit::Error("usage", "--chat-template-kwargs must be a JSON object, such as '{\"enable_thinking\": false}'");
    }
    if (ps.chat && !ps.chat_template) throw llmkit::Error("chat_template", ps.chat_template_error);
    ps.defaults.max_tokens = o.n_predict;
    ps.defaults.sampling = o.sampling;
    ps.defaults.ignore_eos = o.ignore_eos;
    for (const std::string& s : o.stop) ps.defaults.stop.push_back(unescape(s));
    ps.grammars = std::make_shared<GrammarCache>(*tok);
    if (grammar) ps.defaults.grammar = ps.grammars->add(std::move(*grammar));
    ps.json_output = schema;
  } catch (const llmkit::Error& e) {
    std::fprintf(stderr, "llm-generate: %s: %s\n", o.model.c_str(), e.what());
    return llmkit::kExitUsage;
  }
  if (o.have_prompt && (!o.records.files.empty() || !o.records.output.empty())) {
    std::fprintf(stderr, "llm-generate: -f and -o are for JSON-lines records, not -p (use --json > FILE)\n");
    return llmkit::kExitUsage;
  }
  if (!o.records.shard.empty()) {
    try {
      llmkit::Shard::parse(o.records.shard);
    } catch (const llmkit::Error& e) {
      std::fprintf(stderr, "llm-generate: %s\n", e.what());
      return llmkit::kExitUsage;
    }
  }
  if ((o.records.resume && o.records.output.empty()) || (o.records.retry_errors && !o.records.resume) || (o.records.resume && o.dry_run)) {
    std::fprintf(stderr, "llm-generate: --resume needs -o FILE (and no --dry-run); --retry-errors needs --resume\n");
    return llmkit::kExitUsage;
  }
  std::optional<llmkit::RecordRun> run;
  if (!o.have_prompt) {
    llmkit::RecordRunOptions ro = o.records;
    ro.model = o.model;
    ro.identity = o.dry_run ? "" : run_identity(o, ps);
    ro.error_record = [](const llmkit::JsonObject* rec, const llmkit::Error& e, std::optional<uint64_t> line) {
      return failed_record(rec, e, line);
    };
    try {
      run.emplace("llm-generate", out, std::move(ro));
    } catch (const llmkit::Error& e) {
      std::fprintf(stderr, "llm-generate: %s\n", e.what());
      return llmkit::kExitUsage;
    }
  }
  if (!o.dry_run) install_sigint();
  try {
    if (o.dry_run) return o.have_prompt ? dry_run_prompt(o, ps, *tok, out) : dry_run_records(ps, *tok, *run);
    return o.have_prompt ? run_prompt(o, ps, *model, *tok, *kv, out) : run_records(o, ps, *model, *tok, *kv, *run);
  } catch (const llmkit::Error& e) {
    std::fprintf(stderr, "llm-generate: %s\n", e.what());
    // An input file that cannot be read on, or an input that is not the resumed run's.
    return e.code() == "bad_input" || e.code() == "usage" ? llmkit::kExitUsage : llmkit::kExitSomeFailed;
  }
}

int main(int argc, char** argv) { return llmkit::run_tool("llm-generate", argc, argv, tool_main); }

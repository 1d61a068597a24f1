// llm-tokenize: text to token ids (and back) with a model's own tokenizer, exact to llama.cpp.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>
#include <climits>
#include <string>
#include <vector>

#include "llmkit/cli.h"
#include "llmkit/output.h"
#include "llmkit/error.h"
#include "llmkit/gguf.h"
#include "llmkit/json_writer.h"
#include "llmkit/jsonl.h"
#include "llmkit/record_io.h"
#include "llmkit/record_run.h"
#include "llmkit/record_flags.h"
#include "llmkit/tokenizer.h"

namespace {

struct Options {
  std::string model, prompt, field = "text";
  llmkit::RecordRunOptions records;  // -f -o --progress --resume --retry-errors --shard --index
  bool have_prompt = false, ids = false, pieces = false, detokenize = false, count = false, no_bos = false,
       parse_special = false;
};

std::string ids_text(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? " " : "") + std::to_string(ids[i]);
  return s;
}

std::string ids_json(const std::vector<int32_t>& ids) {
  llmkit::JsonWriter w;
  w.begin_array();
  for (int32_t id : ids) w.value(int64_t(id));
  return w.end_array().take();
}

// {"tokens": [...]} -> ids; Error("missing_field" | "bad_record") otherwise.
std::vector<int32_t> record_ids(const llmkit::JsonObject& rec) {
  if (!rec.has("tokens")) throw llmkit::Error("missing_field", "record has no \"tokens\" array");
  auto values = rec.get_int_array("tokens");
  if (!values) throw llmkit::Error("bad_record", "\"tokens\" must be an array of token ids");
  std::vector<int32_t> ids;
  for (int64_t v : *values) {
    if (v < 0 || v > INT32_MAX) throw llmkit::Error("bad_record", "\"tokens\" must be an array of token ids");
    ids.push_back(static_cast<int32_t>(v));
  }
  return ids;
}

void add_results(llmkit::JsonObject& rec, const llmkit::Tokenizer& tok, const Options& o, const std::string& text) {
  std::vector<int32_t> ids = tok.encode(text, !o.no_bos, o.parse_special);
  if (!o.count) rec.set_raw("tokens", ids_json(ids));
  rec.set("n_tokens", int64_t(ids.size()));
  if (o.pieces) {
    llmkit::JsonWriter w;
    w.begin_array();
    for (int32_t id : ids) w.value(tok.vocab().tokens[static_cast<size_t>(id)]);
    rec.set_raw("pieces", w.end_array().take());
  }
}

// What makes two runs the same command, for --resume.
std::string identity(const Options& o) {
  llmkit::JsonWriter w;
  w.begin_object();
  w.field("field", o.field).field("pieces", o.pieces).field("count", o.count).field("no_bos", o.no_bos);
  w.field("parse_special", o.parse_special);
  return w.end_object().take();
}

}  // namespace

int tool_main(int argc, char** argv, llmkit::Stdout& out) {
  Options o;
  CLI::App app{
      "Tokenize text with a model's tokenizer (any GGUF with tokenizer metadata, vocab-only files too).\n"
      "Reads JSON-lines records ({\"text\": ...}) on stdin and adds \"tokens\" and \"n_tokens\", or\n"
      "tokenizes -p TEXT. --detokenize turns {\"tokens\": [...]} back into \"text\".",
      "llm-tokenize"};
  app.add_option("-m,--model", o.model, "GGUF file with the tokenizer")->required();
  app.add_option("-p,--prompt", o.prompt, "tokenize this text instead of reading stdin");
  add_record_flags(app, o.records);
  app.add_option("--field", o.field, "input field holding the text (default: text)");
  app.add_flag("--ids", o.ids, "plain output: the ids separated by spaces, one line per input");
  app.add_flag("--pieces", o.pieces, "add \"pieces\": the token strings");
  app.add_flag("--detokenize", o.detokenize, "ids to text: {\"tokens\": [...]} records (or -p '1 2 3')");
  app.add_flag("--count", o.count, "only count: \"n_tokens\" (plain number with --ids or -p)");
  app.add_flag("--no-bos", o.no_bos, "add no BOS/EOS (CLS/SEP) tokens");
  app.add_flag("--parse-special", o.parse_special, "text such as <s> or <|im_start|> becomes that special token");
  app.set_version_flag("-V,--version", llmkit::version_line("llm-tokenize"));
  if (!llmkit::rewrite_llama_flags("llm-tokenize", argc, argv, {})) return llmkit::kExitUsage;
  try {
    app.parse(argc, argv);
    o.have_prompt = app.count("--prompt") > 0;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? llmkit::kExitOk : llmkit::kExitUsage;
  }

  std::optional<llmkit::Tokenizer> tok;
  try {
    llmkit::GgufFile f = llmkit::GgufFile::open(o.model);
    tok.emplace(llmkit::load_vocab(f));
  } catch (const llmkit::Error& e) {
    std::fprintf(stderr, "llm-tokenize: %s: %s\n", o.model.c_str(), e.what());
    return llmkit::kExitUsage;
  }

  if (o.have_prompt) {
    try {
      if (o.detokenize) {
        std::vector<int32_t> ids;
        std::istringstream in(o.prompt);
        for (long long v; in >> v;) ids.push_back(static_cast<int32_t>(v));
        out.record(tok->decode(ids));
      } else if (o.ids || o.count) {
        std::vector<int32_t> ids = tok->encode(o.prompt, !o.no_bos, o.parse_special);
        out.record(o.count ? std::to_string(ids.size()) : ids_text(ids));
      } else {
        llmkit::JsonObject rec;
        rec.set("text", std::string_view(o.prompt));
        add_results(rec, *tok, o, o.prompt);
        out.record(rec.dump());
      }
    } catch (const llmkit::Error& e) {
      std::fprintf(stderr, "llm-tokenize: %s\n", e.what());
      return llmkit::kExitUsage;
    }
    return llmkit::kExitOk;
  }
  if (o.records.files.empty() && isatty(0)) {
    std::fprintf(stderr, "llm-tokenize: no -p TEXT or -f FILE, and stdin is a terminal (try --help)\n");
    return llmkit::kExitUsage;
  }
  llmkit::RecordRunOptions ro = o.records;
  ro.model = o.model;
  ro.identity = identity(o);
  ro.error_record = [](const llmkit::JsonObject* rec, const llmkit::Error& e, std::optional<uint64_t> line) {
    return llmkit::error_record(rec, e.code(), e.what(), line);
  };
  if ((o.ids || o.detokenize) && o.records.resume) {
    std::fprintf(stderr, "llm-tokenize: --resume needs JSON-lines output (not --ids or --detokenize)\n");
    return llmkit::kExitUsage;
  }
  std::optional<llmkit::RecordRun> run;
  try {
    run.emplace("llm-tokenize", out, std::move(ro));
    while (std::optional<llmkit::RecordRun::Item> it = run->next()) {
      llmkit::JsonObject& rec = it->rec;
      try {
        if (o.detokenize) {
          std::vector<int32_t> ids = record_ids(rec);
          std::string text = tok->decode(ids);
          if (o.ids) {
            run->done(it->seq, text, false);
          } else {
            rec.set("text", std::string_view(text));
            run->done(it->seq, rec.dump(), false);
          }
        } else {
          auto text = rec.get_string(o.field);
          if (!text) throw llmkit::Error("missing_field", "record has no \"" + o.field + "\" string");
          if (o.ids) {
            std::vector<int32_t> ids = tok->encode(*text, !o.no_bos, o.parse_special);
            run->done(it->seq, o.count ? std::to_string(ids.size()) : ids_text(ids), false, ids.size());
          } else {
            add_results(rec, *tok, o, *text);
            run->done(it->seq, rec.dump(), false);
          }
        }
      } catch (const llmkit::Error& e) {
        run->done_error(it->seq, &rec, e);
      }
    }
    run->finish();
  } catch (const llmkit::Error& e) {  // a file that cannot be read or written, a resume of another command
    std::fprintf(stderr, "llm-tokenize: %s\n", e.what());
    return llmkit::kExitUsage;
  }
  return run->failed() ? llmkit::kExitSomeFailed : llmkit::kExitOk;
}

int main(int argc, char** argv) { return llmkit::run_tool("llm-tokenize", argc, argv, tool_main); }

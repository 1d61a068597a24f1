// gguf-info: what a GGUF file holds, from its header alone.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "llmkit/cli.h"
#include "llmkit/output.h"
#include "llmkit/error.h"
#include "llmkit/gguf.h"
#include "llmkit/gguf_json.h"
#include "llmkit/jsonl.h"
#include "report.h"

namespace {

struct Options {
  std::vector<std::string> files;
  bool json = false;
  bool tensors = false;
  std::string kv;
  ReportOptions report;
};

// One file to describe: a path argument, a plain stdin line, or a {"path": …} record.
struct Item {
  std::string path;
  llmkit::JsonObject record;  // fields to keep in the output (empty for plain paths)
};

class Run {
 public:
  Run(const Options& o, llmkit::Stdout& out) : o_(o), out_(out) {}

  bool json_out() const { return o_.json || o_.tensors; }

  void emit_line(const std::string& s) { out_.record(s); }

  // A record we cannot describe: an error record (JSON) or a line on stderr (text).
  void fail(const Item* item, const std::string& what, const llmkit::Error& e,
            std::optional<uint64_t> line = std::nullopt) {
    if (json_out()) {
      llmkit::JsonObject rec = item ? item->record : llmkit::JsonObject{};
      if (item && !item->path.empty()) rec.set("path", item->path);
      emit_line(llmkit::error_record(&rec, e.code(), what.empty() ? e.what() : what + ": " + e.what(), line));
      status_ = std::max(status_, int(llmkit::kExitSomeFailed));
    } else {
      std::fprintf(stderr, "gguf-info: %s%s%s\n", what.c_str(), what.empty() ? "" : ": ", e.what());
      // In text mode a missing key is a failed record; a bad file is an input-file error.
      int code = e.code() == "missing_key" ? llmkit::kExitSomeFailed : llmkit::kExitUsage;
      status_ = std::max(status_, code);
    }
  }

  void describe(const Item& item, bool many) {
    llmkit::GgufFile f;
    try {
      f = llmkit::GgufFile::open(item.path);
    } catch (const llmkit::Error& e) {
      fail(&item, item.path, e);
      return;
    }
    try {
      if (!o_.kv.empty()) {
        const llmkit::GgufValue* v = f.find(o_.kv);
        if (!v) throw llmkit::Error("missing_key", "no metadata key '" + o_.kv + "'");
        if (o_.json) {
          llmkit::JsonObject r = item.record;
          r.set("path", item.path);
          r.set("key", o_.kv);
          llmkit::JsonWriter w;
          llmkit::write_gguf_value(w, *v);
          r.set_raw("value", w.take());
          emit_line(r.dump());
        } else {
          emit_line((many ? item.path + "\t" : std::string()) + llmkit::gguf_value_text(*v));
        }
      } else if (o_.tensors) {
        for (const auto& line : tensor_records(item.record, item.path, f, o_.report)) emit_line(line);
      } else if (o_.json) {
        llmkit::JsonObject r = item.record;
        json_summary(r, item.path, f, o_.report);
        emit_line(r.dump());
      } else {
        if (printed_++) out_.write("\n");
        out_.write(text_summary(item.path, f));
        out_.end_record();
      }
    } catch (const llmkit::Error& e) {
      fail(&item, item.path, e);
    }
    out_.flush();
  }

  int from_args() {
    for (const auto& p : o_.files) describe(Item{p, {}}, o_.files.size() > 1);
    return status_;
  }

  int from_stdin() {
    llmkit::JsonlReader reader(std::cin);
    std::string line;
    uint64_t no = 0;
    while (reader.next_line(line, no)) {
      Item item;
      size_t start = line.find_first_not_of(" \t");
      if (line[start] == '{') {
        try {
          item.record = llmkit::parse_json_object(line);
        } catch (const llmkit::Error& e) {
          fail(nullptr, "line " + std::to_string(no), e, no);
          continue;
        }
        auto p = item.record.get_string("path");
        if (!p || p->empty()) {
          fail(&item, "line " + std::to_string(no),
               llmkit::Error("missing_field", "record has no \"path\" string"), no);
          continue;
        }
        item.path = *p;
      } else {
        item.path = line;
      }
      describe(item, true);
    }
    return status_;
  }

 private:
  const Options& o_;
  llmkit::Stdout& out_;
  int status_ = llmkit::kExitOk;
  int printed_ = 0;
};

}  // namespace

int tool_main(int argc, char** argv, llmkit::Stdout& out) {
  Options o;
  CLI::App app{
      "Describe GGUF model files from their headers: architecture, size, quantization, tokenizer,\n"
      "metadata and tensors. With no FILE, reads paths from stdin (one per line, or JSON-lines\n"
      "records with a \"path\" field whose other fields are kept).",
      "gguf-info"};
  app.add_option("FILE", o.files, "GGUF files to describe");
  app.add_flag("--json", o.json, "one JSON object per file (JSON-lines) with stable keys and the metadata");
  app.add_flag("--full", o.report.full, "with --json: write long metadata arrays in full");
  app.add_flag("--tensors", o.tensors, "one JSON-lines record per tensor: name, type, shape, offset, bytes");
  app.add_flag("--hash", o.report.hash, "with --tensors: add the xxh64 of each tensor's data (reads it)");
  app.add_option("--kv", o.kv, "print one metadata value (strings raw, arrays as JSON)");
  app.set_version_flag("-V,--version", llmkit::version_line("gguf-info"));
  try {
    app.parse(argc, argv);
    if (o.report.hash && !o.tensors) throw CLI::ValidationError("--hash", "--hash goes with --tensors");
    if (!o.kv.empty() && o.tensors) throw CLI::ValidationError("--kv", "--kv and --tensors exclude each other");
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? llmkit::kExitOk : llmkit::kExitUsage;
  }

  Run run(o, out);
  if (!o.files.empty()) return run.from_args();
  if (isatty(0)) {
    std::fprintf(stderr, "gguf-info: no FILE given and stdin is a terminal (try --help)\n");
    return llmkit::kExitUsage;
  }
  return run.from_stdin();
}

int main(int argc, char** argv) { return llmkit::run_tool("gguf-info", argc, argv, tool_main); }

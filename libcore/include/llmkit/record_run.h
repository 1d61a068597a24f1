// The record loop of the JSON-lines tools (llm-generate, llm-embed, llm-tokenize): records from
// -f files or stdin, those of one --shard, an --index added, what an earlier run of the same
// command wrote kept (--resume), unparsable lines turned into error records, the outputs written
// in input order to stdout or -o FILE whatever order they finish in, and progress on stderr. The
// tool computes the records next() hands it and gives each output to done().
#pragma once
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "llmkit/error.h"
#include "llmkit/jsonl.h"
#include "llmkit/output.h"
#include "llmkit/record_io.h"

namespace llmkit {

struct RecordRunOptions {
  std::vector<std::string> files;  // none: stdin
  std::string output;              // "": stdout
  bool progress = false;           // on stderr even when it is not a terminal
  bool resume = false, retry_errors = false, index = false;
  std::string shard;     // "K/N", or "" for all records
  std::string identity;  // a JSON object: what makes two runs the same command ("": no FILE.run.json)
  std::string model;     // the model file, named in the identity with its size
  // The tool's error record for a record that failed (rec null: a line that is not JSON).
  std::function<std::string(const JsonObject* rec, const Error& e, std::optional<uint64_t> line)> error_record;
};

// --resume: the records an earlier run wrote to FILE (FILE.partial when it did not finish), in
// input order; a last line cut by a kill, or a compressed tail cut inside a frame, ends them.
class EarlierOutput {
 public:
  explicit EarlierOutput(const std::string& output);
  bool empty() const { return !reader_; }
  std::optional<std::pair<std::string, JsonObject>> next();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::unique_ptr<std::ifstream> file_;
  std::unique_ptr<JsonlReader> reader_;
};

class RecordRun {
 public:
  // Throws Error("usage"): a file that cannot be read or written, a bad shard, a resume of
  // another command (FILE.run.json differs, or is missing beside earlier output).
  RecordRun(const char* tool, Stdout& out, RecordRunOptions options);

  struct Item {
    uint64_t seq;  // give it back to done()
    JsonObject rec;
    uint64_t line_no;
  };
  // The next record to compute; nullopt at the end of the input. Throws Error("usage") when the
  // input is not the resumed run's, Error("bad_input") for an input file that cannot be read on.
  std::optional<Item> next();
  // The output line of record `seq`; lines are written in input order as they become ready.
  void done(uint64_t seq, std::string line, bool failed, uint64_t tokens = 0);
  void done_error(uint64_t seq, const JsonObject* rec, const Error& e);

  // Completed: the output file takes its name; reports kept records and leftovers on stderr.
  void finish();
  // Stopped early (a signal): stdout also gets the records finished behind an unfinished one; a
  // file keeps input order (its FILE.partial is what --resume continues).
  void stop();

  int64_t failed() const { return failed_; }
  uint64_t answered() const { return answered_; }  // records with an output (kept, failed or computed)
  uint64_t kept_ok() const { return kept_ - kept_failed_; }  // copied from the earlier run, not errors
  const RecordOutput& output() const { return output_; }

 private:
  void flush();
  const char* tool_;
  RecordRunOptions opt_;
  Shard shard_;
  RecordInput input_;
  std::optional<EarlierOutput> earlier_;
  bool resuming_;  // earlier output exists, and FILE.run.json says it is this command's
  RecordOutput output_;
  std::optional<RecordProgress> progress_;
  std::map<uint64_t, std::string> ready_;
  uint64_t position_ = 0, next_seq_ = 0, written_ = 0, answered_ = 0, tokens_ = 0, kept_ = 0, kept_failed_ = 0;
  int64_t failed_ = 0;
};

}  // namespace llmkit

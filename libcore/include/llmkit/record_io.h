// Where a JSON-lines tool's records come from and go to: input from -f files, in order, or from
// stdin, each plain or zstd (found by its magic bytes); output to stdout or to -o FILE, zstd when
// the name ends in .zst. Each record is written whole and flushed when it completes (a zstd
// output block by block, so that an interrupted file decodes up to its last whole record). A file
// output is written as FILE.partial and renamed to FILE when the run completes; an interrupted
// run leaves FILE.partial.
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmkit/jsonl.h"
#include "llmkit/output.h"

namespace llmkit {

class RecordInput {
 public:
  // No files: stdin. Throws Error("usage") naming a file that cannot be opened.
  explicit RecordInput(std::vector<std::string> files);
  ~RecordInput();
  // The next non-blank line and its number in its file; false after the last input. Corrupt or
  // truncated compressed input throws Error("bad_input") naming the file.
  bool next(std::string& line, uint64_t& line_no);
  // The input being read: a file name, or "stdin".
  const std::string& source() const { return source_; }
  // How many records the files hold, counted by reading them once more (nullopt for stdin); with
  // a shard, how many of them are its records.
  std::optional<uint64_t> count(const struct Shard* shard = nullptr) const;

 private:
  bool open_next();
  std::vector<std::string> files_;
  size_t next_file_ = 0;
  std::string source_ = "stdin";
  std::unique_ptr<std::ifstream> file_;
  std::unique_ptr<JsonlReader> reader_;
  bool stdin_done_ = false;
};

class RecordOutput {
 public:
  // `path` empty: records go to `out` (stdout). Otherwise to path.partial (zstd when path ends
  // in .zst). Throws Error("usage") when the path is an input file of this run, Error("io") when
  // it cannot be created. `rewriting`: a resumed run, which reads the earlier path.partial (or
  // path) while it writes path.partial.new; settle() then puts the new file in its place.
  RecordOutput(Stdout& out, std::string path, bool rewriting = false);
  ~RecordOutput();
  RecordOutput(const RecordOutput&) = delete;
  RecordOutput& operator=(const RecordOutput&) = delete;

  // One record and a newline, flushed. A failed write throws OutputError (as Stdout does).
  void record(std::string_view line);
  // A rewriting output has copied what the earlier file held: path.partial.new becomes
  // path.partial (atomically; until then the earlier file is what a later --resume reads).
  void settle();
  // Ends the compressed stream and renames path.partial to path. Without it the partial file
  // stays (an interrupted run).
  void finish();
  bool to_file() const { return !path_.empty(); }
  const std::string& partial_path() const { return partial_; }

 private:
  void write_file(const void* data, size_t n);
  Stdout& out_;
  std::string path_, partial_, writing_;  // writing_: partial_, or partial_ + ".new" until settle()
  FILE* f_ = nullptr;
  struct Zstd;
  std::unique_ptr<Zstd> zstd_;
  uint64_t records_ = 0;
};

// --shard K/N: the records of shard K (0 <= K < N) are those whose "id" (its text for a string,
// its JSON for anything else; the input position for a record without one) hashes to K by
// xxHash (XXH3, 64 bits): the same split on every machine, whatever the order of the shards.
struct Shard {
  uint64_t k = 0, n = 1;
  // "K/N"; throws Error("usage") for anything else.
  static Shard parse(std::string_view text);
  bool all() const { return n == 1; }
  bool takes(const JsonObject& rec, uint64_t position) const;
  // A record that is not even JSON goes by its position.
  bool takes_position(uint64_t position) const;
};

// Progress of a record run on stderr: records done (of the total when known), failures, tokens
// per second and the time left. On a terminal one line rewritten in place, at most 4 times a
// second; in a log file (with --progress) a line every `log_every`.
class RecordProgress {
 public:
  RecordProgress(bool on, std::optional<uint64_t> total, const char* tool,
                 std::chrono::seconds log_every = std::chrono::seconds(10));
  void update(uint64_t done, uint64_t failed, uint64_t tokens);
  void finish();  // ends a terminal's line

 private:
  void print(uint64_t done, uint64_t failed, uint64_t tokens);
  bool on_, tty_;
  std::optional<uint64_t> total_;
  const char* tool_;
  std::chrono::steady_clock::duration every_;
  std::chrono::steady_clock::time_point t0_, last_;
  bool printed_ = false;
};

}  // namespace llmkit

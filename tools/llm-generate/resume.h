// --resume with -o FILE: the records an earlier run of the same command wrote (FILE.partial while
// it was unfinished, FILE when it completed), read back in input order so that they are copied
// rather than computed again, and the run's identity (FILE.run.json) that says whether it is the
// same command (model, chat template, settings, inputs).
#pragma once
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "llmkit/jsonl.h"

class ResumeSource {
 public:
  // Opens FILE.partial, else FILE; neither: nothing to resume (empty()).
  explicit ResumeSource(const std::string& output);
  bool empty() const { return !reader_; }
  // The next whole record the earlier run wrote, as written and parsed; nullopt at its end. A
  // last line cut by a kill (it does not parse) and a compressed tail cut inside a frame end it.
  std::optional<std::pair<std::string, llmkit::JsonObject>> next();
  const std::string& path() const { return path_; }
  uint64_t read() const { return read_; }

 private:
  std::string path_;
  std::unique_ptr<std::ifstream> file_;
  std::unique_ptr<llmkit::JsonlReader> reader_;
  uint64_t read_ = 0;
};

// FILE.run.json: written for a new run; for a resumed one (`resuming`: earlier output exists)
// compared with `identity`. Throws Error("usage") naming what differs, or when the earlier
// output has no identity file to compare with.
void check_run_identity(const std::string& output, const std::string& identity, bool resuming);

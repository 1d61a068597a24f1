// The record loop's flags (llmkit/record_run.h), the same in every JSON-lines tool. Header-only:
// the tools parse their command lines with CLI11; libcore itself does not.
#pragma once
#include <CLI/CLI.hpp>

#include "llmkit/record_run.h"

inline void add_record_flags(CLI::App& app, llmkit::RecordRunOptions& r) {
  app.add_option("-f,--file", r.files, "JSON-lines input file, plain or zstd (repeatable, read in order; default stdin)");
  app.add_option("-o,--output", r.output, "write the records to FILE (zstd when it ends in .zst; FILE.partial until the run completes)");
  app.add_flag("--progress", r.progress, "report progress on stderr even when it is not a terminal");
  app.add_flag("--resume", r.resume, "with -o: keep the records an interrupted (or finished) run of this command wrote, compute the rest");
  app.add_flag("--retry-errors", r.retry_errors, "with --resume: compute again the records that ended in an error");
  app.add_option("--shard", r.shard, "K/N: only the records whose id hashes to shard K of N (0 <= K < N), for runs spread over machines");
  app.add_flag("--index", r.index, "add \"index\", the record's position in the input (counting from 0), to merge shards back in order");
}

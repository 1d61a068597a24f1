// One result record per test, and the ways to write them: JSON-lines (the stable format, see
// llm-bench(1)), a JSON array, a Markdown table (the default on a terminal) and CSV.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "llmkit/output.h"
#include "llmkit/system_info.h"

namespace llmkit::bench {

struct Record {
  std::string model, model_type, type;
  uint64_t size = 0, params = 0;
  std::string backend = "CPU", kernels;
  bool repack = true;
  int threads = 0, parallel = 1;
  int64_t batch = 0, depth = 0;
  std::string test;
  int64_t n_prompt = 0, n_gen = 0;
  std::vector<double> samples_ts;
  double avg_ts = 0, stddev_ts = 0;
  std::optional<double> gflops;                                  // pp and pg tests
  std::optional<double> bytes_per_token, ceiling_ts, ceiling_fraction;  // tg tests
  double bandwidth_gbs = 0;
};

enum class Format { jsonl, json, md, csv };

// Streams records out as they come (the JSON array closes in finish()).
class Writer {
 public:
  Writer(Format f, const SystemInfo& sys, Stdout& out);
  void write(const Record& r);
  void finish();

 private:
  Format f_;
  const SystemInfo& sys_;
  Stdout& out_;
  int n_ = 0;
};

std::string json_record(const Record& r, const SystemInfo& sys);

}  // namespace llmkit::bench

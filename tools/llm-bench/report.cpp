#include "report.h"

#include <cstdio>

#include "llmkit/cli.h"
#include "llmkit/json_writer.h"

namespace llmkit::bench {
namespace {

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

std::string human_size(uint64_t bytes) {
  const double b = static_cast<double>(bytes);
  return b >= 1024.0 * 1024 * 1024 ? fmt("%.2f GiB", b / (1024.0 * 1024 * 1024)) : fmt("%.2f MiB", b / (1024.0 * 1024));
}

std::string human_params(uint64_t n) {
  const double v = static_cast<double>(n);
  return v >= 1e9 ? fmt("%.2f B", v / 1e9) : fmt("%.2f M", v / 1e6);
}

std::string roofline(const Record& r) {
  if (r.ceiling_fraction) return fmt("%.0f%%", 100 * *r.ceiling_fraction) + " of " + fmt("%.1f", *r.ceiling_ts);
  if (r.gflops) return fmt("%.1f GFLOP/s", *r.gflops);
  return "";
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}

}  // namespace

std::string json_record(const Record& r, const SystemInfo& sys) {
  JsonWriter w;
  w.begin_object();
  w.field("model", r.model).field("model_type", r.model_type).field("type", r.type);
  w.field("size", r.size).field("params", r.params);
  w.field("backend", r.backend).field("kernels", r.kernels).field("repack", r.repack);
  w.field("threads", r.threads).field("batch", r.batch).field("parallel", r.parallel).field("depth", r.depth);
  w.field("test", r.test).field("n_prompt", r.n_prompt).field("n_gen", r.n_gen);
  w.key("samples_ts").begin_array();
  for (double v : r.samples_ts) w.value(v);
  w.end_array();
  w.field("repetitions", static_cast<int64_t>(r.samples_ts.size()));
  w.field("avg_ts", r.avg_ts).field("stddev_ts", r.stddev_ts);
  w.field("bandwidth_gbs", r.bandwidth_gbs);
  if (r.gflops) w.field("gflops", *r.gflops);
  if (r.ceiling_ts) {
    w.field("bytes_per_token", static_cast<uint64_t>(*r.bytes_per_token));
    w.field("ceiling_ts", *r.ceiling_ts).field("ceiling_fraction", *r.ceiling_fraction);
  }
  w.key("system").begin_object();
  w.field("cpu", sys.cpu);
  w.key("simd").begin_array();
  for (const auto& f : sys.simd) w.value(f);
  w.end_array();
  w.field("cores", sys.cores).field("ram_bytes", sys.ram_bytes);
  w.key("gpu");
  if (sys.gpu.empty()) w.null();
  else w.value(sys.gpu);
  w.field("gpu_bytes", sys.gpu_bytes);
  w.end_object();
  w.field("llmkit_version", std::string(version())).field("commit", std::string(git_commit()));
  w.end_object();
  return w.str();
}

Writer::Writer(Format f, const SystemInfo& sys, Stdout& out) : f_(f), sys_(sys), out_(out) {}

void Writer::write(const Record& r) {
  switch (f_) {
    case Format::jsonl: std::printf("%s\n", json_record(r, sys_).c_str()); break;
    case Format::json: std::printf("%s\n  %s", n_ ? "," : "[", json_record(r, sys_).c_str()); break;
    case Format::md:
      if (n_ == 0)
        std::printf("| model | size | params | backend | threads | batch | parallel | depth | test | t/s | roofline |\n"
                    "|---|---:|---:|---|---:|---:|---:|---:|---|---:|---:|\n");
      std::printf("| %s | %s | %s | %s %s | %d | %lld | %d | %lld | %s | %.2f ± %.2f | %s |\n", r.model_type.c_str(),
                  human_size(r.size).c_str(), human_params(r.params).c_str(), r.backend.c_str(), r.kernels.c_str(), r.threads,
                  static_cast<long long>(r.batch), r.parallel, static_cast<long long>(r.depth), r.test.c_str(), r.avg_ts,
                  r.stddev_ts, roofline(r).c_str());
      break;
    case Format::csv:
      if (n_ == 0)
        std::printf("model,model_type,type,size,params,backend,kernels,threads,batch,parallel,depth,test,n_prompt,n_gen,"
                    "repetitions,avg_ts,stddev_ts,gflops,ceiling_ts,ceiling_fraction,bandwidth_gbs,cpu,cores\n");
      std::printf("%s,%s,%s,%llu,%llu,%s,%s,%d,%lld,%d,%lld,%s,%lld,%lld,%zu,%.4f,%.4f,%s,%s,%s,%.3f,%s,%d\n",
                  csv_field(r.model).c_str(), csv_field(r.model_type).c_str(), r.type.c_str(),
                  static_cast<unsigned long long>(r.size), static_cast<unsigned long long>(r.params), r.backend.c_str(),
                  r.kernels.c_str(), r.threads, static_cast<long long>(r.batch), r.parallel, static_cast<long long>(r.depth),
                  r.test.c_str(), static_cast<long long>(r.n_prompt), static_cast<long long>(r.n_gen), r.samples_ts.size(),
                  r.avg_ts, r.stddev_ts, r.gflops ? fmt("%.3f", *r.gflops).c_str() : "",
                  r.ceiling_ts ? fmt("%.3f", *r.ceiling_ts).c_str() : "",
                  r.ceiling_fraction ? fmt("%.4f", *r.ceiling_fraction).c_str() : "", r.bandwidth_gbs,
                  csv_field(sys_.cpu).c_str(), sys_.cores);
      break;
  }
  ++n_;
  out_.end_record();
}

void Writer::finish() {
  if (f_ == Format::json) std::printf(n_ ? "\n]\n" : "[]\n");
  out_.flush();
}

}  // namespace llmkit::bench

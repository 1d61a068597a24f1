#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "llmkit/model_summary.h"
#include "report.h"

namespace {

std::string commas(uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

std::string human_count(uint64_t v) {
  const char* units[] = {"", "K", "M", "B", "T"};
  double x = static_cast<double>(v);
  int u = 0;
  while (x >= 1000.0 && u < 4) {
    x /= 1000.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.2f%s" : "%.0f%s", x, units[u]);
  return buf;
}

std::string human_bytes(uint64_t v) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double x = static_cast<double>(v);
  int u = 0;
  while (x >= 1024.0 && u < 4) {
    x /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.2f %s" : "%.0f %s", x, units[u]);
  return buf;
}

std::string opt(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "-"; }

void line(std::string& out, const char* label, const std::string& value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "  %-15s ", label);
  out += buf;
  out += value;
  out += '\n';
}

}  // namespace

std::string text_summary(const std::string& path, const llmkit::GgufFile& f) {
  llmkit::ModelSummary s = llmkit::summarize(f);
  std::string out = path + "\n";
  line(out, "architecture", s.architecture.empty() ? "-" : s.architecture);
  line(out, "name", s.name.empty() ? "-" : s.name);
  line(out, "parameters", human_count(s.parameters) + " (" + commas(s.parameters) + ")");
  line(out, "file type", s.file_type + (s.file_type_guessed ? " (guessed from tensor types)" : ""));
  line(out, "file size", human_bytes(s.file_size) + " (" + commas(s.file_size) + " bytes)");
  char bpw[32];
  std::snprintf(bpw, sizeof bpw, "%.2f", s.bits_per_weight);
  line(out, "bits/weight", s.parameters ? bpw : "-");
  line(out, "context", opt(s.context_length));
  line(out, "embedding", opt(s.embedding_length));
  line(out, "layers", opt(s.block_count));
  line(out, "heads", opt(s.head_count) + " (KV heads " + opt(s.head_count_kv) + ")");
  line(out, "feed-forward", opt(s.feed_forward_length));
  std::string vocab = opt(s.vocab_size);
  if (!s.tokenizer_model.empty())
    vocab += " (" + s.tokenizer_model + ": " + llmkit::tokenizer_family(s.tokenizer_model) +
             (s.tokenizer_pre.empty() ? "" : ", pre " + s.tokenizer_pre) + ")";
  line(out, "vocab", vocab);
  line(out, "chat template", s.has_chat_template ? "yes" : "no");
  std::vector<std::pair<std::string, uint64_t>> types(s.tensor_types.begin(), s.tensor_types.end());
  std::stable_sort(types.begin(), types.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string hist;
  for (const auto& [name, n] : types) hist += (hist.empty() ? "" : ", ") + name + " x" + std::to_string(n);
  line(out, "tensor types", hist.empty() ? "-" : hist);
  line(out, "gguf", "v" + std::to_string(f.version()) + ", " + std::to_string(f.tensors().size()) +
                        " tensors, " + std::to_string(f.metadata().size()) + " metadata keys, alignment " +
                        std::to_string(f.alignment()) + ", data at byte " + commas(f.data_offset()));
  return out;
}

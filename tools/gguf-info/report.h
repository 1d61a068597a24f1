// gguf-info's renderings of one file: human text, a JSON summary record, tensor records.
#pragma once
#include <string>
#include <vector>

#include "llmkit/gguf.h"
#include "llmkit/jsonl.h"

struct ReportOptions {
  bool full = false;  // --full: no array summarising in JSON metadata
  bool hash = false;  // --hash: xxh64 of each tensor's data
};

std::string text_summary(const std::string& path, const llmkit::GgufFile& f);
// The summary facts and metadata, added to `rec` (the input record's fields are kept).
void json_summary(llmkit::JsonObject& rec, const std::string& path, const llmkit::GgufFile& f,
                  const ReportOptions& opt);
// One record per tensor, each starting from `base` (the input record).
std::vector<std::string> tensor_records(const llmkit::JsonObject& base, const std::string& path,
                                        const llmkit::GgufFile& f, const ReportOptions& opt);

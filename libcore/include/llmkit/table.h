// JSON-lines records as an aligned text table, for listings printed on a terminal (a pipe or a
// file gets the JSON-lines).
#pragma once
#include <string>
#include <vector>

#include "llmkit/jsonl.h"

namespace llmkit {

struct TableColumn {
  std::string field;   // the record's key
  std::string header;  // what the table calls it
};

// One line per record; strings unquoted, numbers as written, arrays and objects as JSON,
// absent fields blank. Numeric columns are right-aligned.
std::string format_table(const std::vector<JsonObject>& rows, const std::vector<TableColumn>& columns);

}  // namespace llmkit

#include "llmkit/table.h"

#include <algorithm>

namespace llmkit {

std::string format_table(const std::vector<JsonObject>& rows, const std::vector<TableColumn>& columns) {
  const size_t nc = columns.size();
  std::vector<std::vector<std::string>> cells(rows.size(), std::vector<std::string>(nc));
  std::vector<size_t> width(nc);
  std::vector<bool> numeric(nc, true);
  for (size_t c = 0; c < nc; ++c) width[c] = columns[c].header.size();
  for (size_t r = 0; r < rows.size(); ++r)
    for (size_t c = 0; c < nc; ++c) {
      const std::string* raw = rows[r].raw(columns[c].field);
      std::string v;
      if (raw) {
        if (auto s = rows[r].get_string(columns[c].field)) v = *s, numeric[c] = false;
        else if (*raw == "null") v = "";
        else v = *raw, numeric[c] = numeric[c] && rows[r].get_number(columns[c].field).has_value();
      }
      width[c] = std::max(width[c], v.size());
      cells[r][c] = std::move(v);
    }
  std::string out;
  auto line = [&](const std::vector<std::string>& v) {
    std::string l;
    for (size_t c = 0; c < nc; ++c) {
      const std::string pad(width[c] - std::min(width[c], v[c].size()), ' ');
      if (c) l += "  ";
      l += numeric[c] ? pad + v[c] : v[c] + (c + 1 < nc ? pad : "");
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + '\n';
  };
  std::vector<std::string> head;
  for (const TableColumn& c : columns) head.push_back(c.header);
  line(head);
  for (const auto& r : cells) line(r);
  return out;
}

}  // namespace llmkit

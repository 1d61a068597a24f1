// JSON-lines records: every tool reads objects, keeps their fields (notably "id") and adds its own,
// so `tool-a | tool-b` pipes work. Fields are kept as minified JSON text in input order.
#pragma once
#include <cstdint>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmkit {

class JsonObject {
 public:
  // Adds or replaces (in place, as jq's `. + {...}` does) a field holding serialised JSON.
  void set_raw(std::string_view key, std::string json);
  void set(std::string_view key, std::string_view s);
  void set(std::string_view key, int64_t v);
  void set(std::string_view key, double v);
  void set(std::string_view key, bool v);
  void erase(std::string_view key);

  const std::string* raw(std::string_view key) const;
  bool has(std::string_view key) const { return raw(key) != nullptr; }
  // Decoded string value; nullopt when absent or not a string.
  std::optional<std::string> get_string(std::string_view key) const;
  std::optional<double> get_number(std::string_view key) const;
  std::optional<int64_t> get_int(std::string_view key) const;
  // An array of integers; nullopt when absent, not an array, or holding anything else.
  std::optional<std::vector<int64_t>> get_int_array(std::string_view key) const;
  // An array of strings (a lone string counts as an array of one); nullopt otherwise.
  std::optional<std::vector<std::string>> get_string_array(std::string_view key) const;
  // An array of objects; nullopt when absent, not an array, or holding anything else.
  std::optional<std::vector<JsonObject>> get_object_array(std::string_view key) const;

  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }
  std::string dump() const;

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

// Parses one line holding a JSON object. Throws Error("bad_json" | "not_object", ...).
JsonObject parse_json_object(std::string_view line);

// Reads stdin-like streams line by line; blank lines are skipped. Input that starts with a
// zstd frame (`zstd -c docs.jsonl | llm-tokenize ...`) is decompressed as it is read, frame
// after frame, 64 KiB of compressed input at a time. Throws Error("bad_input") for corrupt or
// truncated compressed input.
class JsonlReader {
 public:
  explicit JsonlReader(std::istream& in);
  ~JsonlReader();
  JsonlReader(const JsonlReader&) = delete;
  JsonlReader& operator=(const JsonlReader&) = delete;
  // Next non-blank line; false at end of input. `line_no` is 1-based.
  bool next_line(std::string& line, uint64_t& line_no);

 private:
  bool next_text_line(std::string& line);
  bool fill();  // reads or decodes more compressed input; false at its end
  std::istream& in_;
  uint64_t line_no_ = 0;
  std::string text_;  // decoded, not yet returned
  size_t pos_ = 0;
  std::vector<char> raw_;
  size_t raw_pos_ = 0, raw_end_ = 0;
  uint64_t raw_base_ = 0;  // compressed bytes before raw_ (for error offsets)
  struct ZstdState;
  std::unique_ptr<ZstdState> zstd_;  // set when the input is compressed
  bool started_ = false, eof_ = false, frame_open_ = false;  // frame_open_: a frame is not complete
};

// {"id":…, ..., "error":{"code":…, "message":…}}: the input's fields are kept.
std::string error_record(const JsonObject* input, std::string_view code, std::string_view message,
                         std::optional<uint64_t> line_no = std::nullopt);

}  // namespace llmkit

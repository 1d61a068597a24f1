// Minimal streaming JSON writer for our stable output records. Strings are emitted as valid
// UTF-8: invalid bytes (raw byte tokens in vocabularies) become U+FFFD. NaN/Inf become null.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace llmkit {

void json_append_string(std::string& out, std::string_view s);
std::string json_string(std::string_view s);
std::string json_number(double d);  // shortest round-trip form; null for NaN/Inf
std::string json_number(float f);

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b);
  JsonWriter& value(int64_t i);
  JsonWriter& value(uint64_t u);
  JsonWriter& value(int i) { return value(int64_t(i)); }
  JsonWriter& value(unsigned u) { return value(uint64_t(u)); }
  JsonWriter& value(double d);
  JsonWriter& value(float f);
  JsonWriter& null();
  JsonWriter& raw(std::string_view json);  // an already-serialised JSON value

  template <class T> JsonWriter& field(std::string_view k, const T& v) { key(k); return value(v); }

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void before_value();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

}  // namespace llmkit

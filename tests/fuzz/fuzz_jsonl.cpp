// libFuzzer: any bytes as JSON-lines input (plain or zstd-compressed), every record parsed and
// every typed accessor the tools use applied to every field, then written back out.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "llmkit/error.h"
#include "llmkit/jsonl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    llmkit::JsonlReader reader(in);
    std::string line;
    uint64_t no = 0;
    while (reader.next_line(line, no)) {
      try {
        llmkit::JsonObject rec = llmkit::parse_json_object(line);
        for (const auto& [key, raw] : rec.fields()) {
          (void)rec.get_string(key), (void)rec.get_number(key), (void)rec.get_int(key);
          (void)rec.get_int_array(key), (void)rec.get_string_array(key), (void)rec.get_object_array(key);
        }
        rec.set("added", std::string_view("x"));
        (void)llmkit::error_record(&rec, "code", "message", no);
        (void)rec.dump();
      } catch (const llmkit::Error&) {
      }
    }
  } catch (const llmkit::Error&) {
  }
  return 0;
}

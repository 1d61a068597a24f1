#include <catch2/catch.hpp>

#include "llmkit/error.h"
#include "llmkit/gguf_json.h"
#include "llmkit/json_writer.h"
#include "llmkit/jsonl.h"

using namespace llmkit;

TEST_CASE("JSON strings are escaped and always valid UTF-8", "[json]") {
  CHECK(json_string("a\"b\\c\n\t\x01") == "\"a\\\"b\\\\c\\n\\t\\u0001\"");
  CHECK(json_string("caf\xC3\xA9 \xE2\x96\x81") == "\"caf\xC3\xA9 \xE2\x96\x81\"");
  CHECK(json_string("bad\xFF") == "\"bad\xEF\xBF\xBD\"");
  CHECK(json_string("\xC0\xAF") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");  // overlong '/'
  CHECK(json_string("\xED\xA0\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // surrogate
  CHECK(json_string(std::string("a\0b", 3)) == "\"a\\u0000b\"");
}

TEST_CASE("JSON numbers: shortest round trip, null for NaN and infinity", "[json]") {
  CHECK(json_number(0.1f) == "0.1");
  CHECK(json_number(1e-05f) == "1e-05");
  CHECK(json_number(2.5) == "2.5");
  CHECK(json_number(std::nan("")) == "null");
  CHECK(json_number(1.0 / 0.0) == "null");
}

TEST_CASE("JsonWriter nests objects and arrays with commas in the right places", "[json]") {
  JsonWriter w;
  w.begin_object().field("a", 1).key("b").begin_array().value(true).null().value("x").end_array();
  w.key("c").begin_object().end_object().field("d", uint64_t(18446744073709551615ull)).end_object();
  CHECK(w.str() == R"({"a":1,"b":[true,null,"x"],"c":{},"d":18446744073709551615})");
}

TEST_CASE("records keep their fields and set replaces in place", "[json][jsonl]") {
  JsonObject o = parse_json_object(R"({"id": 7, "path": "a.gguf", "tags": ["x", {"y": 1}], "s": "\u00e9"})");
  CHECK(o.get_int("id") == 7);
  CHECK(o.get_string("path") == "a.gguf");
  CHECK(o.get_string("s") == "\xC3\xA9");
  CHECK(!o.get_string("id"));
  CHECK(o.get_number("id") == 7.0);
  o.set("path", std::string_view("b.gguf"));
  o.set("n", int64_t(3));
  CHECK(o.dump() == R"({"id":7,"path":"b.gguf","tags":["x",{"y":1}],"s":"é","n":3})");
  CHECK_THROWS_AS(parse_json_object("{not json"), Error);
  CHECK_THROWS_WITH(parse_json_object("[1,2]"), Catch::Contains("not a JSON object"));
  try {
    parse_json_object("{\"a\":");
  } catch (const Error& e) {
    CHECK(e.code() == "bad_json");
  }
}

TEST_CASE("error records keep the input's id", "[json][jsonl]") {
  JsonObject in = parse_json_object(R"({"id":"doc-1","path":"x"})");
  CHECK(error_record(&in, "bad_gguf", "at byte 0: not a GGUF file") ==
        R"({"id":"doc-1","path":"x","error":{"code":"bad_gguf","message":"at byte 0: not a GGUF file"}})");
  CHECK(error_record(nullptr, "bad_json", "invalid", 3) ==
        R"({"error":{"code":"bad_json","message":"invalid","line":3}})");
}

TEST_CASE("GGUF values as JSON, long arrays summarised", "[json][gguf]") {
  GgufValue arr(GgufArray::of(std::vector<int32_t>{1, 2, 3}));
  JsonWriter w;
  write_gguf_value(w, arr, 2);
  CHECK(w.str() == R"({"type":"array","element_type":"i32","length":3})");
  JsonWriter full;
  write_gguf_value(full, arr);
  CHECK(full.str() == "[1,2,3]");
  CHECK(gguf_value_text(GgufValue("llama")) == "llama");
  CHECK(gguf_value_text(GgufValue(1e-5f)) == "1e-05");
  CHECK(gguf_value_text(GgufValue(false)) == "false");
}

TEST_CASE("integer arrays from records", "[json][jsonl]") {
  JsonObject o = parse_json_object(R"({"a": [1, -2, 30000000000], "b": [], "c": [1, "x"], "d": 5, "e": [1.5]})");
  CHECK(o.get_int_array("a") == std::vector<int64_t>{1, -2, 30000000000});
  CHECK(o.get_int_array("b") == std::vector<int64_t>{});
  CHECK(!o.get_int_array("c"));
  CHECK(!o.get_int_array("d"));
  CHECK(!o.get_int_array("e"));
  CHECK(!o.get_int_array("missing"));
}

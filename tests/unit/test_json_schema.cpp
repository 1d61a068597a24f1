// JSON Schema to GBNF: the grammar's sentences against the schema's valid instances (integer
// ranges exhaustively), and errors that say where and what.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "llmkit/error.h"
#include "llmkit/grammar.h"

using namespace llmkit;

namespace {

bool sentence(const Grammar& g, const std::string& text) {
  GrammarMatcher m(g);
  return m.accept_bytes(text) && m.can_end();
}

Grammar of(const std::string& schema) { return parse_gbnf(json_schema_to_gbnf(schema)); }

std::string error_of(const std::string& schema) {
  try {
    json_schema_to_gbnf(schema);
  } catch (const Error& e) {
    CHECK(e.code() == "bad_schema");
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("JSON schema: objects, required and optional properties in order, other keys", "[grammar][schema]") {
  const Grammar g = of(R"({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"},
                           "c": {"type": "boolean"}}, "required": ["b"]})");
  for (const char* ok : {R"({"b": "x"})", R"({"a": 1, "b": "x"})", R"({"b": "", "c": true})", R"({"a": -3, "b": "y", "c": false})",
                         "{\n  \"a\": 1,\n  \"b\": \"x\"\n}\n"})
    CHECK(sentence(g, ok));
  for (const char* bad : {R"({})", R"({"a": 1})", R"({"b": 1})", R"({"c": true, "b": "x"})", R"({"b": "x",})",
                          R"({"b": "x", "d": 1})", R"({"b": "x"} {)", "{\"b\": \"x\x01\"}", R"({"b": "\ud800"})"})
    CHECK_FALSE(sentence(g, bad));
  // No required property: any subset, in order, or none.
  const Grammar opt = of(R"({"properties": {"a": {"const": 1}, "b": {"const": 2}}})");
  for (const char* ok : {"{}", R"({"a": 1})", R"({"b": 2})", R"({"a": 1, "b": 2})"}) CHECK(sentence(opt, ok));
  for (const char* bad : {R"({"b": 2, "a": 1})", R"({,"b": 2})", R"({"a": 2})"}) CHECK_FALSE(sentence(opt, bad));
  // Other keys, but never one of the properties' names (a duplicate key would override it).
  const Grammar extra = of(R"({"properties": {"ab": {"type": "integer"}}, "additionalProperties": {"type": "string"}})");
  for (const char* ok : {"{}", R"({"ab": 1})", R"({"ab": 1, "a": "x"})", R"({"abc": "x"})", R"({"b": "x", "": "y"})"})
    CHECK(sentence(extra, ok));
  for (const char* bad : {R"({"ab": "x"})", R"({"ab": 1, "ab": "x"})", R"({"x": 1})"}) CHECK_FALSE(sentence(extra, bad));
}

TEST_CASE("JSON schema: integer bounds, every integer from -2000 to 6000", "[grammar][schema]") {
  struct Case {
    const char* schema;
    int64_t lo, hi;
  };
  for (const Case& c : {Case{R"({"type": "integer", "minimum": -123, "maximum": 4567})", -123, 4567},
                        Case{R"({"type": "integer", "minimum": 7})", 7, INT64_MAX},
                        Case{R"({"type": "integer", "maximum": -45})", INT64_MIN, -45},
                        Case{R"({"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 1000})", 1, 999},
                        Case{R"({"type": "integer", "minimum": 1.5, "maximum": 99.5})", 2, 99},
                        Case{R"({"type": "integer", "minimum": 100, "maximum": 100})", 100, 100}}) {
    const Grammar g = of(c.schema);
    int wrong = 0;
    for (int64_t x = -2000; x <= 6000; ++x)
      if (sentence(g, std::to_string(x)) != (x >= c.lo && x <= c.hi)) {
        if (++wrong < 5) FAIL_CHECK(c.schema << ": " << x);
      }
    INFO(c.schema);
    CHECK(wrong == 0);
    CHECK_FALSE(sentence(g, "007"));
    CHECK_FALSE(sentence(g, "1.0"));
  }
}

TEST_CASE("JSON schema: number bounds, strings, arrays, enums, formats", "[grammar][schema]") {
  const Grammar num = of(R"({"type": "number", "minimum": -5, "maximum": 10})");
  for (const char* ok : {"0", "-5", "-5.0", "-4.99", "10", "10.000", "9.999", "3", "-0.5", "0.25"}) CHECK(sentence(num, ok));
  for (const char* bad : {"10.01", "-5.1", "11", "-6", "1e3", "100"}) CHECK_FALSE(sentence(num, bad));
  const Grammar str = of(R"({"type": "string", "minLength": 2, "maxLength": 3})");
  for (const char* ok : {R"("ab")", R"("abc")", R"("\n\"")", "\"日本\"", R"("\u00e9x")"}) CHECK(sentence(str, ok));
  for (const char* bad : {R"("a")", R"("abcd")", "\"日\""}) CHECK_FALSE(sentence(str, bad));
  const Grammar arr = of(R"({"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3})");
  for (const char* ok : {"[1]", "[1, 2, 3]", "[ 1 ,2 ]"}) CHECK(sentence(arr, ok));
  for (const char* bad : {"[]", "[1, 2, 3, 4]", "[\"a\"]", "[1,]"}) CHECK_FALSE(sentence(arr, bad));
  const Grammar tuple = of(R"({"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}]})");
  CHECK(sentence(tuple, R"(["a", 1.5])"));
  CHECK_FALSE(sentence(tuple, R"(["a"])"));
  const Grammar en = of(R"({"enum": ["red", 2, null, {"a": [true]}]})");
  for (const char* ok : {R"("red")", "2", "null", R"({"a":[true]})"}) CHECK(sentence(en, ok));
  CHECK_FALSE(sentence(en, R"("blue")"));
  const Grammar dt = of(R"({"type": "string", "format": "date-time"})");
  CHECK(sentence(dt, R"("2024-02-29T13:05:59Z")"));
  CHECK(sentence(dt, R"("2024-12-01T00:00:00.123+01:00")"));
  CHECK_FALSE(sentence(dt, R"("2024-13-01T00:00:00Z")"));
  const Grammar uuid = of(R"({"type": "string", "format": "uuid"})");
  CHECK(sentence(uuid, R"("123e4567-e89b-12d3-a456-426614174000")"));
  CHECK_FALSE(sentence(uuid, R"("123e4567")"));
  const Grammar nullable = of(R"({"type": ["string", "null"]})");
  CHECK(sentence(nullable, "null"));
  CHECK(sentence(nullable, R"("x")"));
  CHECK_FALSE(sentence(nullable, "1"));
  const Grammar any = of("{}");
  for (const char* ok : {"1", R"({"a": [1, {"b": null}]})", "\"x\"", "true"}) CHECK(sentence(any, ok));
}

TEST_CASE("JSON schema: anyOf, allOf, $ref and recursion", "[grammar][schema]") {
  const Grammar any = of(R"({"anyOf": [{"type": "integer"}, {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]}]})");
  CHECK(sentence(any, "12"));
  CHECK(sentence(any, R"({"x": "y"})"));
  CHECK_FALSE(sentence(any, R"("y")"));
  const Grammar all = of(R"({"allOf": [{"$ref": "#/$defs/base"}, {"properties": {"b": {"type": "integer"}}, "required": ["b"]}],
                            "$defs": {"base": {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}}})");
  CHECK(sentence(all, R"({"a": "x", "b": 1})"));
  CHECK_FALSE(sentence(all, R"({"b": 1})"));
  const Grammar tree = of(R"({"$ref": "#/definitions/node", "definitions": {"node": {"type": "object",
                             "properties": {"v": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#/definitions/node"}}},
                             "required": ["v"]}}})");
  CHECK(sentence(tree, R"({"v": 1, "kids": [{"v": 2}, {"v": 3, "kids": [{"v": 4, "kids": []}]}]})"));
  CHECK_FALSE(sentence(tree, R"({"v": 1, "kids": [{"kids": []}]})"));
}

TEST_CASE("JSON schema: mistakes and keywords a grammar cannot express, by line:col", "[grammar][schema]") {
  CHECK(error_of("{\"type\": \"object\",\n  \"properties\": {\"a\": {\"type\": \"string\",}}}") ==
        "line 2:41: expected a member name in double quotes");
  CHECK(error_of(R"({"type": "string", "pattern": "^a+$"})") ==
        "line 1:20: unsupported keyword 'pattern' (a grammar cannot express it; remove it or put it in the prompt)");
  CHECK(error_of(R"({"type": "strng"})") ==
        "line 1:10: unknown type 'strng' (expected object, array, string, integer, number, boolean or null)");
  CHECK(error_of(R"({"type": "array", "uniqueItems": true})").find("unsupported keyword 'uniqueItems'") != std::string::npos);
  CHECK(error_of(R"({"type": "string", "format": "email"})") ==
        "line 1:30: unsupported format 'email' (supported: date, time, date-time, uuid)");
  CHECK(error_of(R"({"$ref": "#/$defs/missing"})") == "line 1:10: '$ref' '#/$defs/missing' points to nothing in the schema");
  CHECK(error_of(R"({"$ref": "https://example.com/s.json"})").find("only references within the schema") != std::string::npos);
  CHECK(error_of(R"({"type": "integer", "minimum": 5, "maximum": 4})") == "line 1:1: no integer lies within these bounds");
  CHECK(error_of(R"({"type": "number", "exclusiveMinimum": 0})").find("'exclusiveMinimum' on a number") != std::string::npos);
  CHECK(error_of(R"({"type": "array", "maxItems": 100000})") == "line 1:31: 'maxItems' above 1000 is not supported");
  CHECK(error_of(R"({"properties": {"a": {}}, "required": ["b"]})") ==
        "line 1:40: required property 'b' has no schema in 'properties'");
  CHECK(error_of(R"({"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/a"}}})").find("cannot be made a grammar") != std::string::npos);
  CHECK(error_of(R"({"type": "integer", "minimum": 1e999})") == "line 1:32: 'minimum' beyond 1e15 is not supported");
  CHECK(error_of(R"({"type": "number", "maximum": -1e400})") == "line 1:31: 'maximum' beyond 1e15 is not supported");
  CHECK(error_of("false") == "line 1:1: the schema 'false' allows no value");
  CHECK(error_of(std::string(300, '[') + std::string(300, ']')).find("nesting deeper than 256") != std::string::npos);
  CHECK(error_of("{} x") == "line 1:4: expected the end of the document after the value");
}

// A JSON document read with the line and column of every value and key, so that a schema's
// mistakes (and the keywords it uses that a grammar cannot express) are reported where they are.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace llmkit::json_doc {

struct Member;

struct Node {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool b = false;
  std::string text;  // String: the decoded value; Number: as written
  std::vector<Node> items;
  std::vector<Member> members;  // in document order
  uint32_t line = 0, col = 0;

  const Node* get(std::string_view key) const;
  const Member* member(std::string_view key) const;
  bool is_object() const { return kind == Kind::Object; }
  // "line L:C"
  std::string where() const;
};

struct Member {
  std::string key;
  uint32_t line = 0, col = 0;  // of the key
  Node value;
  std::string where() const;
};

// Throws Error(code, "line L:C: expected ...") at the first mistake; nesting deeper than 256
// levels is refused.
Node parse(std::string_view text, const char* code);

// The value as compact JSON text (strings escaped as JSON needs, numbers as written).
std::string to_json(const Node& n);
// A string's JSON text: quoted, with `"`, `\` and control characters escaped.
std::string quote(std::string_view s);

}  // namespace llmkit::json_doc

// What Python does with jinja values: truth, str(), repr(), ==, <, json.dumps, type names.
// Failures throw RuntimeError, which the interpreter turns into a JinjaError at the node.
#pragma once
#include <string>
#include <vector>

#include "llmkit/jinja.h"

namespace llmkit::jinja {

struct RuntimeError {
  std::string code;  // template_error | template_limit
  std::string message;
};
[[noreturn]] inline void fail(std::string message) { throw RuntimeError{"template_error", std::move(message)}; }

struct Scope;
class Interp;

struct Callable {
  std::string name;
  virtual ~Callable() = default;
  virtual Value call(Interp& in, std::vector<Value>& args, std::vector<std::pair<std::string, Value>>& kwargs) const = 0;
};

bool truthy(const Value& v);
std::string type_name(const Value& v);    // Python's: str, int, float, bool, NoneType, list, tuple, dict
std::string to_str(const Value& v);       // str(v); Undefined is ""
std::string repr(const Value& v);
bool equals(const Value& a, const Value& b);
int compare(const Value& a, const Value& b);  // <0, 0, >0; TypeError between unorderable types
// json.dumps(v, ensure_ascii=False, indent, separators, sort_keys); indent null: none.
std::string to_json(const Value& v, const std::string* indent, const std::string& item_sep, const std::string& key_sep, bool sort_keys);
// The unsafe Undefined the sandbox gives for a mutating method: calling it raises.
Value unsafe(const std::string& what);
bool is_unsafe(const Value& v);
[[noreturn]] void undefined_error(const Value& v);
// Python's int(x) for numbers and bools; int64 overflow is an error.
int64_t as_int(const Value& v);
double as_float(const Value& v);

}  // namespace llmkit::jinja

// A Jinja interpreter for chat templates: the subset of Jinja2 that model chat templates use,
// rendering as Python jinja2 renders them when configured as Hugging Face transformers'
// apply_chat_template configures it (sandboxed and immutable, trim_blocks, lstrip_blocks, loop
// controls, tojson without ASCII escaping, raise_exception, strftime_now, {% generation %}).
//
// Templates are untrusted input (they travel inside downloaded model files): a render sees only
// the values passed in, and is bounded in nesting depth, work, output size and time. Errors
// (syntax, runtime, raise_exception, limits) are JinjaError with the template line and column.
#pragma once
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llmkit/error.h"

namespace llmkit::jinja {

struct Array;
struct Object;
struct Callable;

// A Jinja value: Python's None, bool, int, float, str, list/tuple, dict, plus jinja2's Undefined,
// namespace objects and callables. Arrays and dicts are immutable once built (the sandbox
// forbids mutating methods) and shared; a namespace is shared and mutable through `set ns.x`.
struct Value {
  enum class Kind : uint8_t { Undefined, None, Bool, Int, Float, String, Array, Object, Callable };
  Kind kind = Kind::Undefined;
  bool markup = false;     // a string marked |safe: `+` escapes the other operand, as markupsafe does
  bool generator = false;  // an Array jinja2 would hold as a generator (map, select, ...): no len(), always true
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::shared_ptr<const std::string> s;  // String; for Undefined, the name that was undefined
  std::shared_ptr<const Array> a;
  std::shared_ptr<Object> o;
  std::shared_ptr<const Callable> fn;

  Value() = default;
  static Value none();
  static Value undefined(std::string hint = "");
  static Value boolean(bool v);
  static Value integer(int64_t v);
  static Value number(double v);
  static Value string(std::string v);
  static Value array(std::vector<Value> items, bool tuple = false);
  static Value object(std::vector<std::pair<std::string, Value>> items);

  bool is_undefined() const { return kind == Kind::Undefined; }
  bool is_none() const { return kind == Kind::None; }
  bool is_string() const { return kind == Kind::String; }
  bool is_number() const { return kind == Kind::Int || kind == Kind::Float || kind == Kind::Bool; }
  const std::string& str() const { return *s; }  // only for String
};

struct Array {
  std::vector<Value> items;
  bool tuple = false;
};

struct Object {
  std::vector<std::pair<Value, Value>> items;  // insertion order, as Python dicts keep it; keys mostly strings
  bool is_namespace = false;
  const Value* find(std::string_view key) const;
  const Value* find(const Value& key) const;  // Python's key equality: 1, 1.0 and True are one key
  void set(std::string_view key, Value v);
  void set(const Value& key, Value v);
};

// JSON text (a record's messages, tools, any value) as a Jinja value. Throws Error("bad_json").
Value from_json(std::string_view json);

class JinjaError : public Error {
 public:
  JinjaError(const std::string& code, const std::string& message, int line = 0, int column = 0);
  int line() const { return line_; }
  int column() const { return column_; }

 private:
  int line_, column_;
};

struct Limits {
  size_t max_output = 64u << 20;       // bytes of rendered text, and of any one string built
  int max_depth = 400;                 // nesting of blocks, expressions and macro calls
  uint64_t max_steps = 50'000'000;     // statements, loop iterations and filter calls, together
  double max_seconds = 10;             // wall time of one render
};

struct RenderOptions {
  Limits limits;
  // strftime_now's clock: the current local time unless set (tests fix it).
  bool fixed_time = false;
  std::tm time{};
};

// Parsed once, rendered many times (concurrently too: a render keeps its state to itself).
class Template {
 public:
  // Throws JinjaError("template_syntax") naming the line and column of the problem.
  explicit Template(std::string_view source, const Limits& limits = {});
  ~Template();
  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;

  // `context` is an Object of the template's variables (messages, add_generation_prompt,
  // bos_token, ...). Throws JinjaError: "template_error" (raise_exception, a runtime type error,
  // an undefined value used), "template_limit" (a limit reached).
  std::string render(const Value& context, const RenderOptions& options = {}) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmkit::jinja

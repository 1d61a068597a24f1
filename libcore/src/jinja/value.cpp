#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "jinja/pystr.h"
#include "jinja/value_ops.h"

namespace llmkit::jinja {

Value Value::none() {
  Value v;
  v.kind = Kind::None;
  return v;
}
Value Value::undefined(std::string hint) {
  Value v;
  if (!hint.empty()) v.s = std::make_shared<const std::string>(std::move(hint));
  return v;
}
Value Value::boolean(bool b) {
  Value v;
  v.kind = Kind::Bool;
  v.b = b;
  return v;
}
Value Value::integer(int64_t i) {
  Value v;
  v.kind = Kind::Int;
  v.i = i;
  return v;
}
Value Value::number(double f) {
  Value v;
  v.kind = Kind::Float;
  v.f = f;
  return v;
}
Value Value::string(std::string s) {
  Value v;
  v.kind = Kind::String;
  v.s = std::make_shared<const std::string>(std::move(s));
  return v;
}
Value Value::array(std::vector<Value> items, bool tuple) {
  Value v;
  v.kind = Kind::Array;
  auto a = std::make_shared<Array>();
  a->items = std::move(items);
  a->tuple = tuple;
  v.a = std::move(a);
  return v;
}
Value Value::object(std::vector<std::pair<std::string, Value>> items) {
  Value v;
  v.kind = Kind::Object;
  v.o = std::make_shared<Object>();
  for (auto& [k, x] : items) v.o->set(k, std::move(x));
  return v;
}

const Value* Object::find(std::string_view key) const {
  for (const auto& kv : items)
    if (kv.first.kind == Value::Kind::String && *kv.first.s == key) return &kv.second;
  return nullptr;
}

const Value* Object::find(const Value& key) const {
  if (key.is_string()) return find(*key.s);
  for (const auto& kv : items)
    if (equals(kv.first, key)) return &kv.second;
  return nullptr;
}

void Object::set(std::string_view key, Value v) {
  for (auto& kv : items)
    if (kv.first.kind == Value::Kind::String && *kv.first.s == key) {
      kv.second = std::move(v);
      return;
    }
  items.emplace_back(Value::string(std::string(key)), std::move(v));
}

void Object::set(const Value& key, Value v) {
  if (key.is_string()) return set(*key.s, std::move(v));
  for (auto& kv : items)
    if (equals(kv.first, key)) {
      kv.second = std::move(v);
      return;
    }
  items.emplace_back(key, std::move(v));
}

JinjaError::JinjaError(const std::string& code, const std::string& message, int line, int column)
    : Error(code, line > 0 ? "chat template line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + message
                           : "chat template: " + message),
      line_(line),
      column_(column) {}

namespace {

constexpr int kMaxNesting = 200;  // values nested deeper (only namespaces can cycle) are an error

Value from_element(simdjson::dom::element e, int depth) {
  if (depth > kMaxNesting) throw Error("bad_json", "JSON nested deeper than 200 levels");
  switch (e.type()) {
    case simdjson::dom::element_type::ARRAY: {
      std::vector<Value> items;
      simdjson::dom::array arr;
      if (e.get_array().get(arr) != simdjson::SUCCESS) return Value::none();
      for (simdjson::dom::element x : arr) items.push_back(from_element(x, depth + 1));
      return Value::array(std::move(items));
    }
    case simdjson::dom::element_type::OBJECT: {
      Value v;
      v.kind = Value::Kind::Object;
      v.o = std::make_shared<Object>();
      simdjson::dom::object obj;
      if (e.get_object().get(obj) != simdjson::SUCCESS) return Value::none();
      for (simdjson::dom::key_value_pair field : obj) v.o->set(field.key, from_element(field.value, depth + 1));
      return v;
    }
    case simdjson::dom::element_type::INT64: return Value::integer(e.get_int64().value_unsafe());
    case simdjson::dom::element_type::UINT64: return Value::number(static_cast<double>(e.get_uint64().value_unsafe()));
    case simdjson::dom::element_type::DOUBLE: return Value::number(e.get_double().value_unsafe());
    case simdjson::dom::element_type::STRING: return Value::string(std::string(e.get_string().value_unsafe()));
    case simdjson::dom::element_type::BOOL: return Value::boolean(e.get_bool().value_unsafe());
    default: return Value::none();
  }
}

void check_depth(int depth) {
  if (depth > kMaxNesting) throw RuntimeError{"template_limit", "a value nests deeper than 200 levels (a namespace that holds itself?)"};
}

std::string str_at(const Value& v, int depth, bool as_repr);

std::string items_str(const Value& v, int depth) {
  std::string out;
  if (v.kind == Value::Kind::Array) {
    out = v.a->tuple ? "(" : "[";
    for (size_t k = 0; k < v.a->items.size(); ++k) {
      if (k) out += ", ";
      out += str_at(v.a->items[k], depth + 1, true);
    }
    if (v.a->tuple && v.a->items.size() == 1) out += ",";
    return out + (v.a->tuple ? ")" : "]");
  }
  out = "{";
  for (size_t k = 0; k < v.o->items.size(); ++k) {
    if (k) out += ", ";
    out += str_at(v.o->items[k].first, depth + 1, true) + ": " + str_at(v.o->items[k].second, depth + 1, true);
  }
  return out + "}";
}

std::string str_at(const Value& v, int depth, bool as_repr) {
  check_depth(depth);
  switch (v.kind) {
    case Value::Kind::Undefined: return as_repr ? "Undefined" : "";
    case Value::Kind::None: return "None";
    case Value::Kind::Bool: return v.b ? "True" : "False";
    case Value::Kind::Int: return std::to_string(v.i);
    case Value::Kind::Float: return py::float_repr(v.f);
    case Value::Kind::String: return as_repr ? py::repr(*v.s) : *v.s;
    case Value::Kind::Array: return v.generator ? "<generator object>" : items_str(v, depth);
    case Value::Kind::Object: return v.o->is_namespace ? "<Namespace " + items_str(v, depth) + ">" : items_str(v, depth);
    case Value::Kind::Callable: return "<function " + v.fn->name + ">";
  }
  return "";
}

bool equals_at(const Value& a, const Value& b, int depth) {
  check_depth(depth);
  if (a.is_number() && b.is_number()) {
    if (a.kind == Value::Kind::Float || b.kind == Value::Kind::Float) return as_float(a) == as_float(b);
    return as_int(a) == as_int(b);
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::Kind::Undefined:
    case Value::Kind::None: return true;
    case Value::Kind::String: return *a.s == *b.s;
    case Value::Kind::Array:
      if (a.generator || b.generator) return a.a == b.a;
      if (a.a->tuple != b.a->tuple || a.a->items.size() != b.a->items.size()) return false;
      for (size_t k = 0; k < a.a->items.size(); ++k)
        if (!equals_at(a.a->items[k], b.a->items[k], depth + 1)) return false;
      return true;
    case Value::Kind::Object:
      if (a.o->is_namespace || b.o->is_namespace) return a.o == b.o;
      if (a.o->items.size() != b.o->items.size()) return false;
      for (const auto& [k, x] : a.o->items) {
        const Value* y = b.o->find(k);
        if (!y || !equals_at(x, *y, depth + 1)) return false;
      }
      return true;
    case Value::Kind::Callable: return a.fn == b.fn;
    default: return false;
  }
}

void json_at(std::string& out, const Value& v, const std::string* indent, const std::string& item_sep, const std::string& key_sep,
             bool sort_keys, int level) {
  check_depth(level);
  auto newline = [&](int lvl) {
    if (!indent) return;
    out += '\n';
    for (int k = 0; k < lvl; ++k) out += *indent;
  };
  switch (v.kind) {
    case Value::Kind::None: out += "null"; return;
    case Value::Kind::Bool: out += v.b ? "true" : "false"; return;
    case Value::Kind::Int: out += std::to_string(v.i); return;
    case Value::Kind::Float:
      if (std::isnan(v.f)) out += "NaN";
      else if (std::isinf(v.f)) out += v.f < 0 ? "-Infinity" : "Infinity";
      else out += py::float_repr(v.f);
      return;
    case Value::Kind::String: out += py::json_quote(*v.s); return;
    case Value::Kind::Array: {
      if (v.generator) fail("Object of type generator is not JSON serializable");
      if (v.a->items.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t k = 0; k < v.a->items.size(); ++k) {
        if (k) out += item_sep;
        newline(level + 1);
        json_at(out, v.a->items[k], indent, item_sep, key_sep, sort_keys, level + 1);
      }
      newline(level);
      out += ']';
      return;
    }
    case Value::Kind::Object: {
      if (v.o->is_namespace) fail("Object of type Namespace is not JSON serializable");
      if (v.o->items.empty()) {
        out += "{}";
        return;
      }
      std::vector<const std::pair<Value, Value>*> items;
      for (const auto& kv : v.o->items) items.push_back(&kv);
      if (sort_keys) std::stable_sort(items.begin(), items.end(), [](auto* x, auto* y) { return compare(x->first, y->first) < 0; });
      out += '{';
      for (size_t k = 0; k < items.size(); ++k) {
        if (k) out += item_sep;
        newline(level + 1);
        const Value& key = items[k]->first;
        switch (key.kind) {
          case Value::Kind::String: out += py::json_quote(*key.s); break;
          case Value::Kind::Int: out += '"' + std::to_string(key.i) + '"'; break;
          case Value::Kind::Float: out += '"' + py::float_repr(key.f) + '"'; break;
          case Value::Kind::Bool: out += key.b ? "\"true\"" : "\"false\""; break;
          case Value::Kind::None: out += "\"null\""; break;
          default: fail("keys must be str, int, float, bool or None, not " + type_name(key));
        }
        out += key_sep;
        json_at(out, items[k]->second, indent, item_sep, key_sep, sort_keys, level + 1);
      }
      newline(level);
      out += '}';
      return;
    }
    case Value::Kind::Undefined: fail("Object of type Undefined is not JSON serializable");
    case Value::Kind::Callable: fail("Object of type function is not JSON serializable");
  }
}

}  // namespace

Value from_json(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(json.data(), json.size()).get(e) != simdjson::SUCCESS) throw Error("bad_json", "invalid JSON");
  return from_element(e, 0);
}

bool truthy(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Undefined:
    case Value::Kind::None: return false;
    case Value::Kind::Bool: return v.b;
    case Value::Kind::Int: return v.i != 0;
    case Value::Kind::Float: return v.f != 0;
    case Value::Kind::String: return !v.s->empty();
    case Value::Kind::Array: return v.generator || !v.a->items.empty();
    case Value::Kind::Object: return v.o->is_namespace || !v.o->items.empty();
    case Value::Kind::Callable: return true;
  }
  return false;
}

std::string type_name(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Undefined: return "Undefined";
    case Value::Kind::None: return "NoneType";
    case Value::Kind::Bool: return "bool";
    case Value::Kind::Int: return "int";
    case Value::Kind::Float: return "float";
    case Value::Kind::String: return "str";
    case Value::Kind::Array: return v.generator ? "generator" : v.a->tuple ? "tuple" : "list";
    case Value::Kind::Object: return v.o->is_namespace ? "Namespace" : "dict";
    case Value::Kind::Callable: return "function";
  }
  return "object";
}

std::string to_str(const Value& v) { return v.kind == Value::Kind::String ? *v.s : str_at(v, 0, false); }
std::string repr(const Value& v) { return str_at(v, 0, true); }
bool equals(const Value& a, const Value& b) { return equals_at(a, b, 0); }

int compare(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.kind == Value::Kind::Float || b.kind == Value::Kind::Float) {
      const double x = as_float(a), y = as_float(b);
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    const int64_t x = as_int(a), y = as_int(b);
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.kind == Value::Kind::String && b.kind == Value::Kind::String) {
    const int c = a.s->compare(*b.s);
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.kind == Value::Kind::Array && b.kind == Value::Kind::Array && a.a->tuple == b.a->tuple) {
    const size_t n = std::min(a.a->items.size(), b.a->items.size());
    for (size_t k = 0; k < n; ++k) {
      if (equals(a.a->items[k], b.a->items[k])) continue;
      return compare(a.a->items[k], b.a->items[k]);
    }
    return a.a->items.size() < b.a->items.size() ? -1 : (a.a->items.size() > b.a->items.size() ? 1 : 0);
  }
  if (a.is_undefined() || b.is_undefined()) undefined_error(a.is_undefined() ? a : b);
  fail("'<' not supported between instances of '" + type_name(a) + "' and '" + type_name(b) + "'");
}

std::string to_json(const Value& v, const std::string* indent, const std::string& item_sep, const std::string& key_sep, bool sort_keys) {
  std::string out;
  json_at(out, v, indent, item_sep, key_sep, sort_keys, 0);
  return out;
}

Value unsafe(const std::string& what) {
  Value v = Value::undefined(what);
  v.b = true;
  return v;
}

bool is_unsafe(const Value& v) { return v.kind == Value::Kind::Undefined && v.b; }

void undefined_error(const Value& v) {
  if (is_unsafe(v)) fail(*v.s);
  fail(v.s ? *v.s : "a value is undefined");
}

int64_t as_int(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Bool: return v.b ? 1 : 0;
    case Value::Kind::Int: return v.i;
    case Value::Kind::Float:
      if (!std::isfinite(v.f) || std::fabs(v.f) >= 9.2e18) fail("cannot convert " + py::float_repr(v.f) + " to an integer");
      return static_cast<int64_t>(v.f);
    default: fail("an integer was expected, not " + type_name(v));
  }
}

double as_float(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Bool: return v.b ? 1 : 0;
    case Value::Kind::Int: return static_cast<double>(v.i);
    case Value::Kind::Float: return v.f;
    default: fail("a number was expected, not " + type_name(v));
  }
}

}  // namespace llmkit::jinja

// jinja2's builtin filters and tests, the Python methods of str, dict and list that the sandbox
// allows, attribute and item access, and the globals transformers provides.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>

#include "jinja/interp.h"
#include "jinja/pystr.h"
#include "llmkit/unicode.h"

namespace llmkit::jinja {
namespace {

Value callable(std::shared_ptr<Callable> c) {
  Value v;
  v.kind = Value::Kind::Callable;
  v.fn = std::move(c);
  return v;
}

Value generator(std::vector<Value> items) {
  Value v = Value::array(std::move(items));
  v.generator = true;
  return v;
}

// Keyword or positional argument `pos` named `name`; null when neither is given.
const Value* arg(const Args& args, const Kwargs& kwargs, size_t pos, const char* name) {
  for (const auto& [k, v] : kwargs)
    if (k == name) return &v;
  return pos < args.size() ? &args[pos] : nullptr;
}

void check_kwargs(const Kwargs& kwargs, std::initializer_list<const char*> allowed, const std::string& what) {
  for (const auto& kv : kwargs) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || kv.first == a;
    if (!ok) fail(what + " got an unexpected keyword argument '" + kv.first + "'");
  }
}

const std::string& need_str(const Value& v, const std::string& what) {
  if (!v.is_string()) fail(what + " must be a string, not " + type_name(v));
  return *v.s;
}

int64_t need_int(const Value& v, const std::string& what) {
  if (v.kind != Value::Kind::Int && v.kind != Value::Kind::Bool) fail(what + " must be an integer, not " + type_name(v));
  return as_int(v);
}

size_t length(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Undefined: return 0;
    case Value::Kind::String: return py::length(*v.s);
    case Value::Kind::Array:
      if (v.generator) fail("object of type 'generator' has no len()");
      return v.a->items.size();
    case Value::Kind::Object:
      if (v.o->is_namespace) fail("object of type 'Namespace' has no len()");
      return v.o->items.size();
    default: fail("object of type '" + type_name(v) + "' has no len()");
  }
}


// Sort keys jinja2 builds with ignore_case: strings lowercased.
Value sort_key(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value::string(py::lower(*v.s));
  return v;
}

// Python's format-spec mini-language for one value: [[fill]align][sign][0][width][,][.precision][type].
std::string format_spec(const Value& v, const std::string& spec) {
  size_t i = 0;
  std::string fill = " ";
  char align = 0, sign = '-', type = 0;
  auto is_align = [](char c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  if (spec.size() >= 2 && is_align(spec[1])) {
    fill = spec.substr(0, 1);
    align = spec[1];
    i = 2;
  } else if (!spec.empty() && is_align(spec[0])) {
    align = spec[0];
    i = 1;
  }
  if (i < spec.size() && (spec[i] == '+' || spec[i] == '-' || spec[i] == ' ')) sign = spec[i++];
  if (i < spec.size() && spec[i] == '0') {
    if (!align) fill = "0", align = '=';
    ++i;
  }
  // Digits are bounded as they are read so a long run of them cannot overflow.
  auto read_count = [&](int64_t limit, const char* what) {
    int64_t n = 0;
    while (i < spec.size() && std::isdigit(static_cast<unsigned char>(spec[i]))) {
      n = n * 10 + (spec[i++] - '0');
      if (n > limit) fail(std::string("format ") + what + " too large");
    }
    return n;
  };
  int64_t width = read_count(10000, "width"), precision = -1;
  char group = 0;
  if (i < spec.size() && (spec[i] == ',' || spec[i] == '_')) group = spec[i++];
  if (i < spec.size() && spec[i] == '.') {
    ++i;
    precision = read_count(100, "precision");
  }
  if (i < spec.size()) type = spec[i++];
  if (i != spec.size()) fail("invalid format specifier '" + spec + "'");
  std::string body;
  bool numeric = false;
  if (type == 0 && v.is_string()) type = 's';
  if (type == 's') {
    if (!v.is_string()) fail("unknown format code 's' for object of type '" + type_name(v) + "'");
    body = *v.s;
    if (precision >= 0) {
      auto cs = py::chars(body);
      body.clear();
      for (int64_t k = 0; k < precision && k < static_cast<int64_t>(cs.size()); ++k) body += cs[k];
    }
  } else if (type == 0 && !v.is_number()) {
    body = to_str(v);
  } else {
    numeric = true;
    char buf[512];
    const char t = type ? type : (v.kind == Value::Kind::Float ? 'r' : 'd');
    if (t == 'd') {
      if (v.kind == Value::Kind::Float) fail("unknown format code 'd' for object of type 'float'");
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(as_int(v)));
    } else if (t == 'r') {
      std::snprintf(buf, sizeof buf, "%s", precision >= 0 ? "" : py::float_repr(v.f).c_str());
      if (precision >= 0) std::snprintf(buf, sizeof buf, "%.*g", static_cast<int>(precision ? precision : 1), v.f);
    } else if (t == 'f' || t == 'F' || t == 'e' || t == 'E' || t == 'g' || t == 'G' || t == '%') {
      const double x = as_float(v) * (t == '%' ? 100 : 1);
      const char fmt[] = {'%', '.', '*', t == '%' ? 'f' : t, 0};
      std::snprintf(buf, sizeof buf, fmt, static_cast<int>(precision < 0 ? 6 : precision), x);
      if (t == '%') std::strncat(buf, "%", sizeof buf - std::strlen(buf) - 1);
    } else if (t == 'x' || t == 'X' || t == 'o' || t == 'b' || t == 'c') {
      const int64_t n = as_int(v);
      if (t == 'c') {
        body = unicode::to_utf8(static_cast<uint32_t>(n));
        buf[0] = 0;
      } else if (t == 'b') {
        std::string bits;
        for (uint64_t u = static_cast<uint64_t>(n < 0 ? -n : n); u; u >>= 1) bits.insert(bits.begin(), static_cast<char>('0' + (u & 1)));
        std::snprintf(buf, sizeof buf, "%s%s", n < 0 ? "-" : "", bits.empty() ? "0" : bits.c_str());
      } else {
        const char fmt[] = {'%', 'l', 'l', t, 0};
        std::snprintf(buf, sizeof buf, fmt, static_cast<long long>(n));
      }
    } else {
      fail(std::string("unknown format code '") + t + "'");
    }
    if (body.empty()) body = buf;
    if (group) {  // thousands separators in the integer part
      const size_t start = body[0] == '-' ? 1 : 0;
      size_t end = body.find_first_not_of("0123456789", start);
      if (end == std::string::npos) end = body.size();
      for (size_t p = end; p > start + 3; p -= 3) body.insert(p - 3, 1, group);
    }
    if (sign != '-' && !body.empty() && body[0] != '-') body.insert(body.begin(), sign);
  }
  const int64_t len = static_cast<int64_t>(py::length(body));
  if (width <= len) return body;
  const size_t pad = static_cast<size_t>(width - len);
  auto fills = [&](size_t n) {
    std::string s;
    for (size_t k = 0; k < n; ++k) s += fill;
    return s;
  };
  if (!align) align = numeric ? '>' : '<';
  if (align == '<') return body + fills(pad);
  if (align == '>') return fills(pad) + body;
  if (align == '^') return fills(pad / 2) + body + fills(pad - pad / 2);
  // '=': padding after the sign
  if (!body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' ')) return body.substr(0, 1) + fills(pad) + body.substr(1);
  return fills(pad) + body;
}

// str.format: {} {0} {name} {x.attr} {x[0]}, !r !s conversions, format specs, {{ and }}.
std::string str_format(Interp& in, const std::string& fmt, const Args& args, const Kwargs& kwargs) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    const char c = fmt[i];
    if (c == '}') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}') {
        out += '}';
        ++i;
        continue;
      }
      fail("Single '}' encountered in format string");
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    const size_t end = fmt.find('}', i);
    if (end == std::string::npos) fail("Single '{' encountered in format string");
    std::string field = fmt.substr(i + 1, end - i - 1);
    i = end;
    std::string spec, conv;
    if (size_t colon = field.find(':'); colon != std::string::npos) {
      spec = field.substr(colon + 1);
      field.resize(colon);
    }
    if (size_t bang = field.find('!'); bang != std::string::npos) {
      conv = field.substr(bang + 1);
      field.resize(bang);
    }
    size_t name_end = field.find_first_of(".[");
    const std::string head = field.substr(0, name_end);
    Value v;
    if (head.empty()) {
      if (auto_index >= args.size()) fail("Replacement index " + std::to_string(auto_index) + " out of range for positional args tuple");
      v = args[auto_index++];
    } else if (std::all_of(head.begin(), head.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); })) {
      const size_t k = std::stoul(head.size() > 6 ? "999999" : head);
      if (k >= args.size()) fail("Replacement index " + head + " out of range for positional args tuple");
      v = args[k];
    } else {
      const Value* found = nullptr;
      for (const auto& [key, x] : kwargs)
        if (key == head) found = &x;
      if (!found) fail("KeyError: '" + head + "'");
      v = *found;
    }
    while (name_end != std::string::npos && name_end < field.size()) {
      if (field[name_end] == '.') {
        const size_t next = field.find_first_of(".[", name_end + 1);
        v = in.getattr(v, field.substr(name_end + 1, next == std::string::npos ? std::string::npos : next - name_end - 1));
        name_end = next;
      } else {
        const size_t close = field.find(']', name_end);
        if (close == std::string::npos) fail("Missing ']' in format string");
        const std::string key = field.substr(name_end + 1, close - name_end - 1);
        const bool digits = !key.empty() && std::all_of(key.begin(), key.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); });
        v = in.getitem(v, digits ? Value::integer(std::stoll(key.size() > 15 ? "999999999999999" : key)) : Value::string(key));
        name_end = close + 1;
      }
    }
    if (v.is_undefined()) undefined_error(v);
    if (conv == "r") v = Value::string(repr(v));
    else if (conv == "s") v = Value::string(to_str(v));
    else if (!conv.empty()) fail("Unknown conversion specifier " + conv);
    out += spec.empty() ? to_str(v) : format_spec(v, spec);
    in.check_size(out.size());
  }
  return out;
}

bool str_is(const std::string& s, const std::function<bool(uint32_t)>& pred) {
  if (s.empty()) return false;
  size_t n = 0;
  for (size_t i = 0; i < s.size(); i += n)
    if (!pred(unicode::decode_utf8(s, i, &n))) return false;
  return true;
}

Value str_method(Interp& in, const std::string& s, const std::string& m, Args& args, Kwargs& kwargs) {
  auto a = [&](size_t pos, const char* name) { return arg(args, kwargs, pos, name); };
  auto opt_str = [&](size_t pos, const char* name) -> const std::string* {
    const Value* v = a(pos, name);
    if (!v || v->is_none()) return nullptr;
    return &need_str(*v, m + "() argument");
  };
  if (m == "strip" || m == "lstrip" || m == "rstrip")
    return Value::string(py::strip(s, opt_str(0, "chars"), m != "rstrip", m != "lstrip"));
  if (m == "split" || m == "rsplit") {
    const std::string* sep = opt_str(0, "sep");
    if (sep && sep->empty()) fail("empty separator");
    const Value* mx = a(1, "maxsplit");
    std::vector<Value> out;
    for (std::string& part : py::split(s, sep, mx ? need_int(*mx, "maxsplit") : -1, m == "rsplit"))
      out.push_back(Value::string(std::move(part)));
    return Value::array(std::move(out));
  }
  if (m == "splitlines") {
    std::vector<Value> out;
    const Value* keep = a(0, "keepends");
    const bool keepends = keep && truthy(*keep);
    size_t start = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '\n' && s[i] != '\r') continue;
      size_t stop = i + 1;
      if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++stop;
      out.push_back(Value::string(s.substr(start, (keepends ? stop : i) - start)));
      start = stop;
      i = stop - 1;
    }
    if (start < s.size()) out.push_back(Value::string(s.substr(start)));
    return Value::array(std::move(out));
  }
  if (m == "startswith" || m == "endswith") {
    const Value* p = a(0, "prefix");
    if (!p) fail(m + "() takes at least 1 argument (0 given)");
    std::vector<std::string> options;
    if (p->kind == Value::Kind::Array && p->a->tuple) {
      for (const Value& x : p->a->items) options.push_back(need_str(x, m + "() tuple item"));
    } else {
      if (!p->is_string()) fail(m + " first arg must be str or a tuple of str, not " + type_name(*p));
      options.push_back(*p->s);
    }
    for (const std::string& o : options) {
      if (m == "startswith" && s.compare(0, o.size(), o) == 0) return Value::boolean(true);
      if (m == "endswith" && s.size() >= o.size() && s.compare(s.size() - o.size(), o.size(), o) == 0) return Value::boolean(true);
    }
    return Value::boolean(false);
  }
  if (m == "replace") {
    if (args.size() < 2) fail("replace() takes at least 2 arguments");
    const Value* count = a(2, "count");
    std::string r = py::replace(s, need_str(args[0], "replace() argument 1"), need_str(args[1], "replace() argument 2"),
                                count ? need_int(*count, "count") : -1);
    in.check_size(r.size());
    return Value::string(std::move(r));
  }
  if (m == "upper") return Value::string(py::upper(s));
  if (m == "lower" || m == "casefold") return Value::string(py::lower(s));
  if (m == "title") return Value::string(py::title(s));
  if (m == "capitalize") return Value::string(py::capitalize(s));
  if (m == "find" || m == "rfind" || m == "index" || m == "rindex" || m == "count") {
    if (args.empty()) fail(m + "() takes at least 1 argument (0 given)");
    const std::string& sub = need_str(args[0], m + "() argument");
    if (m == "count") {
      if (sub.empty()) return Value::integer(static_cast<int64_t>(py::length(s) + 1));
      int64_t n = 0;
      for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
      return Value::integer(n);
    }
    const size_t p = (m == "find" || m == "index") ? s.find(sub) : s.rfind(sub);
    if (p == std::string::npos) {
      if (m == "index" || m == "rindex") fail("substring not found");
      return Value::integer(-1);
    }
    return Value::integer(static_cast<int64_t>(py::length(std::string_view(s).substr(0, p))));
  }
  if (m == "join") {
    if (args.size() != 1) fail("join() takes exactly one argument");
    std::string out;
    bool first = true;
    for (const Value& x : iterate(args[0])) {
      if (!x.is_string()) fail("sequence item: expected str instance, " + type_name(x) + " found");
      if (!first) out += s;
      out += *x.s;
      first = false;
      in.check_size(out.size());
    }
    return Value::string(std::move(out));
  }
  if (m == "format") return Value::string(str_format(in, s, args, kwargs));
  if (m == "isdigit" || m == "isnumeric" || m == "isdecimal")
    return Value::boolean(str_is(s, [](uint32_t c) { return unicode::is_number(c); }));
  if (m == "isalpha") return Value::boolean(str_is(s, [](uint32_t c) { return unicode::is_letter(c); }));
  if (m == "isalnum") return Value::boolean(str_is(s, [](uint32_t c) { return unicode::is_letter(c) || unicode::is_number(c); }));
  if (m == "isspace") return Value::boolean(str_is(s, [](uint32_t c) { return py::isspace(c); }));
  if (m == "isupper" || m == "islower") {
    const std::string up = py::upper(s), low = py::lower(s);
    const bool cased = up != low;
    return Value::boolean(cased && (m == "isupper" ? s == up : s == low));
  }
  if (m == "removeprefix" || m == "removesuffix") {
    const std::string& x = need_str(args.empty() ? Value() : args[0], m + "() argument");
    if (m == "removeprefix" && s.compare(0, x.size(), x) == 0) return Value::string(s.substr(x.size()));
    if (m == "removesuffix" && !x.empty() && s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0)
      return Value::string(s.substr(0, s.size() - x.size()));
    return Value::string(s);
  }
  if (m == "partition" || m == "rpartition") {
    const std::string& sep = need_str(args.empty() ? Value() : args[0], m + "() argument");
    if (sep.empty()) fail("empty separator");
    const size_t p = m == "partition" ? s.find(sep) : s.rfind(sep);
    if (p == std::string::npos)
      return m == "partition" ? Value::array({Value::string(s), Value::string(""), Value::string("")}, true)
                              : Value::array({Value::string(""), Value::string(""), Value::string(s)}, true);
    return Value::array({Value::string(s.substr(0, p)), Value::string(sep), Value::string(s.substr(p + sep.size()))}, true);
  }
  if (m == "zfill" || m == "center" || m == "ljust" || m == "rjust") {
    const int64_t w = need_int(args.empty() ? Value() : args[0], m + "() width");
    in.check_size(static_cast<size_t>(std::max<int64_t>(0, w)));
    const std::string fill = args.size() > 1 ? need_str(args[1], "fill character") : (m == "zfill" ? "0" : " ");
    const int64_t len = static_cast<int64_t>(py::length(s));
    if (w <= len) return Value::string(s);
    const size_t pad = static_cast<size_t>(w - len);
    auto fills = [&](size_t n) {
      std::string r;
      for (size_t k = 0; k < n; ++k) r += fill;
      return r;
    };
    if (m == "ljust") return Value::string(s + fills(pad));
    if (m == "rjust") return Value::string(fills(pad) + s);
    if (m == "zfill") {
      if (!s.empty() && (s[0] == '-' || s[0] == '+')) return Value::string(s.substr(0, 1) + fills(pad) + s.substr(1));
      return Value::string(fills(pad) + s);
    }
    // Python's center puts the odd space on the right when the string's length is even... on the left when odd.
    const size_t left = pad / 2 + (pad & static_cast<size_t>(w) & 1);
    return Value::string(fills(left) + s + fills(pad - left));
  }
  fail("'str' object has no attribute '" + m + "'");
}

struct Method : Callable {
  Value self;
  Value call(Interp& in, Args& args, Kwargs& kwargs) const override {
    if (self.is_string()) return str_method(in, *self.s, name, args, kwargs);
    if (self.kind == Value::Kind::Object) {
      const Object& o = *self.o;
      if (name == "get") {
        if (args.empty()) fail("get expected at least 1 argument, got 0");
        if (const Value* v = o.find(args[0])) return *v;
        return args.size() > 1 ? args[1] : Value::none();
      }
      std::vector<Value> out;
      for (const auto& [k, v] : o.items) {
        if (name == "keys") out.push_back(k);
        else if (name == "values") out.push_back(v);
        else if (name == "items") out.push_back(Value::array({k, v}, true));
      }
      if (name == "copy") return self;
      return Value::array(std::move(out));
    }
    const std::vector<Value>& items = self.a->items;
    if (name == "copy") return Value::array(items);
    if (args.empty()) fail(name + "() takes exactly one argument (0 given)");
    if (name == "count") return Value::integer(std::count_if(items.begin(), items.end(), [&](const Value& x) { return equals(x, args[0]); }));
    for (size_t k = 0; k < items.size(); ++k)
      if (equals(items[k], args[0])) return Value::integer(static_cast<int64_t>(k));
    fail(repr(args[0]) + " is not in list");
  }
};

Value method(const Value& self, const std::string& name) {
  auto m = std::make_shared<Method>();
  m->name = name;
  m->self = self;
  return callable(m);
}

bool one_of(const std::string& s, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (s == n) return true;
  return false;
}

// jinja2's attribute paths for selectattr, map, sort...: "a.b.0".
Value attribute_path(Interp& in, const Value& v, const std::string& path) {
  Value cur = v;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const bool digits = !part.empty() && part.size() < 16 &&
                        std::all_of(part.begin(), part.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    cur = in.getitem(cur, digits ? Value::integer(std::stoll(part)) : Value::string(part));
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

std::vector<Value> sorted(Interp& in, std::vector<Value> items, bool reverse, bool case_sensitive, const Value* attribute) {
  std::vector<std::pair<Value, Value>> keyed;
  for (Value& x : items) {
    Value k = attribute && !attribute->is_none() ? attribute_path(in, x, need_str(*attribute, "attribute")) : x;
    keyed.emplace_back(sort_key(k, case_sensitive), std::move(x));
  }
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& p, const auto& q) {
    return reverse ? compare(q.first, p.first) < 0 : compare(p.first, q.first) < 0;
  });
  std::vector<Value> out;
  for (auto& p : keyed) out.push_back(std::move(p.second));
  return out;
}

std::string indent_text(const std::string& s, const std::string& pad, bool first, bool blank) {
  std::string out;
  size_t start = 0;
  bool is_first = true;
  while (true) {
    const size_t nl = s.find('\n', start);
    const std::string line = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    const bool indent = is_first ? first : (blank || !line.empty());
    // jinja2 (3.1) checks blank lines after stripping only when blank is false
    const bool blank_line = py::strip(line, nullptr, true, true).empty();
    if (is_first) out += (first ? pad : "") + line;
    else out += (indent && (blank || !blank_line) ? pad : "") + line;
    if (nl == std::string::npos) break;
    out += '\n';
    start = nl + 1;
    is_first = false;
  }
  return out;
}

}  // namespace

Value Interp::getattr(const Value& obj, const std::string& name) {
  switch (obj.kind) {
    case Value::Kind::Undefined: undefined_error(obj);
    case Value::Kind::Object:
      if (obj.o->is_namespace) {
        if (const Value* v = obj.o->find(name)) return *v;
        return Value::undefined("'Namespace' object has no attribute '" + name + "'");
      }
      if (one_of(name, {"get", "items", "keys", "values", "copy"})) return method(obj, name);
      if (one_of(name, {"pop", "popitem", "setdefault", "update", "clear"}))
        return unsafe("access to attribute '" + name + "' of 'dict' object is unsafe.");
      if (const Value* v = obj.o->find(name)) return *v;
      return Value::undefined("'dict object' has no attribute '" + name + "'");
    case Value::Kind::String:
      if (one_of(name, {"strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith", "replace",
                        "upper", "lower", "casefold", "title", "capitalize", "find", "rfind", "index", "rindex", "count",
                        "join", "format", "isdigit", "isnumeric", "isdecimal", "isalpha", "isalnum", "isspace", "isupper",
                        "islower", "removeprefix", "removesuffix", "partition", "rpartition", "zfill", "center", "ljust",
                        "rjust"}))
        return method(obj, name);
      return Value::undefined("'str object' has no attribute '" + name + "'");
    case Value::Kind::Array:
      if (!obj.generator && one_of(name, {"index", "count", "copy"})) return method(obj, name);
      if (!obj.generator && one_of(name, {"append", "clear", "extend", "insert", "pop", "remove", "reverse", "sort"}))
        return unsafe("access to attribute '" + name + "' of 'list' object is unsafe.");
      return Value::undefined("'" + type_name(obj) + " object' has no attribute '" + name + "'");
    default: return Value::undefined("'" + type_name(obj) + " object' has no attribute '" + name + "'");
  }
}

Value Interp::getitem(const Value& obj, const Value& key) {
  if (obj.is_undefined()) undefined_error(obj);
  const bool int_key = key.kind == Value::Kind::Int || key.kind == Value::Kind::Bool;
  if ((obj.kind == Value::Kind::Array || obj.is_string()) && int_key) {
    if (obj.generator) fail("'generator' object is not subscriptable");
    int64_t k = as_int(key);
    if (obj.is_string()) {
      const std::vector<size_t> off = py::offsets(*obj.s);
      const int64_t n = static_cast<int64_t>(off.size()) - 1;
      if (k < 0) k += n;
      if (k < 0 || k >= n) return Value::undefined("string index out of range");
      return Value::string(obj.s->substr(off[k], off[k + 1] - off[k]));
    }
    const int64_t n = static_cast<int64_t>(obj.a->items.size());
    if (k < 0) k += n;
    if (k < 0 || k >= n) return Value::undefined("list object has no element " + std::to_string(as_int(key)));
    return obj.a->items[k];
  }
  if (obj.kind == Value::Kind::Object && !obj.o->is_namespace) {
    if (const Value* v = obj.o->find(key)) return *v;
  }
  if (key.is_string()) return getattr(obj, *key.s);
  return Value::undefined("'" + type_name(obj) + " object' has no element " + repr(key));
}

bool Interp::test(const std::string& name, const Value& v, Args& args) {
  auto need_arg = [&]() -> const Value& {
    if (args.empty()) fail("the test '" + name + "' needs an argument");
    return args[0];
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "string") return v.is_string();
  if (name == "number") return v.is_number();
  if (name == "integer") return v.kind == Value::Kind::Int;
  if (name == "float") return v.kind == Value::Kind::Float;
  if (name == "boolean") return v.kind == Value::Kind::Bool;
  if (name == "true") return v.kind == Value::Kind::Bool && v.b;
  if (name == "false") return v.kind == Value::Kind::Bool && !v.b;
  if (name == "mapping") return v.kind == Value::Kind::Object && !v.o->is_namespace;
  if (name == "iterable")
    return v.kind == Value::Kind::Undefined || v.kind == Value::Kind::String || v.kind == Value::Kind::Array ||
           (v.kind == Value::Kind::Object && !v.o->is_namespace);
  if (name == "sequence")
    return v.kind == Value::Kind::Undefined || v.kind == Value::Kind::String || (v.kind == Value::Kind::Array && !v.generator) ||
           (v.kind == Value::Kind::Object && !v.o->is_namespace);
  if (name == "callable") return v.kind == Value::Kind::Callable;
  if (name == "lower") return v.is_string() && py::lower(*v.s) == *v.s;
  if (name == "upper") return v.is_string() && py::upper(*v.s) == *v.s;
  if (name == "even" || name == "odd") {
    const int64_t i = need_int(v, "the value of '" + name + "'");
    return ((i % 2) != 0) == (name == "odd");
  }
  if (name == "divisibleby") {
    const int64_t d = need_int(need_arg(), "divisibleby's argument");
    if (d == 0) fail("integer division or modulo by zero");
    return as_int(v) % d == 0;
  }
  if (name == "eq" || name == "equalto" || name == "==") return equals(v, need_arg());
  if (name == "ne" || name == "!=") return !equals(v, need_arg());
  if (name == "lt" || name == "lessthan" || name == "<") return compare(v, need_arg()) < 0;
  if (name == "le" || name == "<=") return compare(v, need_arg()) <= 0;
  if (name == "gt" || name == "greaterthan" || name == ">") return compare(v, need_arg()) > 0;
  if (name == "ge" || name == ">=") return compare(v, need_arg()) >= 0;
  if (name == "sameas") {
    const Value& o = need_arg();
    if (v.kind != o.kind) return false;
    if (v.kind == Value::Kind::None || v.kind == Value::Kind::Undefined) return true;
    if (v.kind == Value::Kind::Bool) return v.b == o.b;
    if (v.kind == Value::Kind::Object) return v.o == o.o;
    if (v.kind == Value::Kind::Array) return v.a == o.a;
    return equals(v, o);
  }
  if (name == "in") {
    const Value& c = need_arg();
    switch (c.kind) {
      case Value::Kind::String:
        if (!v.is_string()) fail("'in <string>' requires string as left operand, not " + type_name(v));
        return c.s->find(*v.s) != std::string::npos;
      case Value::Kind::Array:
        return std::any_of(c.a->items.begin(), c.a->items.end(), [&](const Value& x) { return equals(x, v); });
      case Value::Kind::Object:
        if (c.o->is_namespace) fail("argument of type 'Namespace' is not iterable");
        return c.o->find(v) != nullptr;
      case Value::Kind::Undefined:
        if (is_unsafe(c)) undefined_error(c);
        return false;
      default: fail("argument of type '" + type_name(c) + "' is not iterable");
    }
  }
  if (name == "filter" || name == "test") return false;
  if (name == "escaped") return v.markup;
  fail("no test named '" + name + "'");
}

Value Interp::filter(const std::string& name, const Value& v, Args& args, Kwargs& kwargs) {
  auto a = [&](size_t pos, const char* key) { return arg(args, kwargs, pos, key); };
  auto flag = [&](size_t pos, const char* key) {
    const Value* x = a(pos, key);
    return x && truthy(*x);
  };
  auto items_of = [&](const Value& x) { return iterate(x); };
  auto str_result = [&](std::string s) {
    check_size(s.size());
    return Value::string(std::move(s));
  };

  if (name == "tojson") {
    check_kwargs(kwargs, {"indent", "ensure_ascii", "separators", "sort_keys"}, "tojson()");
    const Value* ind = a(0, "indent");
    std::string unit;
    const std::string* indent = nullptr;
    if (ind && !ind->is_none()) {
      if (ind->is_string()) unit = *ind->s;
      else unit.assign(static_cast<size_t>(std::clamp<int64_t>(need_int(*ind, "indent"), 0, 64)), ' ');
      indent = &unit;
    }
    std::string item_sep = indent ? "," : ", ", key_sep = ": ";
    if (const Value* sep = a(2, "separators"); sep && !sep->is_none()) {
      if (sep->kind != Value::Kind::Array || sep->a->items.size() != 2) fail("separators must be a pair of strings");
      item_sep = need_str(sep->a->items[0], "separator");
      key_sep = need_str(sep->a->items[1], "separator");
    }
    std::string json = to_json(v, indent, item_sep, key_sep, flag(3, "sort_keys"));
    if (flag(1, "ensure_ascii")) {
      std::string ascii;
      size_t n = 0;
      for (size_t i = 0; i < json.size(); i += n) {
        const uint32_t cp = unicode::decode_utf8(json, i, &n);
        if (cp < 0x80) {
          ascii += static_cast<char>(cp);
          continue;
        }
        char buf[16];
        if (cp >= 0x10000) {
          const uint32_t u = cp - 0x10000;
          std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", 0xD800 + (u >> 10), 0xDC00 + (u & 0x3FF));
        } else {
          std::snprintf(buf, sizeof buf, "\\u%04x", cp);
        }
        ascii += buf;
      }
      json = std::move(ascii);
    }
    return str_result(std::move(json));
  }
  if (name == "length" || name == "count") return Value::integer(static_cast<int64_t>(length(v)));
  if (name == "string") {
    if (v.is_string()) return v;
    return str_result(to_str(v));
  }
  if (name == "trim") {
    const Value* chars = a(0, "chars");
    return Value::string(py::strip(to_str(v), chars && !chars->is_none() ? &need_str(*chars, "trim chars") : nullptr, true, true));
  }
  if (name == "default" || name == "d") {
    const Value* dflt = a(0, "default_value");
    if (v.is_undefined() || (flag(1, "boolean") && !truthy(v))) return dflt ? *dflt : Value::string("");
    return v;
  }
  if (name == "join") {
    const Value* sep = a(0, "d");
    const Value* attr = a(1, "attribute");
    const std::string s = sep ? to_str(*sep) : "";
    std::string out;
    bool first = true;
    for (const Value& x : items_of(v)) {
      if (!first) out += s;
      out += to_str(attr && !attr->is_none() ? attribute_path(*this, x, to_str(*attr)) : x);
      first = false;
      check_size(out.size());
    }
    return Value::string(std::move(out));
  }
  if (name == "items") {
    if (v.is_undefined()) return generator({});
    if (v.kind != Value::Kind::Object || v.o->is_namespace) fail("Can only get item pairs from a mapping.");
    std::vector<Value> out;
    for (const auto& [k, x] : v.o->items) out.push_back(Value::array({k, x}, true));
    return generator(std::move(out));
  }
  if (name == "dictsort") {
    if (v.kind != Value::Kind::Object || v.o->is_namespace) fail("dictsort expects a mapping, not " + type_name(v));
    const bool cs = flag(0, "case_sensitive");
    const Value* by = a(1, "by");
    const bool by_value = by && by->is_string() && *by->s == "value";
    if (by && !(by->is_string() && (*by->s == "key" || *by->s == "value"))) fail("You can only sort by either \"key\" or \"value\"");
    std::vector<Value> pairs;
    for (const auto& [k, x] : v.o->items) pairs.push_back(Value::array({k, x}, true));
    std::stable_sort(pairs.begin(), pairs.end(), [&](const Value& p, const Value& q) {
      const int c = compare(sort_key(p.a->items[by_value], cs), sort_key(q.a->items[by_value], cs));
      return flag(2, "reverse") ? c > 0 : c < 0;
    });
    return Value::array(std::move(pairs));
  }
  if (name == "list") {
    if (v.is_string() || v.kind == Value::Kind::Array || v.kind == Value::Kind::Object || v.is_undefined())
      return Value::array(items_of(v));
    fail("'" + type_name(v) + "' object is not iterable");
  }
  if (name == "lower") return Value::string(py::lower(to_str(v)));
  if (name == "upper") return Value::string(py::upper(to_str(v)));
  if (name == "capitalize") return Value::string(py::capitalize(to_str(v)));
  if (name == "title") return Value::string(py::title(to_str(v)));
  if (name == "safe") {
    Value s = v.is_string() ? v : Value::string(to_str(v));
    s.markup = true;
    return s;
  }
  if (name == "escape" || name == "e" || name == "forceescape") {
    if (v.markup && name != "forceescape") return v;
    Value s = Value::string(py::escape_html(to_str(v)));
    s.markup = true;
    return s;
  }
  if (name == "replace") {
    if (args.size() < 2) fail("replace needs the old and the new string");
    const Value* count = a(2, "count");
    return str_result(py::replace(to_str(v), to_str(args[0]), to_str(args[1]), count && !count->is_none() ? need_int(*count, "count") : -1));
  }
  if (name == "indent") {
    const Value* width = a(0, "width");
    std::string pad = "    ";
    if (width) pad = width->is_string() ? *width->s : std::string(static_cast<size_t>(std::clamp<int64_t>(need_int(*width, "width"), 0, 1000)), ' ');
    return str_result(indent_text(to_str(v), pad, flag(1, "first"), flag(2, "blank")));
  }
  if (name == "first") {
    if (v.kind == Value::Kind::Object && !v.o->is_namespace)
      return v.o->items.empty() ? Value::undefined("No first item, sequence was empty.") : v.o->items.front().first;
    std::vector<Value> items = items_of(v);
    return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
  }
  if (name == "last") {
    if (v.generator) fail("'generator' object is not reversible");
    if (v.kind == Value::Kind::Object) fail("'dict' object is not reversible");
    std::vector<Value> items = items_of(v);
    return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
  }
  if (name == "reverse") {
    if (v.is_string()) {
      auto cs = py::chars(*v.s);
      std::string out;
      for (auto it = cs.rbegin(); it != cs.rend(); ++it) out += *it;
      return Value::string(std::move(out));
    }
    std::vector<Value> items = items_of(v);
    std::reverse(items.begin(), items.end());
    return generator(std::move(items));
  }
  if (name == "int") {
    const Value* dflt = a(0, "default");
    const Value fallback = dflt ? *dflt : Value::integer(0);
    if (v.kind == Value::Kind::Int) return v;
    if (v.kind == Value::Kind::Bool) return Value::integer(v.b);
    if (v.kind == Value::Kind::Float) return std::isfinite(v.f) ? Value::integer(as_int(v)) : fallback;
    if (v.is_string()) {
      const std::string s = py::strip(*v.s, nullptr, true, true);
      const Value* base = a(1, "base");
      const int b = base ? static_cast<int>(need_int(*base, "base")) : 10;
      if (b < 2 || b > 36) fail("int() base must be >= 2 and <= 36");
      std::string digits;
      for (char c : s)
        if (c != '_') digits += c;
      char* end = nullptr;
      errno = 0;
      const long long r = std::strtoll(digits.c_str(), &end, b);
      if (!digits.empty() && end && *end == 0 && errno == 0) return Value::integer(r);
      char* fend = nullptr;
      const double d = std::strtod(digits.c_str(), &fend);
      if (!digits.empty() && fend && *fend == 0 && std::isfinite(d) && std::fabs(d) < 9.2e18) return Value::integer(static_cast<int64_t>(d));
    }
    return fallback;
  }
  if (name == "float") {
    const Value* dflt = a(0, "default");
    if (v.is_number()) return Value::number(as_float(v));
    if (v.is_string()) {
      const std::string s = py::strip(*v.s, nullptr, true, true);
      char* end = nullptr;
      const double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end && *end == 0) return Value::number(d);
    }
    return dflt ? *dflt : Value::number(0);
  }
  if (name == "abs") {
    if (v.kind == Value::Kind::Float) return Value::number(std::fabs(v.f));
    const int64_t i = as_int(v);
    if (i == INT64_MIN) fail("integer overflow (beyond 64 bits)");
    return Value::integer(i < 0 ? -i : i);
  }
  if (name == "round") {
    const Value* p = a(0, "precision");
    const Value* m = a(1, "method");
    const int64_t prec = p ? need_int(*p, "precision") : 0;
    const std::string method = m ? need_str(*m, "method") : "common";
    const double scale = std::pow(10.0, static_cast<double>(std::clamp<int64_t>(prec, -300, 300)));
    const double x = as_float(v) * scale;
    double r;
    if (method == "common") r = std::nearbyint(x);  // Python's round(): half to even
    else if (method == "ceil") r = std::ceil(x);
    else if (method == "floor") r = std::floor(x);
    else fail("method must be common, ceil or floor");
    return Value::number(r / scale);
  }
  if (name == "unique") {
    const bool cs = flag(0, "case_sensitive");
    const Value* attr = a(1, "attribute");
    std::vector<Value> out, seen;
    for (const Value& x : items_of(v)) {
      Value k = sort_key(attr && !attr->is_none() ? attribute_path(*this, x, to_str(*attr)) : x, cs);
      if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, k); })) continue;
      seen.push_back(k);
      out.push_back(x);
    }
    return generator(std::move(out));
  }
  if (name == "sort") {
    const Value* attr = a(2, "attribute");
    return Value::array(sorted(*this, items_of(v), flag(0, "reverse"), flag(1, "case_sensitive"), attr));
  }
  if (name == "min" || name == "max") {
    const Value* attr = a(1, "attribute");
    std::vector<Value> items = sorted(*this, items_of(v), false, flag(0, "case_sensitive"), attr);
    if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
    return name == "min" ? items.front() : items.back();
  }
  if (name == "sum") {
    const Value* attr = a(0, "attribute");
    const Value* start = a(1, "start");
    Value total = start ? *start : Value::integer(0);
    for (const Value& x : items_of(v)) total = binary("+", total, attr && !attr->is_none() ? attribute_path(*this, x, to_str(*attr)) : x);
    return total;
  }
  if (name == "map") {
    std::vector<Value> out;
    if (!truthy(v)) return generator({});  // jinja2 maps over nothing when the value is false (None too)
    const Value* attr = nullptr;
    for (const auto& [k, x] : kwargs)
      if (k == "attribute") attr = &x;
    if (attr) {
      const Value* dflt = nullptr;
      for (const auto& [k, x] : kwargs)
        if (k == "default") dflt = &x;
      for (const Value& x : items_of(v)) {
        Value r = attribute_path(*this, x, to_str(*attr));
        out.push_back(r.is_undefined() && dflt ? *dflt : r);
      }
      return generator(std::move(out));
    }
    if (args.empty()) fail("map requires a filter argument");
    const std::string f = need_str(args[0], "map's filter name");
    Args rest(args.begin() + 1, args.end());
    Kwargs kw = kwargs;
    for (const Value& x : items_of(v)) {
      step();
      Args r = rest;
      out.push_back(filter(f, x, r, kw));
    }
    return generator(std::move(out));
  }
  if (name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr") {
    const bool by_attr = name == "selectattr" || name == "rejectattr";
    const bool keep = name == "select" || name == "selectattr";
    std::string attr;
    size_t t = 0;
    if (by_attr) {
      if (args.empty()) fail(name + " needs an attribute name");
      attr = to_str(args[0]);
      t = 1;
    }
    std::string test_name;
    if (args.size() > t) test_name = need_str(args[t], "the test name");
    Args targs(args.begin() + static_cast<std::ptrdiff_t>(std::min(args.size(), t + 1)), args.end());
    std::vector<Value> out;
    if (!truthy(v)) return generator({});  // as for map: None selects nothing
    for (const Value& x : items_of(v)) {
      step();
      const Value subject = by_attr ? attribute_path(*this, x, attr) : x;
      Args ta = targs;
      const bool r = test_name.empty() ? truthy(subject) : test(test_name, subject, ta);
      if (r == keep) out.push_back(x);
    }
    return generator(std::move(out));
  }
  if (name == "attr") {  // attributes only: a dict's keys are items, not attributes
    if (args.empty()) fail("attr needs a name");
    const std::string& a0 = need_str(args[0], "attr's name");
    if (v.kind == Value::Kind::Object && !v.o->is_namespace && !one_of(a0, {"get", "items", "keys", "values", "copy"}))
      return Value::undefined("'dict object' has no attribute '" + a0 + "'");
    return getattr(v, a0);
  }
  if (name == "center") {
    const Value* w = a(0, "width");
    Args ca{w ? *w : Value::integer(80)};
    Kwargs none;
    return str_method(*this, to_str(v), "center", ca, none);
  }
  if (name == "wordcount") return Value::integer(static_cast<int64_t>(py::split(to_str(v), nullptr, -1, false).size()));
  if (name == "format") {
    if (!v.is_string()) fail("format expects a string");
    Value rest = Value::array(args, true);
    return str_result(binary("%", v, rest).str());
  }
  if (name == "pprint") return Value::string(repr(v));
  if (name == "batch") {
    const int64_t n = need_int(args.empty() ? Value() : args[0], "batch size");
    if (n <= 0) fail("batch size must be positive");
    std::vector<Value> out, cur;
    for (const Value& x : items_of(v)) {
      cur.push_back(x);
      if (static_cast<int64_t>(cur.size()) == n) out.push_back(Value::array(std::move(cur))), cur.clear();
    }
    if (!cur.empty()) {
      if (args.size() > 1)
        while (static_cast<int64_t>(cur.size()) < n) cur.push_back(args[1]);
      out.push_back(Value::array(std::move(cur)));
    }
    return generator(std::move(out));
  }
  fail("no filter named '" + name + "'");
}

namespace {

struct Builtin : Callable {
  std::function<Value(Interp&, Args&, Kwargs&)> fn;
  Value call(Interp& in, Args& args, Kwargs& kwargs) const override { return fn(in, args, kwargs); }
};

Value builtin(const std::string& name, std::function<Value(Interp&, Args&, Kwargs&)> fn) {
  auto b = std::make_shared<Builtin>();
  b->name = name;
  b->fn = std::move(fn);
  return callable(b);
}

constexpr int64_t kMaxRange = 100000;  // jinja2's sandbox refuses longer ranges

}  // namespace

ScopePtr Interp::global_scope(const Value& context) {
  auto g = std::make_shared<Scope>();
  g->set("range", builtin("range", [](Interp&, Args& args, Kwargs&) {
           if (args.empty() || args.size() > 3) fail("range expected 1 to 3 arguments");
           int64_t start = 0, stop, step = 1;
           if (args.size() == 1) stop = need_int(args[0], "range()'s argument");
           else {
             start = need_int(args[0], "range()'s argument");
             stop = need_int(args[1], "range()'s argument");
             if (args.size() == 3) step = need_int(args[2], "range()'s argument");
           }
           if (step == 0) fail("range() arg 3 must not be zero");
           const long double count = step > 0 ? (static_cast<long double>(stop) - start + step - 1) / step
                                               : (static_cast<long double>(start) - stop - step - 1) / -step;
           if (count > kMaxRange) fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
           std::vector<Value> out;
           for (int64_t k = start; step > 0 ? k < stop : k > stop; k += step) out.push_back(Value::integer(k));
           return Value::array(std::move(out));
         }));
  g->set("namespace", builtin("namespace", [](Interp& in, Args& args, Kwargs& kwargs) {
           Value ns = Value::object({});
           ns.o->is_namespace = true;
           in.keep_alive(ns.o);
           for (const Value& a : args) {
             if (a.kind != Value::Kind::Object || a.o->is_namespace) fail("namespace() takes a mapping and keyword arguments");
             for (const auto& [k, x] : a.o->items) ns.o->set(k, x);
           }
           for (const auto& [k, x] : kwargs) ns.o->set(k, x);
           return ns;
         }));
  g->set("dict", builtin("dict", [](Interp&, Args& args, Kwargs& kwargs) {
           Value d = Value::object({});
           for (const Value& a : args) {
             if (a.kind != Value::Kind::Object || a.o->is_namespace) fail("dict() takes a mapping and keyword arguments");
             for (const auto& [k, x] : a.o->items) d.o->set(k, x);
           }
           for (const auto& [k, x] : kwargs) d.o->set(k, x);
           return d;
         }));
  g->set("raise_exception", builtin("raise_exception", [](Interp&, Args& args, Kwargs&) -> Value {
           fail(args.empty() ? "raise_exception was called" : to_str(args[0]));
         }));
  g->set("strftime_now", builtin("strftime_now", [](Interp& in, Args& args, Kwargs&) {
           const std::string fmt = need_str(args.empty() ? Value() : args[0], "strftime_now's format");
           std::tm tm = in.options().time;
           if (!in.options().fixed_time) {
             const std::time_t now = std::time(nullptr);
             localtime_r(&now, &tm);
           }
           if (fmt.size() > 256) fail("strftime_now's format is too long");
           char buf[1024];
           const size_t n = fmt.empty() ? 0 : std::strftime(buf, sizeof buf, fmt.c_str(), &tm);
           return Value::string(std::string(buf, n));
         }));
  auto scope = std::make_shared<Scope>();
  scope->parent = g;
  if (context.kind == Value::Kind::Object)
    for (const auto& [k, v] : context.o->items)
      if (k.is_string()) scope->set(*k.s, v);
  return scope;
}

}  // namespace llmkit::jinja

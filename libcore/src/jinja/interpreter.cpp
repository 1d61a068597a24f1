#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <optional>

#include "jinja/interp.h"
#include "jinja/pystr.h"

namespace llmkit::jinja {

const Value* Scope::find(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent.get())
    for (const auto& kv : s->vars)
      if (kv.first == name) return &kv.second;
  return nullptr;
}

void Scope::set(const std::string& name, Value v) {
  for (auto& kv : vars)
    if (kv.first == name) {
      kv.second = std::move(v);
      return;
    }
  vars.emplace_back(name, std::move(v));
}

namespace {

ScopePtr child(const ScopePtr& parent) {
  auto s = std::make_shared<Scope>();
  s->parent = parent;
  return s;
}

// A macro, or the body of a {% call %} block (the `caller` a macro sees).
struct Macro : Callable {
  const Node* node;  // the Macro or CallBlock node: params and body; the template outlives the render
  ScopePtr closure;
  Value call(Interp& in, Args& args, Kwargs& kwargs) const override {
    ScopePtr scope = child(closure);
    const auto& params = node->params;
    if (args.size() > params.size())
      fail("macro '" + name + "' takes not more than " + std::to_string(params.size()) + " argument(s)");
    std::vector<bool> given(params.size(), false);
    for (size_t k = 0; k < args.size(); ++k) {
      scope->set(params[k].first, args[k]);
      given[k] = true;
    }
    for (auto& [key, v] : kwargs) {
      if (key == "caller") {
        scope->set("caller", v);
        continue;
      }
      size_t k = 0;
      while (k < params.size() && params[k].first != key) ++k;
      if (k == params.size()) fail("macro '" + name + "' takes no keyword argument '" + key + "'");
      scope->set(key, v);
      given[k] = true;
    }
    for (size_t k = 0; k < params.size(); ++k) {
      if (given[k]) continue;
      scope->set(params[k].first, params[k].second ? in.eval_default(*params[k].second, scope)
                                                   : Value::undefined("parameter '" + params[k].first + "' was not provided"));
    }
    std::string out;
    in.exec_block(node->body, scope, out);
    return Value::string(std::move(out));
  }
};

struct LoopCycle : Callable {
  std::shared_ptr<size_t> index;
  Value call(Interp&, Args& args, Kwargs&) const override {
    if (args.empty()) fail("no items for cycling given");
    return args[*index % args.size()];
  }
};


// a op b on int64, where Python would grow a big integer: an error instead.
template <class Op> int64_t checked(Op op, int64_t a, int64_t b) {
  int64_t r;
  if (op(a, b, &r)) fail("integer overflow (beyond 64 bits)");
  return r;
}
bool add(int64_t a, int64_t b, int64_t* r) { return __builtin_add_overflow(a, b, r); }
bool sub(int64_t a, int64_t b, int64_t* r) { return __builtin_sub_overflow(a, b, r); }
bool mul(int64_t a, int64_t b, int64_t* r) { return __builtin_mul_overflow(a, b, r); }

// Python's '%' formatting of a string, for the conversions templates use: %s %r %d %i %f %%.
std::string percent_format(const std::string& fmt, const Value& rhs) {
  std::vector<Value> args = rhs.kind == Value::Kind::Array && rhs.a->tuple ? rhs.a->items : std::vector<Value>{rhs};
  std::string out;
  size_t next = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    if (++i >= fmt.size()) fail("incomplete format");
    const char c = fmt[i];
    if (c == '%') {
      out += '%';
      continue;
    }
    if (next >= args.size()) fail("not enough arguments for format string");
    const Value& v = args[next++];
    switch (c) {
      case 's': out += to_str(v); break;
      case 'r': out += repr(v); break;
      case 'd':
      case 'i': out += std::to_string(as_int(v)); break;  // as_int truncates a float, as %d does
      case 'f': {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%f", as_float(v));
        out += buf;
        break;
      }
      default: fail(std::string("unsupported format character '") + c + "'");
    }
  }
  if (next < args.size()) fail("not all arguments converted during string formatting");
  return out;
}

}  // namespace

Interp::Interp(const RenderOptions& options, ScopePtr globals)
    : opt_(options),
      globals_(std::move(globals)),
      deadline_(std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                         std::chrono::duration<double>(options.limits.max_seconds))) {}

Value Interp::macro(const std::string& name, const Node& n, const ScopePtr& scope) {
  auto m = std::make_shared<Macro>();
  m->name = name;
  m->node = &n;
  m->closure = scope;
  keep_alive(scope);
  Value v;
  v.kind = Value::Kind::Callable;
  v.fn = std::move(m);
  return v;
}

Interp::~Interp() {
  for (const ScopePtr& s : closures_) s->vars.clear();
  for (const auto& o : namespaces_) o->items.clear();
}

Interp::DepthGuard::DepthGuard(Interp& i) : in(i) {
  if (++in.depth_ > in.opt_.limits.max_depth) {
    --in.depth_;
    throw RuntimeError{"template_limit", "the template nests or recurses deeper than " +
                                             std::to_string(in.opt_.limits.max_depth) + " levels"};
  }
}

void Interp::step() {
  if (++steps_ > opt_.limits.max_steps)
    throw RuntimeError{"template_limit", "the template did more than " + std::to_string(opt_.limits.max_steps) +
                                             " steps (an endless or huge loop?)"};
  if ((steps_ & 15) == 0 && std::chrono::steady_clock::now() > deadline_)
    throw RuntimeError{"template_limit", "rendering took longer than " + py::float_repr(opt_.limits.max_seconds) + " s"};
}

void Interp::charge(size_t units) {
  steps_ += units;
  step();
}

void Interp::check_size(size_t bytes) const {
  if (bytes > opt_.limits.max_output)
    throw RuntimeError{"template_limit", "the rendered text would pass " + std::to_string(opt_.limits.max_output) + " bytes"};
}

void Interp::run(const std::vector<NodePtr>& body, std::string& out) { exec_block(body, child(globals_), out); }

Interp::Flow Interp::exec_block(const std::vector<NodePtr>& body, const ScopePtr& scope, std::string& out) {
  for (const NodePtr& n : body) {
    step();
    const Flow f = exec(*n, scope, out);
    if (f != Flow::Normal) return f;
  }
  return Flow::Normal;
}

Interp::Flow Interp::exec(const Node& n, const ScopePtr& scope, std::string& out) {
  DepthGuard depth(*this);
  try {
    switch (n.kind) {
      case N::Output:
        check_size(out.size() + n.name.size());
        out += n.name;
        return Flow::Normal;
      case N::Print: {
        const Value v = eval(*n.a, scope);
        if (v.kind == Value::Kind::String) {
          check_size(out.size() + v.s->size());
          out += *v.s;
        } else {
          const std::string s = to_str(v);
          check_size(out.size() + s.size());
          out += s;
        }
        return Flow::Normal;
      }
      case N::If:
        return exec_block(truthy(eval(*n.a, scope)) ? n.body : n.else_body, scope, out);
      case N::For: return exec_for(n, scope, out);
      case N::Set: assign(*n.a, eval(*n.b, scope), scope); return Flow::Normal;
      case N::SetBlock: {
        std::string text;
        exec_block(n.body, child(scope), text);
        Value v = Value::string(std::move(text));
        if (n.c) v = eval_filter(*n.c, scope, &v);
        assign(*n.a, v, scope);
        return Flow::Normal;
      }
      case N::Macro: scope->set(n.name, macro(n.name, n, scope)); return Flow::Normal;
      case N::CallBlock: {
        const Value cv = macro("caller", n, scope);
        const Node& call_node = *n.a;
        Value fn = eval(*call_node.a, scope);
        Args args;
        for (const NodePtr& a : call_node.items) args.push_back(eval(*a, scope));
        Kwargs kwargs;
        for (const auto& [k, a] : call_node.kwargs) kwargs.emplace_back(k, eval(*a, scope));
        kwargs.emplace_back("caller", cv);
        const std::string s = to_str(call(fn, args, kwargs));
        check_size(out.size() + s.size());
        out += s;
        return Flow::Normal;
      }
      case N::FilterBlock: {
        std::string text;
        exec_block(n.body, child(scope), text);
        const Value v = Value::string(std::move(text));
        const std::string s = to_str(eval_filter(*n.c, scope, &v));
        check_size(out.size() + s.size());
        out += s;
        return Flow::Normal;
      }
      case N::Break: return Flow::Break;
      case N::Continue: return Flow::Continue;
      case N::Scope: {
        ScopePtr inner = child(scope);
        std::vector<Value> values;
        for (const NodePtr& s : n.items) values.push_back(eval(*s->b, scope));
        for (size_t k = 0; k < n.items.size(); ++k) assign(*n.items[k]->a, values[k], inner);
        const Flow f = exec_block(n.body, inner, out);
        return f;
      }
      default: fail("not a statement");
    }
  } catch (const RuntimeError& e) {
    throw JinjaError(e.code, e.message, n.line, n.column);
  }
}

// Strings are iterated as one Value per character: bounded, so that a template cannot turn a big
// message into gigabytes (lists and dicts are as big as the data or the steps that built them).
constexpr size_t kMaxItems = 1u << 20;

std::vector<Value> iterate(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Undefined:
      if (is_unsafe(v)) undefined_error(v);
      return {};
    case Value::Kind::Array: return v.a->items;
    case Value::Kind::Object: {
      if (v.o->is_namespace) fail("'Namespace' object is not iterable");
      std::vector<Value> keys;
      for (const auto& kv : v.o->items) keys.push_back(kv.first);
      return keys;
    }
    case Value::Kind::String: {
      const std::vector<size_t> off = py::offsets(*v.s);
      if (off.size() - 1 > kMaxItems) throw RuntimeError{"template_limit", "a loop over a string of more than 1,048,576 characters"};
      std::vector<Value> out;
      out.reserve(off.size() - 1);
      for (size_t k = 0; k + 1 < off.size(); ++k) out.push_back(Value::string(v.s->substr(off[k], off[k + 1] - off[k])));
      return out;
    }
    default: fail("'" + type_name(v) + "' object is not iterable");
  }
}

Interp::Flow Interp::exec_for(const Node& n, const ScopePtr& scope, std::string& out) {
  std::vector<Value> items = iterate(eval(*n.b, scope));
  charge(items.size());
  if (n.c) {  // `for x in xs if cond`: filtered first, so loop.length and loop.last count what remains
    std::vector<Value> kept;
    for (Value& v : items) {
      step();
      ScopePtr s = child(scope);
      assign(*n.a, v, s);
      if (truthy(eval(*n.c, s))) kept.push_back(std::move(v));
    }
    items = std::move(kept);
  }
  if (items.empty()) return exec_block(n.else_body, scope, out), Flow::Normal;
  auto index = std::make_shared<size_t>(0);
  auto cycle = std::make_shared<LoopCycle>();
  cycle->name = "cycle";
  cycle->index = index;
  Value cycle_value;
  cycle_value.kind = Value::Kind::Callable;
  cycle_value.fn = cycle;
  const int64_t len = static_cast<int64_t>(items.size());
  for (int64_t k = 0; k < len; ++k) {
    step();
    *index = static_cast<size_t>(k);
    ScopePtr s = child(scope);
    assign(*n.a, items[k], s);
    Value loop;
    loop.kind = Value::Kind::Object;
    loop.o = std::make_shared<Object>();
    auto& li = loop.o->items;
    li.reserve(12);
    auto put = [&](const char* key, Value v) { li.emplace_back(Value::string(key), std::move(v)); };
    put("index", Value::integer(k + 1));
    put("index0", Value::integer(k));
    put("revindex", Value::integer(len - k));
    put("revindex0", Value::integer(len - k - 1));
    put("first", Value::boolean(k == 0));
    put("last", Value::boolean(k == len - 1));
    put("length", Value::integer(len));
    put("depth", Value::integer(1));
    put("depth0", Value::integer(0));
    put("previtem", k > 0 ? items[k - 1] : Value::undefined("there is no previous item"));
    put("nextitem", k + 1 < len ? items[k + 1] : Value::undefined("there is no next item"));
    put("cycle", cycle_value);
    loop.o->is_namespace = true;  // attributes only: no dict methods, not a mapping
    s->vars.emplace_back("loop", std::move(loop));
    if (exec_block(n.body, s, out) == Flow::Break) break;
  }
  return Flow::Normal;
}

void Interp::assign(const Node& target, const Value& v, const ScopePtr& scope) {
  if (target.kind == N::Name) return scope->set(target.name, v);
  if (target.kind == N::Tuple) {
    if (v.kind != Value::Kind::Array && v.kind != Value::Kind::String) fail("cannot unpack non-iterable " + type_name(v) + " object");
    const std::vector<Value> items = iterate(v);
    if (items.size() != target.items.size())
      fail(items.size() > target.items.size() ? "too many values to unpack (expected " + std::to_string(target.items.size()) + ")"
                                              : "not enough values to unpack (expected " + std::to_string(target.items.size()) +
                                                    ", got " + std::to_string(items.size()) + ")");
    for (size_t k = 0; k < items.size(); ++k) assign(*target.items[k], items[k], scope);
    return;
  }
  if (target.kind == N::GetAttr && target.a->kind == N::Name) {
    const Value* ns = scope->find(target.a->name);
    if (!ns || ns->kind != Value::Kind::Object || !ns->o->is_namespace)
      fail("cannot assign attribute on non-namespace object '" + target.a->name + "'");
    ns->o->set(target.name, v);
    return;
  }
  fail("cannot assign to this target");
}

Value Interp::eval_default(const Node& n, const ScopePtr& scope) { return eval(n, scope); }

Value Interp::eval(const Node& n, const ScopePtr& scope) {
  DepthGuard depth(*this);
  try {
    return eval_inner(n, scope);
  } catch (const RuntimeError& e) {
    throw JinjaError(e.code, e.message, n.line, n.column);
  }
}

Value Interp::eval_inner(const Node& n, const ScopePtr& scope) {
  switch (n.kind) {
    case N::Const: return n.value;
    case N::Name: {
      if (const Value* v = scope->find(n.name)) return *v;
      return Value::undefined("'" + n.name + "' is undefined");
    }
    case N::List:
    case N::Tuple: {
      std::vector<Value> items;
      items.reserve(n.items.size());
      for (const NodePtr& x : n.items) items.push_back(eval(*x, scope));
      return Value::array(std::move(items), n.kind == N::Tuple);
    }
    case N::Dict: {
      Value d = Value::object({});
      for (size_t k = 0; k + 1 < n.items.size(); k += 2) {
        const Value key = eval(*n.items[k], scope);
        if (key.kind == Value::Kind::Array ? !key.a->tuple : (key.kind == Value::Kind::Object || key.kind == Value::Kind::Undefined))
          fail("unhashable type: '" + type_name(key) + "'");
        d.o->set(key, eval(*n.items[k + 1], scope));
      }
      return d;
    }
    case N::GetAttr: return getattr(eval(*n.a, scope), n.name);
    case N::GetItem: return getitem(eval(*n.a, scope), eval(*n.b, scope));
    case N::Slice: {
      auto part = [&](const NodePtr& p) { return p ? eval(*p, scope) : Value::none(); };
      return slice(eval(*n.a, scope), part(n.items[0]), part(n.items[1]), part(n.items[2]));
    }
    case N::Call: {
      const Value fn = eval(*n.a, scope);
      Args args;
      for (const NodePtr& a : n.items) args.push_back(eval(*a, scope));
      Kwargs kwargs;
      for (const auto& [k, a] : n.kwargs) kwargs.emplace_back(k, eval(*a, scope));
      return call(fn, args, kwargs);
    }
    case N::Filter: return eval_filter(n, scope, nullptr);
    case N::Test: {
      const Value v = eval(*n.a, scope);
      Args args;
      for (const NodePtr& a : n.items) args.push_back(eval(*a, scope));
      step();
      return Value::boolean(test(n.name, v, args) != n.flag);
    }
    case N::Unary: {
      const Value v = eval(*n.a, scope);
      if (n.name == "not") return Value::boolean(!truthy(v));
      if (v.is_undefined()) undefined_error(v);
      if (v.kind == Value::Kind::Float) return Value::number(n.name == "-" ? -v.f : v.f);
      if (v.kind == Value::Kind::Int || v.kind == Value::Kind::Bool) {
        const int64_t i = as_int(v);
        if (n.name == "-" && i == INT64_MIN) fail("integer overflow (beyond 64 bits)");
        return Value::integer(n.name == "-" ? -i : i);
      }
      fail("bad operand type for unary " + n.name + ": '" + type_name(v) + "'");
    }
    case N::Binary: {
      if (n.name == "and" || n.name == "or") {
        Value l = eval(*n.a, scope);
        if (truthy(l) == (n.name == "or")) return l;
        return eval(*n.b, scope);
      }
      const Value l = eval(*n.a, scope);
      const Value r = eval(*n.b, scope);
      return binary(n.name, l, r);
    }
    case N::Compare: {
      Value l = eval(*n.a, scope);
      for (size_t k = 0; k < n.ops.size(); ++k) {
        Value r = eval(*n.items[k], scope);
        const std::string& op = n.ops[k];
        bool ok;
        if (op == "==") ok = equals(l, r);
        else if (op == "!=") ok = !equals(l, r);
        else if (op == "in" || op == "notin") {
          Args a{r};
          ok = test("in", l, a) == (op == "in");
        } else {
          const int c = compare(l, r);
          ok = op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0;
        }
        if (!ok) return Value::boolean(false);
        l = std::move(r);
      }
      return Value::boolean(true);
    }
    case N::CondExpr:
      if (truthy(eval(*n.b, scope))) return eval(*n.a, scope);
      return n.c ? eval(*n.c, scope) : Value::undefined("the inline if had no else");
    default: fail("not an expression");
  }
}

Value Interp::eval_filter(const Node& n, const ScopePtr& scope, const Value* input) {
  Value operand;
  if (!n.a) operand = *input;
  else if (n.a->kind == N::Filter) operand = eval_filter(*n.a, scope, input);
  else operand = eval(*n.a, scope);
  Args args;
  for (const NodePtr& a : n.items) args.push_back(eval(*a, scope));
  Kwargs kwargs;
  for (const auto& [k, a] : n.kwargs) kwargs.emplace_back(k, eval(*a, scope));
  step();
  try {
    return filter(n.name, operand, args, kwargs);
  } catch (const RuntimeError& e) {
    throw JinjaError(e.code, e.message, n.line, n.column);
  }
}

Value Interp::call(const Value& fn, Args& args, Kwargs& kwargs) {
  if (fn.kind != Value::Kind::Callable) {
    if (fn.is_undefined()) undefined_error(fn);
    fail("'" + type_name(fn) + "' object is not callable");
  }
  step();
  DepthGuard depth(*this);
  return fn.fn->call(*this, args, kwargs);
}

Value Interp::binary(const std::string& op, const Value& a, const Value& b) {
  if (op == "~") {
    std::string s = to_str(a);
    const std::string t = to_str(b);
    check_size(s.size() + t.size());
    return Value::string(s + t);
  }
  if (a.is_undefined()) undefined_error(a);
  if (b.is_undefined()) undefined_error(b);
  const bool num = a.is_number() && b.is_number();
  const bool flt = num && (a.kind == Value::Kind::Float || b.kind == Value::Kind::Float);
  auto unsupported = [&]() -> Value {
    fail("unsupported operand type(s) for " + op + ": '" + type_name(a) + "' and '" + type_name(b) + "'");
  };
  if (op == "+") {
    if (flt) return Value::number(as_float(a) + as_float(b));
    if (num) return Value::integer(checked(add, as_int(a), as_int(b)));
    if (a.is_string() && b.is_string()) {
      check_size(a.s->size() + b.s->size());
      if (a.markup == b.markup) {
        Value v = Value::string(*a.s + *b.s);
        v.markup = a.markup;
        return v;
      }
      Value v = Value::string(a.markup ? *a.s + py::escape_html(*b.s) : py::escape_html(*a.s) + *b.s);
      v.markup = true;
      return v;
    }
    if (a.kind == Value::Kind::Array && b.kind == Value::Kind::Array && a.a->tuple == b.a->tuple) {
      check_size((a.a->items.size() + b.a->items.size()) * sizeof(Value));
      std::vector<Value> items = a.a->items;
      items.insert(items.end(), b.a->items.begin(), b.a->items.end());
      return Value::array(std::move(items), a.a->tuple);
    }
    if (a.is_string()) fail("can only concatenate str (not \"" + type_name(b) + "\") to str");
    if (a.kind == Value::Kind::Array)
      fail("can only concatenate " + type_name(a) + " (not \"" + type_name(b) + "\") to " + type_name(a));
    return unsupported();
  }
  if (op == "-") {
    if (flt) return Value::number(as_float(a) - as_float(b));
    if (num) return Value::integer(checked(sub, as_int(a), as_int(b)));
    return unsupported();
  }
  if (op == "*") {
    if (flt) return Value::number(as_float(a) * as_float(b));
    if (num) return Value::integer(checked(mul, as_int(a), as_int(b)));
    const Value* seq = a.is_number() ? &b : &a;
    const Value* times = a.is_number() ? &a : &b;
    if (!times->is_number() || times->kind == Value::Kind::Float) return unsupported();
    const int64_t n = std::max<int64_t>(0, as_int(*times));
    if (seq->is_string()) {
      check_size(static_cast<size_t>(std::min<int64_t>(n, INT32_MAX)) * seq->s->size());
      std::string s;
      for (int64_t k = 0; k < n; ++k) s += *seq->s;
      return Value::string(std::move(s));
    }
    if (seq->kind == Value::Kind::Array) {
      check_size(static_cast<size_t>(std::min<int64_t>(n, INT32_MAX)) * seq->a->items.size() * sizeof(Value));
      std::vector<Value> items;
      for (int64_t k = 0; k < n; ++k) items.insert(items.end(), seq->a->items.begin(), seq->a->items.end());
      return Value::array(std::move(items), seq->a->tuple);
    }
    return unsupported();
  }
  if (op == "/") {
    if (!num) return unsupported();
    if (as_float(b) == 0) fail("division by zero");
    return Value::number(as_float(a) / as_float(b));
  }
  if (op == "//" || op == "%") {
    if (op == "%" && a.is_string()) return Value::string(percent_format(*a.s, b));
    if (!num) return unsupported();
    if (flt) {
      const double x = as_float(a), y = as_float(b);
      if (y == 0) fail(op == "%" ? "float modulo" : "float floor division by zero");
      const double m = std::fmod(x, y);
      const double mod = (m != 0 && ((m < 0) != (y < 0))) ? m + y : m;
      return Value::number(op == "%" ? mod : std::floor(x / y));
    }
    const int64_t x = as_int(a), y = as_int(b);
    if (y == 0) fail(op == "%" ? "integer modulo by zero" : "integer division or modulo by zero");
    if (x == INT64_MIN && y == -1) fail("integer overflow (beyond 64 bits)");
    int64_t q = x / y, m = x % y;
    if (m != 0 && ((m < 0) != (y < 0))) {
      --q;
      m += y;
    }
    return Value::integer(op == "%" ? m : q);
  }
  if (op == "**") {
    if (!num) return unsupported();
    if (!flt && as_int(b) >= 0) {
      int64_t base = as_int(a), e = as_int(b), result = 1;
      while (e > 0) {
        if (e & 1) result = checked(mul, result, base);
        e >>= 1;
        if (e) base = checked(mul, base, base);
      }
      return Value::integer(result);
    }
    return Value::number(std::pow(as_float(a), as_float(b)));
  }
  fail("unknown operator " + op);
}

Value Interp::slice(const Value& obj, const Value& start, const Value& stop, const Value& step_v) {
  if (obj.is_undefined()) undefined_error(obj);
  std::vector<Value> items;
  std::vector<size_t> off;
  int64_t len;
  if (obj.is_string()) {
    off = py::offsets(*obj.s);
    len = static_cast<int64_t>(off.size()) - 1;
  } else if (obj.kind == Value::Kind::Array) {
    len = static_cast<int64_t>(obj.a->items.size());
  } else {
    fail("'" + type_name(obj) + "' object is not subscriptable");
  }
  auto opt = [](const Value& v) -> std::optional<int64_t> {
    if (v.is_none() || v.is_undefined()) return std::nullopt;
    if (v.kind != Value::Kind::Int && v.kind != Value::Kind::Bool) fail("slice indices must be integers or None");
    return as_int(v);
  };
  const int64_t step = opt(step_v).value_or(1);
  if (step == 0) fail("slice step cannot be zero");
  auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
    if (!v) return dflt;
    int64_t x = *v;
    if (x < 0) x += len;
    if (step > 0) return std::clamp<int64_t>(x, 0, len);
    return std::clamp<int64_t>(x, -1, len - 1);
  };
  const int64_t b = clamp(opt(start), step > 0 ? 0 : len - 1);
  const int64_t e = clamp(opt(stop), step > 0 ? len : -1);
  if (obj.is_string()) {
    if (step == 1) return Value::string(b < e ? obj.s->substr(off[b], off[e] - off[b]) : "");
    std::string s;
    for (int64_t k = b; step > 0 ? k < e : k > e; k += step) s.append(*obj.s, off[k], off[k + 1] - off[k]);
    return Value::string(std::move(s));
  }
  for (int64_t k = b; step > 0 ? k < e : k > e; k += step) items.push_back(obj.a->items[k]);
  return Value::array(std::move(items), obj.a->tuple);
}

}  // namespace llmkit::jinja

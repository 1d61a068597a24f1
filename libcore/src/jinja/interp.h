// One render: the scope chain, the limits' counters, statement execution and expression
// evaluation. Builtins (filters, tests, methods, globals) are in builtins.cpp.
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jinja/ast.h"
#include "jinja/value_ops.h"

namespace llmkit::jinja {

struct Scope {
  std::vector<std::pair<std::string, Value>> vars;
  std::shared_ptr<Scope> parent;
  const Value* find(const std::string& name) const;
  void set(const std::string& name, Value v);
};
using ScopePtr = std::shared_ptr<Scope>;

using Args = std::vector<Value>;
using Kwargs = std::vector<std::pair<std::string, Value>>;

class Interp {
 public:
  Interp(const RenderOptions& options, ScopePtr globals);
  ~Interp();  // breaks the reference cycles a render can make (see keep_alive)
  Interp(const Interp&) = delete;
  Interp& operator=(const Interp&) = delete;
  void run(const std::vector<NodePtr>& body, std::string& out);

  // Used by callables and builtins.
  enum class Flow { Normal, Break, Continue };
  Flow exec_block(const std::vector<NodePtr>& body, const ScopePtr& scope, std::string& out);
  Value call(const Value& fn, Args& args, Kwargs& kwargs);
  Value eval_default(const Node& n, const ScopePtr& scope);  // a macro parameter's default
  void step();                         // counts work; enforces the step and time limits
  void charge(size_t units);           // work proportional to a size (a loop's items)
  void check_size(size_t bytes) const;  // a string this long would pass the output limit
  struct DepthGuard {
    Interp& in;
    explicit DepthGuard(Interp& i);
    ~DepthGuard() { --in.depth_; }
  };
  const RenderOptions& options() const { return opt_; }

  // Builtins (builtins.cpp).
  Value filter(const std::string& name, const Value& v, Args& args, Kwargs& kwargs);
  bool test(const std::string& name, const Value& v, Args& args);
  Value getattr(const Value& obj, const std::string& name);
  Value getitem(const Value& obj, const Value& key);
  static ScopePtr global_scope(const Value& context);
  // A macro's scope holds the macro, which holds the scope; a namespace can hold itself. Such
  // values are registered here and emptied when the render ends, so nothing leaks.
  void keep_alive(ScopePtr closure) { closures_.push_back(std::move(closure)); }
  void keep_alive(std::shared_ptr<Object> ns) { namespaces_.push_back(std::move(ns)); }

 private:
  Flow exec(const Node& n, const ScopePtr& scope, std::string& out);
  Flow exec_for(const Node& n, const ScopePtr& scope, std::string& out);
  void assign(const Node& target, const Value& v, const ScopePtr& scope);
  Value eval(const Node& n, const ScopePtr& scope);
  Value eval_inner(const Node& n, const ScopePtr& scope);
  Value eval_filter(const Node& n, const ScopePtr& scope, const Value* input);
  Value binary(const std::string& op, const Value& a, const Value& b);
  // A macro (or a call block's caller) closing over `scope`.
  Value macro(const std::string& name, const Node& n, const ScopePtr& scope);
  Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

  RenderOptions opt_;
  ScopePtr globals_;
  uint64_t steps_ = 0;
  int depth_ = 0;
  std::chrono::steady_clock::time_point deadline_;
  std::vector<ScopePtr> closures_;
  std::vector<std::shared_ptr<Object>> namespaces_;
};

std::vector<Value> iterate(const Value& v);  // for-loop items: list, dict keys, string chars, Undefined empty

}  // namespace llmkit::jinja

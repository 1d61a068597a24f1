// The parsed template: one node type for expressions and statements, fields used per kind.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jinja/lexer.h"
#include "llmkit/jinja.h"

namespace llmkit::jinja {

enum class N {
  // expressions
  Const,     // value
  Name,      // name
  List,      // items
  Tuple,     // items
  Dict,      // items: key, value, key, value, ...
  GetAttr,   // a.name
  GetItem,   // a[b]
  Slice,     // a[items[0]:items[1]:items[2]], null parts omitted
  Call,      // a(items, kwargs)
  Filter,    // a|name(items, kwargs); a null in filter blocks and `set x | f` blocks
  Test,      // a is [not] name(items)   (flag: not)
  Unary,     // name ("-", "+", "not") a
  Binary,    // a name b: + - * / // % ** ~ and or
  Compare,   // a ops[0] items[0] ops[1] items[1] ...: == != < <= > >= in notin
  CondExpr,  // a if b else c (c null: undefined)
  // statements
  Output,    // name: literal text
  Print,     // {{ a }}
  If,        // if a: body else else_body (elif nests)
  For,       // for a in b [if c]: body else else_body; flag: recursive
  Set,       // set a = b  (a: Name, Tuple of Names, or GetAttr of a namespace)
  SetBlock,  // set a: body, through the Filter chain c (may be null)
  Macro,     // macro name(params): body
  CallBlock, // call(params) a: body  (a: a Call of a macro)
  FilterBlock,  // filter c: body
  Break,
  Continue,
  Scope,     // with/generation: body in a new scope after the Set nodes of items
};

struct Node;
using NodePtr = std::shared_ptr<const Node>;

struct Node {
  N kind;
  int line = 0, column = 0;
  std::string name;
  Value value;
  NodePtr a, b, c;
  std::vector<NodePtr> items;
  std::vector<std::pair<std::string, NodePtr>> kwargs;
  std::vector<std::pair<std::string, NodePtr>> params;  // macro parameters with defaults (null: none)
  std::vector<std::string> ops;
  std::vector<NodePtr> body, else_body;
  bool flag = false;
};

// Throws JinjaError("template_syntax"). max_depth bounds nesting (blocks and expressions).
std::vector<NodePtr> parse(const std::vector<Token>& tokens, int max_depth);

}  // namespace llmkit::jinja

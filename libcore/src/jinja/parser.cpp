// Recursive descent over the tokens, with jinja2's grammar and operator precedence (lowest
// first): inline if, or, and, not, comparisons and `in`, + -, ~, * / // %, **, unary - +, then
// postfix subscripts, calls, filters and tests.
#include <cstdlib>
#include <initializer_list>

#include "jinja/ast.h"

namespace llmkit::jinja {
namespace {

class Parser {
 public:
  Parser(const std::vector<Token>& t, int max_depth) : t_(t), max_depth_(max_depth) {}

  std::vector<NodePtr> run() {
    std::vector<NodePtr> body = statements({});
    if (cur().type != Tok::Eof) fail("unexpected tag");
    return body;
  }

 private:
  using Ptr = std::shared_ptr<Node>;

  const Token& cur() const { return t_[i_]; }
  const Token& peek(size_t k = 1) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  bool is_op(const char* op) const { return cur().type == Tok::Op && cur().text == op; }
  bool is_name(const char* n) const { return cur().type == Tok::Name && cur().text == n; }
  [[noreturn]] void fail(const std::string& what) const {
    std::string got;
    switch (cur().type) {
      case Tok::Eof: got = "the end of the template"; break;
      case Tok::BlockEnd: got = "the end of the tag (%})"; break;
      case Tok::VarEnd: got = "the end of the print tag (}})"; break;
      case Tok::Data: got = "text"; break;
      case Tok::String: got = "a string"; break;
      default: got = "'" + cur().text + "'";
    }
    throw JinjaError("template_syntax", what + " (found " + got + ")", cur().line, cur().column);
  }
  void expect_op(const char* op) {
    if (!is_op(op)) fail(std::string("expected '") + op + "'");
    ++i_;
  }
  std::string expect_name() {
    if (cur().type != Tok::Name) fail("expected a name");
    return t_[i_++].text;
  }
  void expect_block_end() {
    if (cur().type != Tok::BlockEnd) fail("expected the end of the tag");
    ++i_;
  }
  Ptr node(N kind, const Token& at) const {
    auto n = std::make_shared<Node>();
    n->kind = kind;
    n->line = at.line;
    n->column = at.column;
    return n;
  }

  struct Depth {
    Parser& p;
    explicit Depth(Parser& parser) : p(parser) {
      if (++p.depth_ > p.max_depth_) p.fail("the template nests deeper than " + std::to_string(p.max_depth_) + " levels");
    }
    ~Depth() { --p.depth_; }
  };

  // Statements until a block tag whose name is in `ends` (left unconsumed: the caller reads it).
  std::vector<NodePtr> statements(std::initializer_list<const char*> ends) {
    Depth d(*this);
    std::vector<NodePtr> out;
    while (true) {
      const Token& t = cur();
      if (t.type == Tok::Eof) {
        if (ends.size() == 0) return out;
        std::string want;
        for (const char* e : ends) want += (want.empty() ? "" : " or ") + std::string(e);
        fail("a block is not closed: expected " + want);
      }
      if (t.type == Tok::Data) {
        Ptr n = node(N::Output, t);
        n->name = t.text;
        out.push_back(n);
        ++i_;
      } else if (t.type == Tok::VarBegin) {
        ++i_;
        Ptr n = node(N::Print, t);
        n->a = tuple(true);
        if (cur().type != Tok::VarEnd) fail("expected the end of the print tag");
        ++i_;
        out.push_back(n);
      } else if (t.type == Tok::BlockBegin) {
        const Token& name = peek();
        if (name.type == Tok::Name)
          for (const char* e : ends)
            if (name.text == e) {
              last_end_ = name.text;
              i_ += 2;
              return out;
            }
        ++i_;
        out.push_back(statement());
      } else {
        fail("unexpected token");
      }
    }
  }

  NodePtr statement() {
    const Token& t = cur();
    if (t.type != Tok::Name) fail("expected a tag name");
    const std::string& tag = t.text;
    if (tag == "if") return if_stmt();
    if (tag == "for") return for_stmt();
    if (tag == "set") return set_stmt();
    if (tag == "macro") return macro_stmt();
    if (tag == "call") return call_stmt();
    if (tag == "filter") return filter_stmt();
    if (tag == "with") return with_stmt();
    if (tag == "generation") {
      ++i_;
      expect_block_end();
      Ptr n = node(N::Scope, t);
      n->body = statements({"endgeneration"});
      expect_block_end();
      return n;
    }
    if (tag == "break" || tag == "continue") {
      if (loop_depth_ == 0) fail("'" + tag + "' outside a loop");
      ++i_;
      expect_block_end();
      return node(tag == "break" ? N::Break : N::Continue, t);
    }
    if (tag == "include" || tag == "import" || tag == "from" || tag == "extends" || tag == "block")
      fail("'" + tag + "' is not supported: a chat template cannot read other templates");
    fail("unknown tag '" + tag + "'");
  }

  NodePtr if_stmt() {
    Ptr n = node(N::If, cur());
    ++i_;
    n->a = tuple(false);
    expect_block_end();
    n->body = statements({"elif", "else", "endif"});
    if (last_end_ == "elif") {
      --i_;  // the elif reads as an if that owns the rest of the chain, endif included
      n->else_body.push_back(if_stmt());
      return n;
    }
    if (last_end_ == "else") {
      expect_block_end();
      n->else_body = statements({"endif"});
    }
    expect_block_end();
    return n;
  }

  NodePtr for_stmt() {
    Ptr n = node(N::For, cur());
    ++i_;
    n->a = assign_target(true);
    if (!is_name("in")) fail("expected 'in'");
    ++i_;
    n->b = tuple(false, "recursive");
    if (is_name("if")) {
      ++i_;
      n->c = expression(true);
    }
    if (is_name("recursive")) {
      ++i_;
      n->flag = true;
    }
    expect_block_end();
    ++loop_depth_;
    n->body = statements({"endfor", "else"});
    --loop_depth_;
    if (last_end_ == "else") {
      expect_block_end();
      n->else_body = statements({"endfor"});
    }
    expect_block_end();
    return n;
  }

  // A name, ns.attr (set only), or names separated by commas, optionally in parentheses.
  NodePtr assign_target(bool for_loop) {
    const Token& at = cur();
    auto one = [&]() -> NodePtr {
      const Token& nt = cur();
      Ptr n = node(N::Name, nt);
      n->name = expect_name();
      if (!for_loop && is_op(".")) {
        ++i_;
        Ptr g = node(N::GetAttr, nt);
        g->a = n;
        g->name = expect_name();
        return g;
      }
      return n;
    };
    if (is_op("(")) {
      ++i_;
      Ptr t = node(N::Tuple, at);
      while (!is_op(")")) {
        t->items.push_back(one());
        if (!is_op(",")) break;
        ++i_;
      }
      expect_op(")");
      return t;
    }
    NodePtr first = one();
    if (!is_op(",")) return first;
    Ptr t = node(N::Tuple, at);
    t->items.push_back(first);
    while (is_op(",")) {
      ++i_;
      if (cur().type != Tok::Name) break;
      t->items.push_back(one());
    }
    return t;
  }

  NodePtr set_stmt() {
    const Token& at = cur();
    ++i_;
    NodePtr target = assign_target(false);
    if (is_op("=")) {
      ++i_;
      Ptr n = node(N::Set, at);
      n->a = target;
      n->b = tuple(true);
      expect_block_end();
      return n;
    }
    if (target->kind != N::Name) fail("a block set assigns one name");
    Ptr n = node(N::SetBlock, at);
    n->a = target;
    if (is_op("|")) n->c = filter_chain(nullptr);
    expect_block_end();
    n->body = statements({"endset"});
    expect_block_end();
    return n;
  }

  void macro_params(Node& n) {
    expect_op("(");
    while (!is_op(")")) {
      std::string name = expect_name();
      NodePtr def;
      if (is_op("=")) {
        ++i_;
        def = expression(true);
      }
      n.params.emplace_back(std::move(name), def);
      if (!is_op(",")) break;
      ++i_;
    }
    expect_op(")");
  }

  NodePtr macro_stmt() {
    Ptr n = node(N::Macro, cur());
    ++i_;
    n->name = expect_name();
    macro_params(*n);
    expect_block_end();
    const int saved = loop_depth_;
    loop_depth_ = 0;
    n->body = statements({"endmacro"});
    loop_depth_ = saved;
    if (cur().type == Tok::Name) ++i_;  // endmacro may repeat the macro's name
    expect_block_end();
    return n;
  }

  NodePtr call_stmt() {
    Ptr n = node(N::CallBlock, cur());
    ++i_;
    if (is_op("(")) macro_params(*n);
    n->a = expression(true);
    if (n->a->kind != N::Call) fail("{% call %} needs a macro call");
    expect_block_end();
    const int saved = loop_depth_;
    loop_depth_ = 0;
    n->body = statements({"endcall"});
    loop_depth_ = saved;
    expect_block_end();
    return n;
  }

  NodePtr filter_stmt() {
    Ptr n = node(N::FilterBlock, cur());
    ++i_;
    n->c = filter_chain(nullptr, true);
    expect_block_end();
    n->body = statements({"endfilter"});
    expect_block_end();
    return n;
  }

  NodePtr with_stmt() {
    Ptr n = node(N::Scope, cur());
    ++i_;
    while (cur().type != Tok::BlockEnd) {
      if (!n->items.empty()) expect_op(",");
      Ptr s = node(N::Set, cur());
      s->a = assign_target(true);
      expect_op("=");
      s->b = expression(true);
      n->items.push_back(s);
    }
    expect_block_end();
    n->body = statements({"endwith"});
    expect_block_end();
    return n;
  }

  // ---- expressions ----

  // An expression, or a tuple when commas follow (`set a = 1, 2`, `{{ a, b }}`).
  NodePtr tuple(bool condexpr, const char* extra_end = nullptr) {
    const Token& at = cur();
    NodePtr first = expression(condexpr);
    if (!is_op(",")) return first;
    Ptr t = node(N::Tuple, at);
    t->items.push_back(first);
    while (is_op(",")) {
      ++i_;
      if (cur().type == Tok::BlockEnd || cur().type == Tok::VarEnd || is_op(")") ||
          (extra_end && is_name(extra_end)) || is_name("if"))
        break;
      t->items.push_back(expression(condexpr));
    }
    return t;
  }

  NodePtr expression(bool condexpr) {
    Depth d(*this);
    return condexpr ? cond_expr() : or_expr();
  }

  NodePtr cond_expr() {
    NodePtr e = or_expr();
    while (is_name("if")) {
      const Token& at = cur();
      ++i_;
      Ptr n = node(N::CondExpr, at);
      n->b = or_expr();
      n->a = e;
      if (is_name("else")) {
        ++i_;
        n->c = cond_expr();
      }
      e = n;
    }
    return e;
  }

  NodePtr binary(N kind, const std::string& op, NodePtr l, NodePtr r, const Token& at) const {
    Ptr n = node(kind, at);
    n->name = op;
    n->a = std::move(l);
    n->b = std::move(r);
    return n;
  }

  NodePtr or_expr() {
    NodePtr l = and_expr();
    while (is_name("or")) {
      const Token& at = cur();
      ++i_;
      l = binary(N::Binary, "or", l, and_expr(), at);
    }
    return l;
  }

  NodePtr and_expr() {
    NodePtr l = not_expr();
    while (is_name("and")) {
      const Token& at = cur();
      ++i_;
      l = binary(N::Binary, "and", l, not_expr(), at);
    }
    return l;
  }

  NodePtr not_expr() {
    if (is_name("not")) {
      Depth d(*this);
      Ptr n = node(N::Unary, cur());
      ++i_;
      n->name = "not";
      n->a = not_expr();
      return n;
    }
    return compare();
  }

  NodePtr compare() {
    const Token& at = cur();
    NodePtr first = math1();
    Ptr n;
    while (true) {
      std::string op;
      if (cur().type == Tok::Op &&
          (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == "<=" || cur().text == ">" ||
           cur().text == ">=")) {
        op = cur().text;
        ++i_;
      } else if (is_name("in")) {
        op = "in";
        ++i_;
      } else if (is_name("not") && peek().type == Tok::Name && peek().text == "in") {
        op = "notin";
        i_ += 2;
      } else {
        break;
      }
      if (!n) {
        n = node(N::Compare, at);
        n->a = first;
      }
      n->ops.push_back(op);
      n->items.push_back(math1());
    }
    return n ? NodePtr(n) : first;
  }

  NodePtr math1() {
    NodePtr l = concat();
    while (is_op("+") || is_op("-")) {
      const Token& at = cur();
      const std::string op = cur().text;
      ++i_;
      l = binary(N::Binary, op, l, concat(), at);
    }
    return l;
  }

  NodePtr concat() {
    NodePtr l = math2();
    while (is_op("~")) {
      const Token& at = cur();
      ++i_;
      l = binary(N::Binary, "~", l, math2(), at);
    }
    return l;
  }

  NodePtr math2() {
    NodePtr l = power();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& at = cur();
      const std::string op = cur().text;
      ++i_;
      l = binary(N::Binary, op, l, power(), at);
    }
    return l;
  }

  NodePtr power() {
    NodePtr l = unary(true);
    while (is_op("**")) {
      const Token& at = cur();
      ++i_;
      l = binary(N::Binary, "**", l, unary(true), at);
    }
    return l;
  }

  NodePtr unary(bool with_filter) {
    Depth d(*this);
    NodePtr n;
    if (is_op("-") || is_op("+")) {
      Ptr u = node(N::Unary, cur());
      u->name = cur().text;
      ++i_;
      u->a = unary(false);
      n = u;
    } else {
      n = primary();
    }
    n = postfix(n);
    if (with_filter) n = filter_expr(n);
    return n;
  }

  NodePtr constant(const Token& at, Value v) const {
    Ptr n = node(N::Const, at);
    n->value = std::move(v);
    return n;
  }

  NodePtr primary() {
    const Token& t = cur();
    switch (t.type) {
      case Tok::Name: {
        ++i_;
        if (t.text == "true" || t.text == "True") return constant(t, Value::boolean(true));
        if (t.text == "false" || t.text == "False") return constant(t, Value::boolean(false));
        if (t.text == "none" || t.text == "None") return constant(t, Value::none());
        Ptr n = node(N::Name, t);
        n->name = t.text;
        return n;
      }
      case Tok::String: {
        std::string s;
        while (cur().type == Tok::String) s += t_[i_++].text;  // adjacent literals join
        return constant(t, Value::string(std::move(s)));
      }
      case Tok::Int: {
        ++i_;
        errno = 0;
        const long long v = std::strtoll(t.text.c_str(), nullptr, 10);
        if (errno == ERANGE) fail("an integer literal is too large");
        return constant(t, Value::integer(v));
      }
      case Tok::Float:
        ++i_;
        return constant(t, Value::number(std::strtod(t.text.c_str(), nullptr)));
      case Tok::Op:
        if (t.text == "(") {
          ++i_;
          if (is_op(")")) {
            ++i_;
            Ptr e = node(N::Tuple, t);
            return e;
          }
          NodePtr first = expression(true);
          if (is_op(")")) {
            ++i_;
            return first;
          }
          Ptr tup = node(N::Tuple, t);
          tup->items.push_back(first);
          while (is_op(",")) {
            ++i_;
            if (is_op(")")) break;
            tup->items.push_back(expression(true));
          }
          expect_op(")");
          return tup;
        }
        if (t.text == "[") {
          ++i_;
          Ptr l = node(N::List, t);
          while (!is_op("]")) {
            l->items.push_back(expression(true));
            if (!is_op(",")) break;
            ++i_;
          }
          expect_op("]");
          return l;
        }
        if (t.text == "{") {
          ++i_;
          Ptr d = node(N::Dict, t);
          while (!is_op("}")) {
            d->items.push_back(expression(true));
            expect_op(":");
            d->items.push_back(expression(true));
            if (!is_op(",")) break;
            ++i_;
          }
          expect_op("}");
          return d;
        }
        break;
      default:
        break;
    }
    fail("expected an expression");
  }

  NodePtr postfix(NodePtr n) {
    while (true) {
      if (is_op(".")) {
        const Token& at = cur();
        ++i_;
        if (cur().type == Tok::Int) {
          Ptr g = node(N::GetItem, at);
          g->a = n;
          g->b = constant(cur(), Value::integer(std::strtoll(cur().text.c_str(), nullptr, 10)));
          ++i_;
          n = g;
        } else {
          Ptr g = node(N::GetAttr, at);
          g->a = n;
          g->name = expect_name();
          n = g;
        }
      } else if (is_op("[")) {
        n = subscript(n);
      } else if (is_op("(")) {
        n = call(n);
      } else {
        return n;
      }
    }
  }

  NodePtr subscript(NodePtr obj) {
    const Token& at = cur();
    ++i_;
    auto part = [&]() -> NodePtr { return is_op(":") || is_op("]") ? nullptr : expression(true); };
    NodePtr start = part();
    if (!is_op(":")) {
      if (!start) fail("expected an index");
      NodePtr idx = start;
      if (is_op(",")) {  // x[a, b]: a tuple key
        Ptr t = node(N::Tuple, at);
        t->items.push_back(start);
        while (is_op(",")) {
          ++i_;
          if (is_op("]")) break;
          t->items.push_back(expression(true));
        }
        idx = t;
      }
      expect_op("]");
      Ptr g = node(N::GetItem, at);
      g->a = obj;
      g->b = idx;
      return g;
    }
    ++i_;
    Ptr s = node(N::Slice, at);
    s->a = obj;
    s->items = {start, part(), nullptr};
    if (is_op(":")) {
      ++i_;
      s->items[2] = part();
    }
    expect_op("]");
    return s;
  }

  void call_args(Node& n) {
    expect_op("(");
    while (!is_op(")")) {
      if (is_op("*") || is_op("**")) fail("*args and **kwargs are not supported");
      if (cur().type == Tok::Name && peek().type == Tok::Op && peek().text == "=") {
        std::string key = cur().text;
        i_ += 2;
        n.kwargs.emplace_back(std::move(key), expression(true));
      } else {
        if (!n.kwargs.empty()) fail("a positional argument follows a keyword argument");
        n.items.push_back(expression(true));
      }
      if (!is_op(",")) break;
      ++i_;
    }
    expect_op(")");
  }

  NodePtr call(NodePtr callee) {
    Ptr n = node(N::Call, cur());
    n->a = std::move(callee);
    call_args(*n);
    return n;
  }

  NodePtr filter_chain(NodePtr operand, bool first_without_bar = false) {
    bool first = true;
    while ((first && first_without_bar) || is_op("|")) {
      if (!(first && first_without_bar)) ++i_;
      first = false;
      Ptr f = node(N::Filter, cur());
      f->name = expect_name();
      while (is_op(".")) {  // dotted filter names
        ++i_;
        f->name += "." + expect_name();
      }
      f->a = operand;
      if (is_op("(")) call_args(*f);
      operand = f;
    }
    return operand;
  }

  NodePtr filter_expr(NodePtr n) {
    while (true) {
      if (is_op("|")) {
        n = filter_chain(n);
      } else if (is_name("is")) {
        Ptr t = node(N::Test, cur());
        ++i_;
        if (is_name("not")) {
          ++i_;
          t->flag = true;
        }
        t->name = expect_name();
        while (is_op(".")) {
          ++i_;
          t->name += "." + expect_name();
        }
        t->a = n;
        if (is_op("(")) {
          call_args(*t);
        } else if ((cur().type == Tok::Name || cur().type == Tok::String || cur().type == Tok::Int ||
                    cur().type == Tok::Float || is_op("[") || is_op("{")) &&
                   !is_name("else") && !is_name("or") && !is_name("and")) {
          if (is_name("is")) fail("tests cannot be chained with 'is'");
          t->items.push_back(postfix(primary()));
        }
        n = t;
      } else if (is_op("(")) {
        n = call(n);
      } else {
        return n;
      }
    }
  }

  const std::vector<Token>& t_;
  size_t i_ = 0;
  int depth_ = 0, max_depth_;
  int loop_depth_ = 0;
  std::string last_end_;  // the end tag that closed the last statements() call
};

}  // namespace

std::vector<NodePtr> parse(const std::vector<Token>& tokens, int max_depth) { return Parser(tokens, max_depth).run(); }

}  // namespace llmkit::jinja

// Template source to tokens, with jinja2's whitespace rules as transformers configures them:
// trim_blocks (a block or comment tag eats the newline after it), lstrip_blocks (spaces and tabs
// before a block or comment tag on its own line go), `-` and `+` on tags, newlines normalised to
// \n and one trailing newline of the source dropped (keep_trailing_newline off).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace llmkit::jinja {

enum class Tok { Data, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, Eof };

struct Token {
  Tok type;
  std::string text;  // Data: the text; String: the decoded value; Name/Op/Int/Float: as written
  int line, column;
};

// Throws JinjaError("template_syntax").
std::vector<Token> tokenize(std::string_view source);

}  // namespace llmkit::jinja

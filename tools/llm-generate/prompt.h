// Turning one input (a -p string or a JSON-lines record) into a generation request: the prompt
// text (raw, from --template, or chat messages rendered by the chat template), its tokens, and
// the sampling settings with the record's own overrides.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "llmkit/chat_template.h"
#include "llmkit/generate.h"
#include "llmkit/jsonl.h"
#include "llmkit/tokenizer.h"

// The grammars records ask for ("grammar": GBNF, "json_schema": a schema), each parsed once and
// its masks kept for the records that repeat it; the vocabulary's trie is built at first use.
class GrammarCache {
 public:
  explicit GrammarCache(const llmkit::Tokenizer& tok) : tok_(&tok) {}
  // Throws Error("bad_grammar" | "bad_schema").
  std::shared_ptr<llmkit::GrammarConstraint> get(bool schema, const std::string& text);
  std::shared_ptr<llmkit::GrammarConstraint> add(llmkit::Grammar g);

 private:
  const llmkit::Tokenizer* tok_;
  std::shared_ptr<const llmkit::TokenTrie> trie_;
  std::map<std::string, std::shared_ptr<llmkit::GrammarConstraint>> by_text_;
};

struct PromptSettings {
  std::string template_text;             // --template, with {field} placeholders ("" = none)
  bool chat = false;                     // wrap plain prompts as a user message
  std::string system;                    // --system
  std::shared_ptr<const llmkit::ChatTemplate> chat_template;  // null: chat_template_error says why
  std::string chat_template_error;   // e.g. the model's template does not parse
  std::string chat_template_hash;    // xxh3 of the template's source (a run's identity, for --resume)
  llmkit::jinja::Value chat_vars = llmkit::jinja::Value::none();  // --chat-template-kwargs: further template variables (None: none)
  std::string fallback_warning;      // printed once, at the first chat render (the model has no template)
  mutable bool fallback_warned = false;
  int64_t n_ctx = 0;
  bool truncate = false;
  llmkit::GenerationRequest defaults;  // max_tokens, sampling, stop, grammar from the flags
  bool json_output = false;            // the flags' grammar came from a JSON schema
  std::shared_ptr<GrammarCache> grammars;  // for records with their own grammar or schema
};

struct PreparedPrompt {
  std::string text;  // the prompt as rendered (empty for token-id input)
  llmkit::GenerationRequest request;
  int64_t dropped = 0;  // tokens cut from the left by --truncate
  bool json_output = false;  // constrained by a JSON schema: the output is parsed into "output_json"
};

// C-style escapes as llama.cpp reads -p: \n \t \r \\ \" \' (anything else is kept as written).
std::string unescape(const std::string& s);

// "{name}" -> the record's field (strings as their text, other values as JSON); "{{" and "}}" are
// literal braces. Throws Error("missing_field" | "bad_template").
std::string fill_template(const std::string& tmpl, const llmkit::JsonObject& rec);

// Throws llmkit::Error with a code for the error record: missing_field, bad_record,
// bad_messages, chat_template, prompt_too_long, empty_prompt.
PreparedPrompt prepare_record(const llmkit::JsonObject& rec, const PromptSettings& s, const llmkit::Tokenizer& tok);
PreparedPrompt prepare_text(const std::string& text, const PromptSettings& s, const llmkit::Tokenizer& tok);

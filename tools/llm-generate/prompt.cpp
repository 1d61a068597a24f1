#include "prompt.h"

#include <algorithm>
#include <cstdio>

#include "llmkit/error.h"

using llmkit::Error;

std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    switch (s[++i]) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case '\\': out += '\\'; break;
      case '"': out += '"'; break;
      case '\'': out += '\''; break;
      default: out += '\\', out += s[i];
    }
  }
  return out;
}

std::string fill_template(const std::string& t, const llmkit::JsonObject& rec) {
  std::string out;
  for (size_t i = 0; i < t.size(); ++i) {
    if ((t[i] == '{' || t[i] == '}') && i + 1 < t.size() && t[i + 1] == t[i]) {
      out += t[i++];
      continue;
    }
    if (t[i] != '{') {
      out += t[i];
      continue;
    }
    const size_t end = t.find('}', i);
    if (end == std::string::npos) throw Error("bad_template", "--template has a '{' without its '}'");
    const std::string name = t.substr(i + 1, end - i - 1);
    if (auto str = rec.get_string(name)) out += *str;
    else if (const std::string* raw = rec.raw(name)) out += *raw;
    else throw Error("missing_field", "record has no \"" + name + "\" field for --template");
    i = end;
  }
  return out;
}

namespace {

using llmkit::jinja::Value;

Value message(const char* role, const std::string& content) {
  return Value::object({{"role", Value::string(role)}, {"content", Value::string(content)}});
}

// --system goes first unless the messages bring their own.
Value with_system(const Value& msgs, const std::string& system) {
  if (system.empty() || msgs.kind != Value::Kind::Array) return msgs;
  for (const Value& m : msgs.a->items)
    if (m.kind == Value::Kind::Object)
      if (const Value* role = m.o->find("role"); role && role->is_string() && role->str() == "system") return msgs;
  std::vector<Value> items{message("system", system)};
  items.insert(items.end(), msgs.a->items.begin(), msgs.a->items.end());
  return Value::array(std::move(items));
}

// The record's "chat_template_kwargs" over --chat-template-kwargs, key by key.
Value chat_vars(const llmkit::JsonObject* rec, const PromptSettings& s) {
  const std::string* raw = rec ? rec->raw("chat_template_kwargs") : nullptr;
  if (!raw) return s.chat_vars;
  Value own = llmkit::jinja::from_json(*raw);
  if (own.kind != Value::Kind::Object) throw Error("bad_record", "\"chat_template_kwargs\" must be an object");
  if (s.chat_vars.is_none()) return own;
  Value merged = Value::object({});
  for (const auto& [k, v] : s.chat_vars.o->items) merged.o->set(k, v);
  for (const auto& [k, v] : own.o->items) merged.o->set(k, v);
  return merged;
}

std::string render(const Value& msgs, const PromptSettings& s, const Value& tools = Value::none(),
                   const Value& vars = Value::none()) {
  if (!s.chat_template) throw Error("chat_template", s.chat_template_error);
  if (!s.fallback_warning.empty() && !s.fallback_warned) {
    std::fprintf(stderr, "llm-generate: warning: %s\n", s.fallback_warning.c_str());
    s.fallback_warned = true;
  }
  try {
    return s.chat_template->render(with_system(msgs, s.system), true, tools, vars.is_none() ? s.chat_vars : vars);
  } catch (const llmkit::jinja::JinjaError& e) {
    throw Error("chat_template", s.chat_template->origin() + ": " + e.what());
  }
}

// Applies the context limit: an error, or with --truncate the oldest tokens cut.
PreparedPrompt fit(llmkit::GenerationRequest req, const PromptSettings& s, const llmkit::Tokenizer& tok) {
  PreparedPrompt p;
  const int64_t n = static_cast<int64_t>(req.prompt.size());
  if (n > s.n_ctx) {
    if (!s.truncate)
      throw Error("prompt_too_long", "the prompt has " + std::to_string(n) + " tokens; the context holds " +
                                         std::to_string(s.n_ctx) + " (-c, or --truncate)");
    // Keep the newest text, and BOS when there is one; leave room for an answer.
    const int64_t room = req.max_tokens > 0 ? std::min(req.max_tokens, s.n_ctx / 2) : s.n_ctx / 4;
    const int64_t keep_bos = tok.vocab().bos >= 0 && req.prompt.front() == tok.vocab().bos ? 1 : 0;
    const int64_t keep = std::max<int64_t>(1, s.n_ctx - room) - keep_bos;
    p.dropped = n - keep_bos - keep;
    req.prompt.erase(req.prompt.begin() + keep_bos, req.prompt.begin() + keep_bos + p.dropped);
  }
  p.request = std::move(req);
  return p;
}

// A chat template that writes the BOS text itself ({{ bos_token }}) would double the BOS the
// tokenizer adds; the text's copy goes, as llama.cpp drops it.
PreparedPrompt tokenize(std::string text, bool rendered, llmkit::GenerationRequest req, const PromptSettings& s,
                        const llmkit::Tokenizer& tok) {
  std::string_view body = text;
  const std::string& bos = s.chat_template ? s.chat_template->bos_token() : std::string();
  if (rendered && tok.vocab().add_bos && !bos.empty() && body.substr(0, bos.size()) == bos) body.remove_prefix(bos.size());
  req.prompt = tok.encode(body, true, true);
  if (req.prompt.empty()) throw Error("empty_prompt", "the prompt is empty");
  PreparedPrompt p = fit(std::move(req), s, tok);
  p.text = std::move(text);
  return p;
}

}  // namespace

std::shared_ptr<llmkit::GrammarConstraint> GrammarCache::add(llmkit::Grammar g) {
  if (!trie_) trie_ = llmkit::grammar_trie(*tok_);
  return std::make_shared<llmkit::GrammarConstraint>(std::move(g), trie_);
}

std::shared_ptr<llmkit::GrammarConstraint> GrammarCache::get(bool schema, const std::string& text) {
  std::string key = (schema ? "j" : "g") + text;
  if (auto it = by_text_.find(key); it != by_text_.end()) return it->second;
  std::shared_ptr<llmkit::GrammarConstraint> c =
      add(llmkit::parse_gbnf(schema ? llmkit::json_schema_to_gbnf(text) : text));
  if (by_text_.size() >= 64) by_text_.clear();  // many distinct grammars: keep the newest
  by_text_.emplace(std::move(key), c);
  return c;
}

PreparedPrompt prepare_text(const std::string& text, const PromptSettings& s, const llmkit::Tokenizer& tok) {
  PreparedPrompt p = !s.chat ? tokenize(text, false, s.defaults, s, tok)
                             : tokenize(render(Value::array({message("user", text)}), s), true, s.defaults, s, tok);
  p.json_output = s.json_output;
  return p;
}

PreparedPrompt prepare_record(const llmkit::JsonObject& rec, const PromptSettings& s, const llmkit::Tokenizer& tok) {
  llmkit::GenerationRequest req = s.defaults;
  auto number = [&](const char* key) -> std::optional<double> {
    if (!rec.has(key)) return std::nullopt;
    auto v = rec.get_number(key);
    if (!v) throw Error("bad_record", std::string("\"") + key + "\" must be a number");
    return v;
  };
  if (auto v = number("max_tokens")) req.max_tokens = static_cast<int64_t>(*v);
  if (auto v = number("temperature")) req.sampling.temperature = static_cast<float>(*v);
  if (auto v = number("top_k")) req.sampling.top_k = static_cast<int32_t>(*v);
  if (auto v = number("top_p")) req.sampling.top_p = static_cast<float>(*v);
  if (auto v = number("min_p")) req.sampling.min_p = static_cast<float>(*v);
  if (auto v = number("repeat_penalty")) req.sampling.repeat_penalty = static_cast<float>(*v);
  if (rec.has("seed")) {
    auto v = rec.get_int("seed");
    if (!v || *v < 0) throw Error("bad_record", "\"seed\" must be a non-negative integer");
    req.sampling.seed = static_cast<uint64_t>(*v);
  }
  if (rec.has("stop")) {
    auto v = rec.get_string_array("stop");
    if (!v) throw Error("bad_record", "\"stop\" must be a string or an array of strings");
    req.stop = *v;
  }
  // A record's own grammar or JSON schema replaces the flags'.
  bool json_output = s.json_output;
  if (rec.has("grammar") && rec.has("json_schema"))
    throw Error("bad_record", "give \"grammar\" or \"json_schema\", not both");
  if (rec.has("grammar")) {
    auto g = rec.get_string("grammar");
    if (!g) throw Error("bad_record", "\"grammar\" must be a string holding a GBNF grammar");
    req.grammar = s.grammars->get(false, *g);
    json_output = false;
  } else if (const std::string* raw = rec.raw("json_schema")) {
    // A schema object, or a string holding one.
    req.grammar = s.grammars->get(true, rec.get_string("json_schema").value_or(*raw));
    json_output = true;
  }

  if (rec.has("tokens") && !rec.has("prompt") && !rec.has("messages") && s.template_text.empty()) {
    // Token ids as llm-tokenize writes them: the prompt exactly, no BOS added.
    auto ids = rec.get_int_array("tokens");
    if (!ids || ids->empty()) throw Error("bad_record", "\"tokens\" must be a non-empty array of token ids");
    for (int64_t id : *ids) {
      if (id < 0 || id >= static_cast<int64_t>(tok.vocab().size()))
        throw Error("bad_record", "token id " + std::to_string(id) + " is out of range");
      req.prompt.push_back(static_cast<int32_t>(id));
    }
    PreparedPrompt p = fit(std::move(req), s, tok);
    p.json_output = json_output;
    return p;
  }
  std::string prompt;
  bool rendered = false;
  if (const std::string* raw = rec.raw("messages")) {
    // Every field of every message reaches the template (tool_calls, reasoning_content, ...), and
    // the record's "tools" too.
    const std::string* tools = rec.raw("tools");
    prompt = render(llmkit::jinja::from_json(*raw), s, tools ? llmkit::jinja::from_json(*tools) : Value::none(),
                    chat_vars(&rec, s));
    rendered = true;
  } else {
    std::string text;
    if (!s.template_text.empty()) {
      text = fill_template(s.template_text, rec);
    } else if (auto p = rec.get_string("prompt")) {
      text = *p;
    } else {
      throw Error("missing_field", rec.has("prompt") ? "\"prompt\" must be a string"
                                                     : "record has no \"prompt\" or \"messages\" (or use --template)");
    }
    rendered = s.chat;
    prompt = s.chat ? render(Value::array({message("user", text)}), s, Value::none(), chat_vars(&rec, s)) : text;
  }
  PreparedPrompt p = tokenize(std::move(prompt), rendered, std::move(req), s, tok);
  p.json_output = json_output;
  return p;
}

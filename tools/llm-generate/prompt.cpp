#include "prompt.h"

#include <algorithm>

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

std::vector<llmkit::ChatMessage> with_system(std::vector<llmkit::ChatMessage> msgs, const std::string& system) {
  const bool has_system = std::any_of(msgs.begin(), msgs.end(), [](const auto& m) { return m.role == "system"; });
  if (!system.empty() && !has_system) msgs.insert(msgs.begin(), {"system", system});
  return msgs;
}

std::string render(const std::vector<llmkit::ChatMessage>& msgs, const PromptSettings& s) {
  if (!s.format)
    throw Error("no_chat_template", "the model has no chat template llmkit recognises; name one with --chat-template");
  return llmkit::render_chat(*s.format, with_system(msgs, s.system), true, s.chat_tokens);
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

PreparedPrompt tokenize(const std::string& text, llmkit::GenerationRequest req, const PromptSettings& s,
                        const llmkit::Tokenizer& tok) {
  req.prompt = tok.encode(text, true, true);
  if (req.prompt.empty()) throw Error("empty_prompt", "the prompt is empty");
  return fit(std::move(req), s, tok);
}

}  // namespace

PreparedPrompt prepare_text(const std::string& text, const PromptSettings& s, const llmkit::Tokenizer& tok) {
  const std::string prompt = s.chat ? render({{"user", text}}, s) : text;
  return tokenize(prompt, s.defaults, s, tok);
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

  if (rec.has("tokens") && !rec.has("prompt") && !rec.has("messages") && s.template_text.empty()) {
    // Token ids as llm-tokenize writes them: the prompt exactly, no BOS added.
    auto ids = rec.get_int_array("tokens");
    if (!ids || ids->empty()) throw Error("bad_record", "\"tokens\" must be a non-empty array of token ids");
    for (int64_t id : *ids) {
      if (id < 0 || id >= static_cast<int64_t>(tok.vocab().size()))
        throw Error("bad_record", "token id " + std::to_string(id) + " is out of range");
      req.prompt.push_back(static_cast<int32_t>(id));
    }
    return fit(std::move(req), s, tok);
  }
  std::string prompt;
  if (rec.has("messages")) {
    auto objs = rec.get_object_array("messages");
    if (!objs) throw Error("bad_messages", "\"messages\" must be an array of {\"role\", \"content\"} objects");
    std::vector<llmkit::ChatMessage> msgs;
    for (const llmkit::JsonObject& o : *objs) {
      auto role = o.get_string("role"), content = o.get_string("content");
      if (!role || !content) throw Error("bad_messages", "each message needs \"role\" and \"content\" strings");
      msgs.push_back({*role, *content});
    }
    prompt = render(msgs, s);
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
    prompt = s.chat ? render({{"user", text}}, s) : text;
  }
  return tokenize(prompt, std::move(req), s, tok);
}

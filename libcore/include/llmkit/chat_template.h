// Chat messages to a prompt in the format a model was trained on. The format is a Jinja template
// rendered by llmkit's Jinja interpreter (llmkit/jinja.h) exactly as Hugging Face transformers
// renders it: the model's own (tokenizer.chat_template), a file (--chat-template-file), or one of
// the named formats below, which are themselves small Jinja templates. A model without a template
// gets ChatML.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmkit/jinja.h"

namespace llmkit {

// "chatml", "llama3", "llama2" (also "mistral"), "phi3", "gemma", "zephyr".
std::vector<std::string> chat_format_names();
// The Jinja source of a named format; nullopt for an unknown name.
std::optional<std::string> chat_format_source(std::string_view name);

class ChatTemplate {
 public:
  // Throws jinja::JinjaError("template_syntax") with the line and column. `origin` names the
  // template in messages: "the model's template", a file name, a format name.
  ChatTemplate(std::string_view source, std::string origin, std::string bos_token, std::string eos_token);

  // `messages`: an array of {"role", "content", ...} objects (all fields reach the template);
  // `tools`: an array, or None; `extra`: an object of further variables (llama.cpp's
  // --chat-template-kwargs, such as Qwen3's enable_thinking), or None. Throws Error("bad_messages")
  // for messages that are not such an array, Error("bad_record") for extra variables that are not
  // an object or that name messages, tools, documents or add_generation_prompt, and
  // jinja::JinjaError ("template_error": the template raised, naming line and column;
  // "template_limit") otherwise.
  std::string render(const jinja::Value& messages, bool add_generation_prompt,
                     const jinja::Value& tools = jinja::Value::none(), const jinja::Value& extra = jinja::Value::none(),
                     const jinja::RenderOptions& options = {}) const;

  const std::string& origin() const { return origin_; }
  const std::string& bos_token() const { return bos_; }

 private:
  std::shared_ptr<const jinja::Template> tmpl_;
  std::string origin_, bos_, eos_;
};

}  // namespace llmkit

#include "llmkit/chat_template.h"

#include "llmkit/error.h"

namespace llmkit {
namespace {

// Unknown roles raise, as most models' own templates do.
#define LLMKIT_ROLES_CHECK                                                                        \
  "{%- if messages|length == 0 %}{{ raise_exception('\"messages\" is empty') }}{% endif %}"       \
  "{%- for m in messages %}{% if m.role not in ['system', 'user', 'assistant'] %}"                \
  "{{ raise_exception('unknown role \\'' ~ m.role ~ '\\' (system, user, assistant)') }}{% endif %}{% endfor %}"

struct NamedFormat {
  const char* name;
  const char* source;
};

const NamedFormat kFormats[] = {
    {"chatml", LLMKIT_ROLES_CHECK
     "{%- for m in messages %}{{ '<|im_start|>' ~ m.role ~ '\\n' ~ m.content ~ '<|im_end|>\\n' }}{% endfor %}"
     "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"},
    // BOS comes from the tokenizer, not from the text.
    {"llama3", LLMKIT_ROLES_CHECK
     "{%- for m in messages %}{{ '<|start_header_id|>' ~ m.role ~ '<|end_header_id|>\\n\\n' ~ m.content ~ '<|eot_id|>' }}{% endfor %}"
     "{%- if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"},
    // [INST] turns; the system prompt goes inside the next user turn between <<SYS>> markers. Each
    // answer ends with EOS and the next turn starts with BOS (the first BOS is the tokenizer's).
    {"llama2", LLMKIT_ROLES_CHECK
     "{%- set ns = namespace(system='', first=true) %}"
     "{%- for m in messages %}"
     "{%- if m.role == 'system' %}{% set ns.system = m.content %}"
     "{%- elif m.role == 'user' %}{% if not ns.first %}{{ bos_token }}{% endif %}{{ '[INST] ' }}"
     "{%- if ns.system %}{{ '<<SYS>>\\n' ~ ns.system ~ '\\n<</SYS>>\\n\\n' }}{% set ns.system = '' %}{% endif %}"
     "{{- m.content ~ ' [/INST]' }}{% set ns.first = false %}"
     "{%- else %}{{ ' ' ~ m.content ~ eos_token }}{% endif %}"
     "{%- endfor %}"},
    {"phi3", LLMKIT_ROLES_CHECK
     "{%- for m in messages %}{{ '<|' ~ m.role ~ '|>\\n' ~ m.content ~ '<|end|>\\n' }}{% endfor %}"
     "{%- if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"},
    // Gemma has no system role: the system text opens the next user turn.
    {"gemma", LLMKIT_ROLES_CHECK
     "{%- set ns = namespace(system='') %}"
     "{%- for m in messages %}"
     "{%- if m.role == 'system' %}{% set ns.system = m.content %}"
     "{%- else %}{% set content = m.content %}"
     "{%- if m.role == 'user' and ns.system %}{% set content = ns.system ~ '\\n\\n' ~ content %}{% set ns.system = '' %}{% endif %}"
     "{{- '<start_of_turn>' ~ ('model' if m.role == 'assistant' else m.role) ~ '\\n' ~ content ~ '<end_of_turn>\\n' }}"
     "{%- endif %}{% endfor %}"
     "{%- if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}"},
    {"zephyr", LLMKIT_ROLES_CHECK
     "{%- for m in messages %}{{ '<|' ~ m.role ~ '|>\\n' ~ m.content ~ eos_token ~ '\\n' }}{% endfor %}"
     "{%- if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"},
};

}  // namespace

std::vector<std::string> chat_format_names() {
  std::vector<std::string> out;
  for (const NamedFormat& f : kFormats) out.emplace_back(f.name);
  return out;
}

std::optional<std::string> chat_format_source(std::string_view name) {
  if (name == "mistral") name = "llama2";
  for (const NamedFormat& f : kFormats)
    if (name == f.name) return std::string(f.source);
  return std::nullopt;
}

ChatTemplate::ChatTemplate(std::string_view source, std::string origin, std::string bos_token, std::string eos_token)
    : tmpl_(std::make_shared<jinja::Template>(source)),
      origin_(std::move(origin)),
      bos_(std::move(bos_token)),
      eos_(std::move(eos_token)) {}

std::string ChatTemplate::render(const jinja::Value& messages, bool add_generation_prompt, const jinja::Value& tools,
                                 const jinja::Value& extra, const jinja::RenderOptions& options) const {
  if (messages.kind != jinja::Value::Kind::Array) throw Error("bad_messages", "\"messages\" must be an array");
  for (const jinja::Value& m : messages.a->items) {
    const jinja::Value* role = m.kind == jinja::Value::Kind::Object ? m.o->find("role") : nullptr;
    if (!role || !role->is_string()) throw Error("bad_messages", "each message needs a \"role\" string");
  }
  const bool has_extra = !extra.is_none() && !extra.is_undefined();
  if (has_extra && (extra.kind != jinja::Value::Kind::Object || extra.o->is_namespace))
    throw Error("bad_record", "chat template variables must be a JSON object");
  jinja::Value context = jinja::Value::object({{"messages", messages},
                                                     {"tools", tools},
                                                     {"documents", jinja::Value::none()},
                                                     {"add_generation_prompt", jinja::Value::boolean(add_generation_prompt)},
                                                     {"bos_token", jinja::Value::string(bos_)},
                                                     {"eos_token", jinja::Value::string(eos_)}});
  if (has_extra)
    for (const auto& [key, value] : extra.o->items) {
      const std::string name = key.is_string() ? key.str() : "";
      if (name == "messages" || name == "tools" || name == "documents" || name == "add_generation_prompt")
        throw Error("bad_record", "a chat template variable cannot be named \"" + name + "\"");
      context.o->set(key, value);
    }
  return tmpl_->render(context, options);
}

}  // namespace llmkit

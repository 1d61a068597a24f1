// Chat messages to a prompt in the format a model was trained on. The model's Jinja template
// (tokenizer.chat_template) is recognised by the markers it contains, as llama.cpp does, and the
// family is rendered natively: no Jinja interpreter.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmkit {

struct ChatMessage {
  std::string role;  // system, user, assistant
  std::string content;
};

enum class ChatFormat { ChatML, Llama3, Llama2, Phi3, Gemma, Zephyr };

// "chatml", "llama3", "llama2" (also "mistral"), "phi3", "gemma", "zephyr".
std::optional<ChatFormat> chat_format_from_name(std::string_view name);
const char* chat_format_name(ChatFormat f);
std::vector<std::string> chat_format_names();
// The family of a Jinja chat template; nullopt when none matches.
std::optional<ChatFormat> detect_chat_format(std::string_view jinja);

struct ChatTokens {
  std::string bos = "<s>", eos = "</s>";  // the model's own texts, for formats that spell them out
};

// The prompt for these messages, ending with the assistant's turn opened when
// add_generation_prompt. Throws Error("bad_messages") for an unknown role or an empty list.
std::string render_chat(ChatFormat f, const std::vector<ChatMessage>& messages, bool add_generation_prompt = true,
                        const ChatTokens& tokens = {});

}  // namespace llmkit

#include "llmkit/chat_template.h"

#include "llmkit/error.h"

namespace llmkit {
namespace {

struct FormatName {
  ChatFormat format;
  const char* name;
};
constexpr FormatName kNames[] = {{ChatFormat::ChatML, "chatml"}, {ChatFormat::Llama3, "llama3"},
                                 {ChatFormat::Llama2, "llama2"}, {ChatFormat::Phi3, "phi3"},
                                 {ChatFormat::Gemma, "gemma"},   {ChatFormat::Zephyr, "zephyr"}};

bool has(std::string_view s, std::string_view needle) { return s.find(needle) != std::string_view::npos; }

std::string chatml(const std::vector<ChatMessage>& msgs, bool gen) {
  std::string out;
  for (const ChatMessage& m : msgs) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  if (gen) out += "<|im_start|>assistant\n";
  return out;
}

// BOS comes from the tokenizer (add_bos), not from the text.
std::string llama3(const std::vector<ChatMessage>& msgs, bool gen) {
  std::string out;
  for (const ChatMessage& m : msgs)
    out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + m.content + "<|eot_id|>";
  if (gen) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

// [INST] turns; the system prompt goes inside the first one between <<SYS>> markers. Each
// answer ends with EOS and the next turn starts with BOS (the first BOS is the tokenizer's).
std::string llama2(const std::vector<ChatMessage>& msgs, const ChatTokens& tk) {
  std::string out, system;
  bool first_turn = true;
  for (const ChatMessage& m : msgs) {
    if (m.role == "system") {
      system = m.content;
    } else if (m.role == "user") {
      if (!first_turn) out += tk.bos;
      out += "[INST] ";
      if (!system.empty()) out += "<<SYS>>\n" + system + "\n<</SYS>>\n\n";
      system.clear();
      out += m.content + " [/INST]";
      first_turn = false;
    } else {
      out += " " + m.content + tk.eos;
    }
  }
  return out;
}

std::string phi3(const std::vector<ChatMessage>& msgs, bool gen) {
  std::string out;
  for (const ChatMessage& m : msgs) out += "<|" + m.role + "|>\n" + m.content + "<|end|>\n";
  if (gen) out += "<|assistant|>\n";
  return out;
}

// Gemma has no system role: the system text opens the first user turn.
std::string gemma(const std::vector<ChatMessage>& msgs, bool gen) {
  std::string out, system;
  for (const ChatMessage& m : msgs) {
    if (m.role == "system") {
      system = m.content;
      continue;
    }
    std::string content = m.content;
    if (m.role == "user" && !system.empty()) {
      content = system + "\n\n" + content;
      system.clear();
    }
    out += "<start_of_turn>" + std::string(m.role == "assistant" ? "model" : m.role) + "\n" + content + "<end_of_turn>\n";
  }
  if (gen) out += "<start_of_turn>model\n";
  return out;
}

std::string zephyr(const std::vector<ChatMessage>& msgs, bool gen, const ChatTokens& tk) {
  std::string out;
  for (const ChatMessage& m : msgs) out += "<|" + m.role + "|>\n" + m.content + tk.eos + "\n";
  if (gen) out += "<|assistant|>\n";
  return out;
}

}  // namespace

std::optional<ChatFormat> chat_format_from_name(std::string_view name) {
  if (name == "mistral") return ChatFormat::Llama2;
  for (const FormatName& f : kNames)
    if (name == f.name) return f.format;
  return std::nullopt;
}

const char* chat_format_name(ChatFormat f) {
  for (const FormatName& n : kNames)
    if (n.format == f) return n.name;
  return "?";
}

std::vector<std::string> chat_format_names() {
  std::vector<std::string> out;
  for (const FormatName& f : kNames) out.emplace_back(f.name);
  return out;
}

std::optional<ChatFormat> detect_chat_format(std::string_view t) {
  if (has(t, "<|im_start|>")) return ChatFormat::ChatML;
  if (has(t, "<|start_header_id|>") && has(t, "<|end_header_id|>")) return ChatFormat::Llama3;
  if (has(t, "<start_of_turn>")) return ChatFormat::Gemma;
  if (has(t, "<|assistant|>") && has(t, "<|end|>")) return ChatFormat::Phi3;
  if (has(t, "<|user|>")) return ChatFormat::Zephyr;
  if (has(t, "[INST]")) return ChatFormat::Llama2;
  return std::nullopt;
}

std::string render_chat(ChatFormat f, const std::vector<ChatMessage>& msgs, bool gen, const ChatTokens& tk) {
  if (msgs.empty()) throw Error("bad_messages", "\"messages\" is empty");
  for (const ChatMessage& m : msgs)
    if (m.role != "system" && m.role != "user" && m.role != "assistant")
      throw Error("bad_messages", "unknown role '" + m.role + "' (system, user, assistant)");
  switch (f) {
    case ChatFormat::ChatML: return chatml(msgs, gen);
    case ChatFormat::Llama3: return llama3(msgs, gen);
    case ChatFormat::Llama2: return llama2(msgs, tk);
    case ChatFormat::Phi3: return phi3(msgs, gen);
    case ChatFormat::Gemma: return gemma(msgs, gen);
    case ChatFormat::Zephyr: return zephyr(msgs, gen, tk);
  }
  return {};
}

}  // namespace llmkit

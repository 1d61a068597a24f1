// libFuzzer: any bytes as a chat template (they come inside downloaded model files), parsed and
// rendered against conversations of several shapes under tight limits. A crash, hang, leak or
// sanitizer report is a bug; a JinjaError (syntax, runtime, limit) is the expected outcome.
#include <cstddef>
#include <cstdint>
#include <string>

#include "llmkit/jinja.h"

namespace {

const llmkit::jinja::Value& contexts(int k) {
  static const llmkit::jinja::Value c[] = {
      llmkit::jinja::from_json(R"({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi \u00e9 \ud83e\udd99"},
        {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"a": [1, 2.5, null]}}}]},
        {"role": "tool", "content": "{\"x\": 1}"}], "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
        "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>"})"),
      llmkit::jinja::from_json(R"({"messages": [], "tools": null, "add_generation_prompt": false, "bos_token": "", "eos_token": ""})"),
  };
  return c[k];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  llmkit::jinja::Limits limits;
  limits.max_steps = 200000;
  limits.max_output = 1 << 20;
  limits.max_seconds = 2;
  llmkit::jinja::RenderOptions options;
  options.limits = limits;
  options.fixed_time = true;
  try {
    const llmkit::jinja::Template t(std::string_view(reinterpret_cast<const char*>(data), size), limits);
    for (int k = 0; k < 2; ++k) {
      try {
        (void)t.render(contexts(k), options);
      } catch (const llmkit::jinja::JinjaError&) {
      }
    }
  } catch (const llmkit::jinja::JinjaError&) {
  }
  return 0;
}

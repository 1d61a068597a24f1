// Chat formats, stop-string holding, batched decoding over several sequences, and KV cache types.
#include <catch2/catch.hpp>

#include <cmath>

#include "llmkit/chat_template.h"
#include "llmkit/error.h"
#include "llmkit/generate.h"
#include "llmkit/gguf.h"
#include "llmkit/model.h"
#include "support/fixture.h"

using namespace llmkit;

namespace {

// Renders a named format with the messages given as (role, content) pairs.
std::string render_named(const std::string& name, const std::vector<std::pair<std::string, std::string>>& msgs) {
  std::vector<jinja::Value> items;
  for (const auto& [role, content] : msgs)
    items.push_back(jinja::Value::object({{"role", jinja::Value::string(role)}, {"content", jinja::Value::string(content)}}));
  return ChatTemplate(*chat_format_source(name), name, "<s>", "</s>").render(jinja::Value::array(items), true);
}

}  // namespace

TEST_CASE("named chat formats render messages as each model family expects", "[chat]") {
  const std::vector<std::pair<std::string, std::string>> m = {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello!"}, {"user", "Bye"}};
  CHECK(render_named("chatml", m) ==
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
        "<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
  CHECK(render_named("llama3", m) ==
        "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi"
        "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>user"
        "<|end_header_id|>\n\nBye<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  CHECK(render_named("llama2", m) == "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello!</s><s>[INST] Bye [/INST]");
  CHECK(render_named("mistral", m) == render_named("llama2", m));
  CHECK(render_named("phi3", m) ==
        "<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n<|user|>\nBye<|end|>\n<|assistant|>\n");
  CHECK(render_named("gemma", m) ==
        "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
        "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n");
  CHECK(render_named("zephyr", m) ==
        "<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\nHello!</s>\n<|user|>\nBye</s>\n<|assistant|>\n");
  CHECK_THROWS_AS(render_named("chatml", {{"robot", "x"}}), jinja::JinjaError);
  CHECK_THROWS_AS(render_named("chatml", {}), jinja::JinjaError);
  CHECK_FALSE(chat_format_source("jinja").has_value());
  CHECK(chat_format_names().size() == 6);
  // Not an array of {"role": ...} objects: the caller's mistake, not the template's.
  const ChatTemplate t(*chat_format_source("chatml"), "chatml", "", "");
  CHECK_THROWS_WITH(t.render(jinja::from_json(R"([{"content": "x"}])"), true), Catch::Contains("role"));
  CHECK_THROWS_WITH(t.render(jinja::from_json(R"({"role": "user"})"), true), Catch::Contains("array"));
}

TEST_CASE("streamed text holds back a possible stop string and half a UTF-8 character", "[generate]") {
  CHECK(stable_prefix("Hello wor", {"world"}) == 6);
  CHECK(stable_prefix("Hello", {"world"}) == 5);
  CHECK(stable_prefix("Hello w", {"xyz", "wx"}) == 6);
  CHECK(stable_prefix("caf\xc3", {}) == 3);          // é cut after its first byte
  CHECK(stable_prefix("caf\xc3\xa9", {}) == 5);      // complete
  CHECK(stable_prefix("\xe2\x82", {}) == 0);         // € missing its last byte
  CHECK(stable_prefix("ab", {""}) == 2);
}

namespace {

struct Loaded {
  std::shared_ptr<GgufFile> file;
  std::unique_ptr<Model> model;
};
Loaded load(const std::string& rel) {
  Loaded l;
  l.file = std::make_shared<GgufFile>(GgufFile::open(fixture::require_shared(rel).string()));
  l.model = Model::load(l.file);
  return l;
}

}  // namespace

TEST_CASE("a batch mixing sequences gives each the logits it gets alone, bit for bit", "[engine][shared]") {
  Loaded l = load("models/synth-qwen2-256.f16.gguf");
  const std::vector<int32_t> a = {1, 50, 60, 70, 80}, b = {1, 900, 901};
  KvCache solo(l.model->params(), 32);
  const std::vector<float> la = forward(*l.model, solo, a, true);
  solo.clear(0);
  const std::vector<float> lb = forward(*l.model, solo, b, true);

  // Both prompts in one batch, interleaved; then a second step with one token each.
  KvCache kv(l.model->params(), 32, 2);
  Batch batch;
  for (size_t i = 0; i < 5; ++i) {
    if (i < 4) batch.add(a[i], 0, true);
    if (i < 2) batch.add(b[i], 1, true);
  }
  std::vector<float> first = decode(*l.model, kv, batch);
  CHECK(kv.n_past(0) == 4);
  CHECK(kv.n_past(1) == 2);
  batch.clear();
  batch.add(b[2], 1, true);
  batch.add(a[4], 0, true);
  std::vector<float> second = decode(*l.model, kv, batch);
  const int64_t V = l.model->params().n_vocab;
  auto row = [&](const std::vector<float>& v, int64_t r) { return std::vector<float>(v.begin() + r * V, v.begin() + (r + 1) * V); };
  auto solo_row = row;
  // first: a0 b0 a1 b1 a2 a3; second: b2 a4.
  CHECK(row(first, 0) == solo_row(la, 0));
  CHECK(row(first, 1) == solo_row(lb, 0));
  CHECK(row(first, 4) == solo_row(la, 2));
  CHECK(row(first, 5) == solo_row(la, 3));
  CHECK(row(second, 0) == solo_row(lb, 2));
  CHECK(row(second, 1) == solo_row(la, 4));

  // A sequence that would outgrow the cache is refused before anything is written.
  KvCache small(l.model->params(), 4);
  CHECK_THROWS_AS(forward(*l.model, small, a, false), Error);
  CHECK(small.n_past(0) == 0);
}

TEST_CASE("KV cache in F32 and Q8_0: logits close to the F16 cache's", "[engine][shared]") {
  Loaded l = load("models/synth-llama-256.f16.gguf");
  std::vector<int32_t> toks;
  for (int i = 0; i < 40; ++i) toks.push_back(1 + (i * 7919) % 31000);
  auto run = [&](GgmlType t) {
    KvCache kv(l.model->params(), 64, 1, t, t);
    return forward(*l.model, kv, toks, true, 16);  // batches of 16: later ones read the cache
  };
  const std::vector<float> f16 = run(GgmlType::F16), f32 = run(GgmlType::F32), q8 = run(GgmlType::Q8_0);
  double num32 = 0, num8 = 0, den = 0;
  for (size_t i = 0; i < f16.size(); ++i) {
    num32 += (f32[i] - f16[i]) * double(f32[i] - f16[i]);
    num8 += (q8[i] - f16[i]) * double(q8[i] - f16[i]);
    den += double(f16[i]) * f16[i];
  }
  INFO("relative rms difference f32 " << std::sqrt(num32 / den) << ", q8_0 " << std::sqrt(num8 / den));
  CHECK(std::sqrt(num32 / den) < 1e-3);
  CHECK(std::sqrt(num8 / den) < 2e-2);
  CHECK(std::sqrt(num8 / den) > 0);  // it is a different cache
  CHECK_THROWS_AS(KvCache(l.model->params(), 64, 1, GgmlType::Q4_0, GgmlType::F16), Error);
}

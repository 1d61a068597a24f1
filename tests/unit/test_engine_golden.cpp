// The reference forward pass against llama.cpp's own results: greedy continuations of
// stories260K, and perplexity by llama.cpp's method.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <sstream>

#include "llmkit/gguf.h"
#include "llmkit/model.h"
#include "llmkit/tokenizer.h"
#include "support/fixture.h"

using namespace llmkit;

namespace {

int32_t argmax(const float* v, int64_t n) {
  int32_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (v[i] > v[best]) best = static_cast<int32_t>(i);
  return best;
}

std::vector<JsonObject> read_jsonl(const std::string& rel) {
  std::vector<uint8_t> b = fixture::read_file(fixture::require_shared(rel));
  std::istringstream in(std::string(b.begin(), b.end()));
  std::vector<JsonObject> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(parse_json_object(line));
  return out;
}

// llama.cpp's perplexity: chunks of n_ctx tokens (BOS in place of the first when the vocabulary
// adds one), each scored on its second half from the logits of the token before.
double perplexity(const std::string& model_path, const std::string& text, int64_t n_ctx, int64_t chunks) {
  auto file = std::make_shared<GgufFile>(GgufFile::open(model_path));
  auto model = Model::load(file);
  Tokenizer tok(load_vocab(*file));
  std::vector<int32_t> tokens = tok.encode(text, true);
  const int64_t n_chunk = std::min<int64_t>(chunks, static_cast<int64_t>(tokens.size()) / n_ctx);
  const int64_t first = n_ctx / 2, V = model->params().n_vocab;
  double nll = 0;
  int64_t count = 0;
  KvCache kv(model->params(), n_ctx);
  for (int64_t c = 0; c < n_chunk; ++c) {
    std::vector<int32_t> chunk(tokens.begin() + c * n_ctx, tokens.begin() + (c + 1) * n_ctx);
    if (tok.vocab().add_bos) chunk[0] = tok.vocab().bos;
    kv.clear();
    std::vector<float> logits = forward(*model, kv, chunk, true);
    for (int64_t j = first; j < n_ctx - 1; ++j) {
      const float* lg = logits.data() + j * V;
      const float mx = *std::max_element(lg, lg + V);
      double sum = 0;
      for (int64_t i = 0; i < V; ++i) sum += std::exp(double(lg[i]) - mx);
      nll += -(double(lg[chunk[static_cast<size_t>(j + 1)]]) - mx - std::log(sum));
      ++count;
    }
  }
  return std::exp(nll / static_cast<double>(count));
}

}  // namespace

TEST_CASE("greedy continuations of stories260K equal llama.cpp's", "[engine][golden][shared]") {
  const std::string path = fixture::require_shared("models/stories260K.gguf").string();
  auto file = std::make_shared<GgufFile>(GgufFile::open(path));
  auto model = Model::load(file);
  Tokenizer tok(load_vocab(*file));
  for (const JsonObject& g : read_jsonl("golden/generate/stories260K-greedy.jsonl")) {
    const std::string prompt = *g.get_string("prompt");
    INFO("prompt: " << prompt);
    KvCache kv(model->params(), 256);
    std::vector<float> logits = forward(*model, kv, tok.encode(prompt, *g.raw("add_bos") == "true"), false);
    std::string text;
    for (int64_t i = 0; i < *g.get_int("n_predict"); ++i) {
      const int32_t next = argmax(logits.data(), model->params().n_vocab);
      text += tok.piece(next);
      logits = forward(*model, kv, {next}, false);
    }
    CHECK(text == *g.get_string("continuation"));
  }
}

TEST_CASE("perplexity on gpl-3 within 0.1% of llama.cpp's, every golden model", "[engine][golden][shared]") {
  std::vector<uint8_t> b = fixture::read_file(fixture::require_shared("golden/perplexity/gpl-3.txt"));
  const std::string text(b.begin(), b.end());
  for (const JsonObject& g : read_jsonl("golden/perplexity/perplexity.jsonl")) {
    const std::string name = *g.get_string("model");
    const double ppl = perplexity(fixture::require_shared("models/" + name).string(), text, *g.get_int("n_ctx"),
                                  *g.get_int("chunks"));
    INFO(name << ": ours " << ppl << ", llama.cpp " << *g.get_number("ppl"));
    std::printf("perplexity %-40s ours %.4f  llama.cpp %.4f  ratio %.6f\n", name.c_str(), ppl, *g.get_number("ppl"),
                ppl / *g.get_number("ppl"));
    CHECK(std::fabs(ppl / *g.get_number("ppl") - 1.0) < 0.001);
  }
}

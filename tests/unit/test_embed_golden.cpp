// Embeddings against llama.cpp's (../shared/golden/embed): a BERT encoder and a llama decoder,
// each pooling the reference lists, and batches that give each record what it gets alone.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <sstream>

#include "cpu/gelu.h"
#include "cpu/fp16.h"
#include "llmkit/embed.h"
#include "llmkit/error.h"
#include "llmkit/gguf.h"
#include "llmkit/model.h"
#include "llmkit/tokenizer.h"
#include "support/fixture.h"

using namespace llmkit;

namespace {

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) ab += double(a[i]) * b[i], aa += double(a[i]) * a[i], bb += double(b[i]) * b[i];
  return ab / std::sqrt(aa * bb);
}

struct Loaded {
  std::shared_ptr<GgufFile> file;
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tok;
};

Loaded load(const std::string& name, Backend backend = Backend::Auto) {
  Loaded l;
  l.file = std::make_shared<GgufFile>(GgufFile::open(fixture::require_shared("models/" + name).string()));
  l.model = Model::load(l.file, {.backend = backend});
  l.tok = std::make_unique<Tokenizer>(load_vocab(*l.file));
  return l;
}

}  // namespace

TEST_CASE("embeddings equal llama.cpp's for bert and llama, every pooling", "[embed][golden][shared]") {
  std::vector<uint8_t> bytes = fixture::read_file(fixture::require_shared("golden/embed/embeddings.jsonl"));
  std::istringstream in(std::string(bytes.begin(), bytes.end()));
  std::map<std::string, Loaded> models;
  double worst = 1;
  int checked = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const JsonObject g = parse_json_object(line);
    const std::string name = *g.get_string("model"), text = *g.get_string("text"), pooling = *g.get_string("pooling");
    if (!models.count(name)) models.emplace(name, load(name));
    Loaded& l = models.at(name);
    INFO(name << " " << pooling << ": " << text);
    Embedder emb(*l.model, 512, 2048);
    const auto v = emb.embed({l.tok->encode(text)}, parse_pooling(pooling), parse_normalize(*g.get_string("normalize")));
    std::vector<float> ref;
    {
      const JsonObject wrapper = parse_json_object("{\"a\":" + *g.raw("embedding") + "}");
      std::string raw = *wrapper.raw("a");
      std::istringstream nums(raw.substr(1, raw.size() - 2));
      for (std::string tok; std::getline(nums, tok, ',');) ref.push_back(std::stof(tok));
    }
    REQUIRE(v.size() == 1);
    REQUIRE(v[0].size() == ref.size());
    const double c = cosine(v[0], ref);
    CHECK(c >= 0.99999);
    worst = std::min(worst, c);
    ++checked;
  }
  CHECK(checked == 24);
  WARN("lowest cosine similarity to llama.cpp's embeddings: 1 - " << (1 - worst));
}

// With one kernel per product (--backend cpu, or onednn: its BRGEMM rows do not depend on how
// many rows share the call), not with auto, which changes kernel with the token count.
TEST_CASE("a batch of records gives each the embedding it gets alone", "[embed][shared]") {
  const std::vector<std::string> texts = {"hello world", "The quick brown fox jumps over the lazy dog.", "a",
                                          "what is the capital of france?", "GGUF files are memory-mapped."};
  for (const auto& [name, backend] : {std::pair{"synth-bert-256.f16.gguf", Backend::Auto}, {"stories260K.gguf", Backend::Cpu},
                                      {"stories260K.gguf", Backend::OneDnn}}) {
    Loaded l = load(name, backend);
    INFO("backend " << (backend == Backend::Cpu ? "cpu" : backend == Backend::OneDnn ? "onednn" : "auto"));
    std::vector<std::vector<int32_t>> seqs;
    for (const auto& t : texts) seqs.push_back(l.tok->encode(t));
    for (Pooling p : {Pooling::Mean, Pooling::Cls, Pooling::Last, Pooling::None}) {
      INFO(name << " pooling " << pooling_name(p));
      Embedder together(*l.model, 512, 4096), apart(*l.model, 512, 1);  // batch 1: one record per pass
      const auto a = together.embed(seqs, p, Normalize::L2), b = apart.embed(seqs, p, Normalize::L2);
      REQUIRE(a.size() == seqs.size());
      for (size_t i = 0; i < seqs.size(); ++i) {
        CHECK(a[i].size() == (p == Pooling::None ? seqs[i].size() : 1) * static_cast<size_t>(l.model->params().n_embd));
        CHECK(a[i] == b[i]);
      }
    }
  }
}

TEST_CASE("embedding inputs are checked", "[embed][shared]") {
  Loaded l = load("synth-bert-256.f16.gguf");
  Embedder emb(*l.model, 100000, 2048);
  CHECK(emb.n_ctx() == 512);  // an encoder has as many positions as it was trained with
  std::vector<int32_t> long_seq(513, 1000);
  CHECK_THROWS_WITH(emb.embed({long_seq}, Pooling::Mean, Normalize::L2), Catch::Contains("longer than the context"));
  CHECK_THROWS_AS(emb.embed({{}}, Pooling::Mean, Normalize::L2), Error);
  CHECK_THROWS_WITH(parse_pooling("max"), Catch::Contains("unknown pooling"));
  CHECK(default_pooling(l.model->params()) == Pooling::Mean);  // bert.pooling_type 1
  CHECK_THROWS_WITH(KvCache(l.model->params(), 16), Catch::Contains("is an encoder"));
}

TEST_CASE("GELU through the F16 table stays within F16 rounding of the formula", "[embed][kernels]") {
  std::vector<float> x, y;
  for (float v = -12.f; v <= 12.f; v += 0.001f) x.push_back(v);
  y.resize(x.size());
  kernels::gelu_row(x.data(), y.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    const float ref = kernels::gelu_ref(x[i]);
    // Input and output each rounded to F16 (relative 2^-11), and the slope of GELU is below 1.2.
    CHECK(std::fabs(y[i] - ref) <= 2e-3f * std::fabs(x[i]) + 1e-6f);
  }
  std::vector<float> z(x.size()), inplace = x;
  kernels::gelu_row_ref(x.data(), z.data(), static_cast<int64_t>(x.size()));
  CHECK(y == z);  // the chunked row equals the element-by-element reference, bit for bit
  kernels::gelu_row(inplace.data(), inplace.data(), static_cast<int64_t>(inplace.size()));
  CHECK(inplace == z);
  CHECK(kernels::gelu_ref(0.f) == 0.f);
  CHECK(std::fabs(kernels::gelu_ref(1.f) - 0.841192f) < 1e-5f);
}

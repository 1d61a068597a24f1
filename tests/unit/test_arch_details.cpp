// Details of the newer architectures that whole-model comparisons with llama.cpp do not isolate.
// Sliding-window layers keep a ring of their window plus one batch: the logits must be those of a
// cache that keeps every position, bit for bit, however the batches fall across the ring's wrap,
// for several sequences at once, and a batch too large for the ring is refused.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <memory>

#include "llmkit/error.h"
#include "llmkit/gguf.h"
#include "llmkit/gguf_writer.h"
#include "llmkit/model.h"
#include "llmkit/synth_model.h"
#include "support/fixture.h"

using namespace llmkit;

TEST_CASE("a windowed layer's ring gives the logits of a full cache", "[engine][window]") {
  for (const char* arch : {"gemma3", "gemma2"}) {
    INFO(arch);
    SynthOptions o;
    o.shape = {"w", arch, 3, 64, 2, 1, 32, 128, 300, 1024, true, 10000.f, 24};
    const auto path = fixture::temp_dir() / "w.gguf";
    write_synth_model(o, path.string());
    auto file = std::make_shared<GgufFile>(GgufFile::open(path.string()));
    auto m = Model::load(file);
    REQUIRE(m->params().swa_window == 24);
    std::vector<int32_t> tokens;
    for (int i = 0; i < 200; ++i) tokens.push_back((i * 37 + 11) % 300);
    // The reference keeps every position (its ring is the whole context).
    KvCache full(m->params(), 256, 2, GgmlType::F16, GgmlType::F16, 256);
    const std::vector<float> want = forward(*m, full, tokens, true, 256);
    for (int64_t batch : {1, 7, 16}) {
      KvCache ring(m->params(), 256, 2, GgmlType::F16, GgmlType::F16, batch);
      bool windowed = false;
      for (int64_t l = 0; l < m->params().n_layer; ++l) {
        windowed |= ring.window(l) > 0;
        // The window and one batch more, in whole blocks of 16 keys.
        if (ring.window(l) > 0) CHECK(ring.capacity(l) == (24 + batch + 15) / 16 * 16);
        else CHECK(ring.capacity(l) == 256);
      }
      CHECK(windowed);
      INFO("batch " << batch);
      CHECK(forward(*m, ring, tokens, true, batch) == want);
      // Two sequences in one batch, each with its own ring.
      ring.clear_all();
      Batch b;
      std::vector<float> got;
      for (size_t i = 0; i < tokens.size(); i += static_cast<size_t>(batch)) {
        b.clear();
        for (size_t j = i; j < std::min(tokens.size(), i + static_cast<size_t>(batch)); ++j) b.add(tokens[j], 1, true);
        if (i < 64) b.add(tokens[i], 0, false);
        const std::vector<float> l = decode(*m, ring, b);
        got.insert(got.end(), l.begin(), l.end());
      }
      CHECK(got == want);
      Batch big;
      for (int64_t j = 0; j <= batch; ++j) big.add(1, 0, false);
      CHECK_THROWS_WITH(decode(*m, ring, big), Catch::Contains("takes at most"));
    }
  }
}

// A Llama 3.1 file may carry rope.scaling.type llama3 and its factor instead of the rope_freqs
// tensor: the engine computes the same factors, and the logits are those of the file with it.
TEST_CASE("Llama 3.1 rope factors from the scaling keys equal the rope_freqs tensor", "[engine][rope]") {
  SynthOptions o;
  o.shape = {"r", "llama", 2, 64, 2, 1, 32, 128, 300, 4096, true, 500000.f, 0, 8.f};
  const auto dir = fixture::temp_dir();
  write_synth_model(o, (dir / "with.gguf").string());
  const auto with = std::make_shared<GgufFile>(GgufFile::open((dir / "with.gguf").string()));
  REQUIRE(with->find_tensor("rope_freqs.weight"));
  GgufWriter w;
  w.copy_metadata(*with);
  w.set("llama.rope.scaling.type", GgufValue("llama3"));
  w.set("llama.rope.scaling.factor", GgufValue(8.f));
  w.set("llama.rope.scaling.original_context_length", GgufValue(uint32_t(8192)));
  for (const TensorInfo& t : with->tensors()) {
    if (t.name == "rope_freqs.weight") continue;
    std::vector<int64_t> shape(t.ne.begin(), t.ne.begin() + t.n_dims);
    w.add_tensor(t.name, t.type, shape, [&, &t = t](TensorSink& sink) {
      const auto d = with->tensor_data(t);
      sink.write(d.data(), d.size());
    });
  }
  w.write((dir / "keys.gguf").string());
  const auto keys = std::make_shared<GgufFile>(GgufFile::open((dir / "keys.gguf").string()));
  auto a = Model::load(with), b = Model::load(keys);
  CHECK(b->rope_factors(4096) == a->rope_factors(4096));
  std::vector<int32_t> tokens;
  for (int i = 0; i < 40; ++i) tokens.push_back((i * 13 + 5) % 300);
  KvCache ka(a->params(), 64), kb(b->params(), 64);
  CHECK(forward(*a, ka, tokens, true) == forward(*b, kb, tokens, true));
}

// Past 2,048 keys a global layer's attention goes in parts (merged after), and a decoding step
// shares one token's parts among threads: a token's logits must not depend on that, nor on the
// batch it comes in, bit for bit; and they must stay those of the keys before it (a prompt's last
// token against the same token decoded on its own).
// A trained model (stories260K), where attention decides the logits: a random one's attention
// outputs are too small beside the residual stream for a last-bit difference to show.
TEST_CASE("attention past 2,048 keys: the same logits for a token alone or in a batch", "[engine][long][shared]") {
  auto file = std::make_shared<GgufFile>(GgufFile::open(fixture::require_shared("models/stories260K.gguf").string()));
  // F32 weights: llmkit's own kernels throughout (oneDNN, for a batch only, would change the bits).
  auto m = Model::load(file, {.backend = Backend::Cpu});
  std::vector<int32_t> tokens;
  for (int i = 0; i < 4200; ++i) tokens.push_back((i * 53 + 7) % 500 + 3);
  KvCache a(m->params(), 4352, 1, GgmlType::F16, GgmlType::F16, 512), b(m->params(), 4352, 1, GgmlType::F16, GgmlType::F16, 512);
  const std::vector<float> batched = forward(*m, a, tokens, true, 512);
  // The first 4,000 tokens as a prompt, the rest one at a time.
  std::vector<float> single = forward(*m, b, std::vector<int32_t>(tokens.begin(), tokens.begin() + 4000), true, 512);
  for (size_t i = 4000; i < tokens.size(); ++i) {
    const std::vector<float> l = forward(*m, b, {tokens[i]}, true, 1);
    single.insert(single.end(), l.begin(), l.end());
  }
  REQUIRE(single.size() == batched.size());
  CHECK(single == batched);
  CHECK(std::all_of(batched.begin(), batched.end(), [](float x) { return std::isfinite(x); }));
}

namespace {
// Tokens [from, to) of one sequence in batches of n_batch, the logits of positions >= want_from.
std::vector<float> decode_range(const Model& m, KvCache& kv, const std::vector<int32_t>& tokens, size_t from, size_t to,
                                size_t n_batch, size_t want_from) {
  std::vector<float> out;
  for (size_t i = from; i < to; i += n_batch) {
    Batch b;
    for (size_t j = i; j < std::min(to, i + n_batch); ++j) b.add(tokens[j], 0, j >= want_from);
    const std::vector<float> l = decode(m, kv, b);
    out.insert(out.end(), l.begin(), l.end());
  }
  return out;
}
}  // namespace

TEST_CASE("attention past 2,048 keys over a Q8_0 cache: in place, alone or batched alike, near the F16 cache's",
          "[engine][long][shared]") {
  // Head size 64 (a Q8_0 cache needs multiples of 32).
  auto file = std::make_shared<GgufFile>(GgufFile::open(fixture::require_shared("models/synth-llama-256.f16.gguf").string()));
  auto m = Model::load(file, {.backend = Backend::Cpu});
  std::vector<int32_t> tokens;
  for (int i = 0; i < 2600; ++i) tokens.push_back((i * 53 + 7) % 31000 + 3);
  const size_t want_from = 2400, n = tokens.size();
  std::vector<float> by_type[2];
  for (GgmlType cache : {GgmlType::F16, GgmlType::Q8_0}) {
    INFO("cache " << ggml_type_name(cache));
    KvCache a(m->params(), 2688, 1, cache, cache, 512), b(m->params(), 2688, 1, cache, cache, 512);
    const std::vector<float> batched = decode_range(*m, a, tokens, 0, n, 512, want_from);
    std::vector<float> single = decode_range(*m, b, tokens, 0, want_from, 512, want_from);
    const std::vector<float> rest = decode_range(*m, b, tokens, want_from, n, 1, want_from);
    single.insert(single.end(), rest.begin(), rest.end());
    REQUIRE(single.size() == batched.size());
    CHECK(single == batched);
    CHECK(std::all_of(batched.begin(), batched.end(), [](float x) { return std::isfinite(x); }));
    by_type[cache == GgmlType::Q8_0] = batched;
  }
  // The Q8_0 cache's parts read its rows in place: its logits stay the F16 cache's to the keys'
  // and values' quantization (a row or head read from the wrong place would not).
  const size_t vocab = static_cast<size_t>(m->params().n_vocab), rows = by_type[0].size() / vocab;
  double diff = 0, mag = 0;
  size_t same_top = 0;
  for (size_t t = 0; t < rows; ++t) {
    const float* f = by_type[0].data() + t * vocab;
    const float* q = by_type[1].data() + t * vocab;
    for (size_t i = 0; i < vocab; ++i) diff += std::fabs(f[i] - q[i]), mag += std::fabs(f[i]);
    same_top += std::max_element(f, f + vocab) - f == std::max_element(q, q + vocab) - q;
  }
  INFO("mean |F16 - Q8_0| / mean |F16| " << diff / mag << ", same top token " << same_top << " of " << rows);
  CHECK(diff / mag < 0.02);
  CHECK(same_top >= rows * 95 / 100);
  WARN("Q8_0 against F16 cache past 2,048 keys: relative difference " << diff / mag << ", same top token " << same_top
                                                                       << " of " << rows);
}

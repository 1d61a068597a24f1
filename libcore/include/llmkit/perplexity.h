// llama.cpp's perplexity method: tokenize the whole text (BOS as the vocabulary asks), cut it
// into chunks of n_ctx tokens, put BOS in place of each chunk's first token when BOS is added,
// and score the second half of each chunk from the logits of the token before. With a base
// model (the FP16 a quantized model came from), also the KL divergence of the two next-token
// distributions and how often their top tokens agree.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "llmkit/model.h"
#include "llmkit/tokenizer.h"

namespace llmkit {

struct PerplexityOptions {
  int64_t n_ctx = 512;
  int64_t chunks = -1;  // -1: every whole chunk of the text
  const Model* base = nullptr;
  ProductObserver* observer = nullptr;  // sees the model's weight products (llm-imatrix)
  std::function<void(int64_t chunk, int64_t n_chunks, double ppl_so_far)> on_chunk;
};

struct PerplexityResult {
  double ppl = 0, ppl_err = 0;  // err: one standard error of the mean log-likelihood, as llama.cpp
  int64_t tokens_scored = 0, chunks = 0, text_tokens = 0;
  // With a base model:
  double base_ppl = 0, base_ppl_err = 0, kl_mean = 0, kl_err = 0, top1_agreement = 0;
};

// Throws Error("text_too_short") when the text has fewer than n_ctx tokens.
PerplexityResult evaluate_perplexity(const Model& model, const Tokenizer& tok, const std::string& text,
                                     const PerplexityOptions& opt);

}  // namespace llmkit

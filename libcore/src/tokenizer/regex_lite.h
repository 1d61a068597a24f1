// A small backtracking regular-expression engine over codepoints, for the pre-tokenizer
// patterns of BPE vocabularies: classes (ranges, negation, \s \S \d \p{L} \p{N} \p{P} \p{S}
// \p{M}), alternation, groups, lookahead, greedy ? * + {n,m}, ^ and $. Runs of a single class
// are matched iteratively, so long runs do not recurse.
#pragma once
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace llmkit::regex_lite {

struct Node;

class Regex {
 public:
  explicit Regex(std::string_view pattern);  // throws Error("bad_regex")
  ~Regex();
  Regex(Regex&&) noexcept;
  // Length of the match starting at text[pos] within [0, end), or -1.
  long match_at(const std::vector<uint32_t>& text, size_t pos, size_t end) const;
  // If the pattern starts with an unbounded loop of one class (\s+$, \p{N}+, ...): whether c
  // is in that class. A failed attempt at a position inside a run of that class then fails at
  // every later position of the run too (it can only reach a subset of the same end points),
  // which keeps the search linear on long runs.
  bool leading_loop_has(uint32_t c) const;

 private:
  std::unique_ptr<Node> root_;
  const Node* lead_ = nullptr;
};

// llama.cpp's split: each segment (lengths in `segments`, in codepoints) is cut into the
// successive leftmost matches and the gaps between them.
std::vector<size_t> split(const Regex& re, const std::vector<uint32_t>& text, const std::vector<size_t>& segments);

}  // namespace llmkit::regex_lite

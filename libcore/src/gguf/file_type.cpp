#include "llmkit/file_type.h"

#include <cctype>
#include <map>

#include "llmkit/gguf.h"

namespace llmkit {
namespace {

// llama_ftype values (llama.h). Removed ones (4-6, 33-35) are not listed: files carrying them
// are reported with the number only.
constexpr FileTypeInfo kFileTypes[] = {
    {0, "F32"},      {1, "F16"},      {2, "Q4_0"},     {3, "Q4_1"},    {7, "Q8_0"},     {8, "Q5_0"},
    {9, "Q5_1"},     {10, "Q2_K"},    {11, "Q3_K_S"},  {12, "Q3_K_M"}, {13, "Q3_K_L"},  {14, "Q4_K_S"},
    {15, "Q4_K_M"},  {16, "Q5_K_S"},  {17, "Q5_K_M"},  {18, "Q6_K"},   {19, "IQ2_XXS"}, {20, "IQ2_XS"},
    {21, "Q2_K_S"},  {22, "IQ3_XS"},  {23, "IQ3_XXS"}, {24, "IQ1_S"},  {25, "IQ4_NL"},  {26, "IQ3_S"},
    {27, "IQ3_M"},   {28, "IQ2_S"},   {29, "IQ2_M"},   {30, "IQ4_XS"}, {31, "IQ1_M"},   {32, "BF16"},
    {36, "TQ1_0"},   {37, "TQ2_0"},   {38, "MXFP4_MOE"},
};

// The preset a tensor type most likely came from, for files without general.file_type.
std::optional<uint32_t> preset_for_type(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return 0;
    case GgmlType::F16: return 1;
    case GgmlType::Q4_0: return 2;
    case GgmlType::Q4_1: return 3;
    case GgmlType::Q8_0: return 7;
    case GgmlType::Q5_0: return 8;
    case GgmlType::Q5_1: return 9;
    case GgmlType::Q2_K: return 10;
    case GgmlType::Q3_K: return 12;
    case GgmlType::Q4_K: return 15;
    case GgmlType::Q5_K: return 17;
    case GgmlType::Q6_K: return 18;
    case GgmlType::IQ2_XXS: return 19;
    case GgmlType::IQ2_XS: return 20;
    case GgmlType::IQ3_XXS: return 23;
    case GgmlType::IQ1_S: return 24;
    case GgmlType::IQ4_NL: return 25;
    case GgmlType::IQ3_S: return 26;
    case GgmlType::IQ2_S: return 28;
    case GgmlType::IQ4_XS: return 30;
    case GgmlType::IQ1_M: return 31;
    case GgmlType::BF16: return 32;
    case GgmlType::TQ1_0: return 36;
    case GgmlType::TQ2_0: return 37;
    case GgmlType::MXFP4: return 38;
    default: return std::nullopt;
  }
}

}  // namespace

std::span<const FileTypeInfo> file_types() { return kFileTypes; }

const FileTypeInfo* file_type_info(uint32_t id) {
  for (const auto& f : kFileTypes)
    if (f.id == id) return &f;
  return nullptr;
}

std::optional<uint32_t> file_type_from_name(std::string_view name) {
  for (const auto& f : kFileTypes) {
    std::string_view n = f.name;
    if (n.size() != name.size()) continue;
    bool eq = true;
    for (size_t i = 0; i < n.size() && eq; ++i)
      eq = std::toupper(static_cast<unsigned char>(name[i])) == n[i];
    if (eq) return f.id;
  }
  return std::nullopt;
}

FileTypeGuess file_type_of(const GgufFile& f) {
  FileTypeGuess g;
  if (auto id = f.get_int("general.file_type")) {
    // llama.cpp ORs 1024 into guessed types when it writes them back; strip it.
    uint32_t v = static_cast<uint32_t>(*id & ~int64_t(1024));
    if (const FileTypeInfo* info = file_type_info(v)) {
      g.name = info->name;
      g.id = v;
      return g;
    }
    g.name = "unknown (" + std::to_string(*id) + ")";
    g.id = static_cast<uint32_t>(*id);
    return g;
  }
  // Count weights (2-D and up) by type; the most common type names the preset.
  std::map<GgmlType, uint64_t> count;
  for (const auto& t : f.tensors())
    if (t.n_dims >= 2) count[t.type]++;
  g.guessed = true;
  g.name = "unknown";
  uint64_t best = 0;
  for (auto [type, n] : count)
    if (n > best) {
      best = n;
      if (auto id = preset_for_type(type)) {
        g.id = *id;
        g.name = file_type_info(*id)->name;
      } else {
        g.id.reset();
        g.name = "unknown";
      }
    }
  return g;
}

}  // namespace llmkit

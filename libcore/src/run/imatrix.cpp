#include "llmkit/imatrix.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

#include "llmkit/atomic_file.h"
#include "llmkit/error.h"
#include "llmkit/gguf.h"
#include "llmkit/gguf_writer.h"

namespace llmkit {
namespace {

// llama-imatrix leaves out passes of fewer tokens (its graphs for single tokens).
constexpr int64_t kMinRows = 16;

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw Error("bad_imatrix", path + ": " + what);
}

void check_entry(const std::string& path, const std::string& name, const ImatrixEntry& e) {
  if (e.sums.empty() || e.counts.empty() || e.sums.size() % e.counts.size() != 0)
    bad(path, "entry '" + name + "': " + std::to_string(e.sums.size()) + " sums do not divide into " +
                  std::to_string(e.counts.size()) + " matrices");
  for (float v : e.sums)
    if (!std::isfinite(v) || v < 0) bad(path, "entry '" + name + "' holds a negative or non-finite sum");
  for (float c : e.counts)
    if (!std::isfinite(c) || c < 0) bad(path, "entry '" + name + "' holds a negative or non-finite count");
}

Imatrix read_legacy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("usage", "cannot read " + path);
  in.seekg(0, std::ios::end);
  const auto size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  uint64_t left = size;
  const auto i32 = [&](const char* what) {
    int32_t v;
    if (left < 4 || !in.read(reinterpret_cast<char*>(&v), 4)) bad(path, std::string("truncated at ") + what);
    left -= 4;
    return v;
  };
  const auto bytes = [&](uint64_t n, const char* what) {
    if (n > left) bad(path, std::string(what) + " runs past the end of the file");
    std::string s(n, '\0');
    in.read(s.data(), static_cast<std::streamsize>(n));
    left -= n;
    return s;
  };
  Imatrix im;
  const int32_t n = i32("the entry count");
  if (n < 1) bad(path, "no entries (or not an imatrix file)");
  for (int32_t k = 0; k < n; ++k) {
    const int32_t len = i32("an entry name's length");
    if (len < 1 || len > 4096) bad(path, "entry " + std::to_string(k) + ": a name of " + std::to_string(len) + " bytes");
    std::string name = bytes(static_cast<uint64_t>(len), "an entry name");
    const int32_t ncall = i32("a call count");
    const int32_t nval = i32("a value count");
    if (nval < 1) bad(path, "entry '" + name + "': " + std::to_string(nval) + " values");
    const std::string raw = bytes(uint64_t(nval) * 4, "an entry's values");
    ImatrixEntry e;
    e.sums.resize(static_cast<size_t>(nval));
    std::memcpy(e.sums.data(), raw.data(), raw.size());
    // The values are means times the call count; the count stands for the tokens.
    e.counts = {static_cast<float>(ncall)};
    check_entry(path, name, e);
    im.entries[std::move(name)] = std::move(e);
  }
  if (left >= 4) {  // optional: chunks, then the dataset's name
    im.chunk_count = static_cast<uint32_t>(std::max(0, i32("the chunk count")));
    if (left >= 4) {
      const int32_t len = i32("the dataset name's length");
      if (len > 0) im.datasets.push_back(bytes(static_cast<uint64_t>(len), "the dataset name"));
    }
  }
  return im;
}

Imatrix read_gguf(const std::string& path) {
  GgufFile f = GgufFile::open(path);
  Imatrix im;
  if (auto t = f.get_opt<std::string>("general.type"); t && *t != "imatrix")
    bad(path, "a GGUF file of type '" + *t + "', not an imatrix (a model given for the imatrix?)");
  if (auto d = f.get_opt<GgufArray>("imatrix.datasets"); d && d->elem_type == GgufType::STRING) im.datasets = d->strings;
  im.chunk_count = static_cast<uint32_t>(std::max<int64_t>(0, f.get_int("imatrix.chunk_count").value_or(0)));
  im.chunk_size = static_cast<uint32_t>(std::max<int64_t>(0, f.get_int("imatrix.chunk_size").value_or(0)));
  std::map<std::string, std::pair<const TensorInfo*, const TensorInfo*>> parts;
  for (const TensorInfo& t : f.tensors()) {
    if (ends_with(t.name, ".in_sum2")) parts[t.name.substr(0, t.name.size() - 8)].first = &t;
    else if (ends_with(t.name, ".counts")) parts[t.name.substr(0, t.name.size() - 7)].second = &t;
  }
  if (parts.empty()) bad(path, "no <name>.in_sum2 tensors (not an imatrix file)");
  const auto floats = [&](const TensorInfo& t) {
    if (t.type != GgmlType::F32) bad(path, "tensor '" + t.name + "' is not F32");
    const auto data = f.tensor_data(t);
    std::vector<float> v(t.n_elements);
    std::memcpy(v.data(), data.data(), v.size() * sizeof(float));
    return v;
  };
  for (const auto& [name, p] : parts) {
    if (!p.first || !p.second) bad(path, "entry '" + name + "' has " + (p.first ? "sums but no counts" : "counts but no sums"));
    ImatrixEntry e;
    e.sums = floats(*p.first);
    e.counts = floats(*p.second);
    check_entry(path, name, e);
    if (p.first->ne[1] != static_cast<int64_t>(e.counts.size()))
      bad(path, "entry '" + name + "': " + std::to_string(p.first->ne[1]) + " matrices of sums, " +
                    std::to_string(e.counts.size()) + " counts");
    im.entries[name] = std::move(e);
  }
  return im;
}

}  // namespace

std::vector<float> ImatrixEntry::means() const {
  std::vector<float> out(sums.size());
  const size_t per = counts.empty() ? 0 : sums.size() / counts.size();
  for (size_t i = 0; i < sums.size(); ++i) {
    const float c = counts[per ? i / per : 0];
    out[i] = c > 0 ? sums[i] / c : 1.0f;  // a matrix no token reached: every column alike
  }
  return out;
}

void ImatrixCollector::on_product(const TensorInfo& w, const float* x, int64_t n) {
  if (n < kMinRows) return;
  if (!(w.name.compare(0, 4, "blk.") == 0 || (process_output_ && w.name == "output.weight"))) return;
  auto& [sums, count] = sums_[w.name];
  const auto ne0 = static_cast<size_t>(w.ne[0]);
  if (sums.empty()) sums.assign(ne0, 0.0);
  for (int64_t t = 0; t < n; ++t) {
    const float* r = x + static_cast<size_t>(t) * ne0;
    for (size_t j = 0; j < ne0; ++j) sums[j] += double(r[j]) * double(r[j]);
  }
  count += static_cast<uint64_t>(n);
}

Imatrix ImatrixCollector::result(std::vector<std::string> datasets, uint32_t chunk_count, uint32_t chunk_size) const {
  Imatrix im;
  im.datasets = std::move(datasets);
  im.chunk_count = chunk_count;
  im.chunk_size = chunk_size;
  for (const auto& [name, sc] : sums_) {
    ImatrixEntry e;
    e.sums.reserve(sc.first.size());
    for (double v : sc.first) {
      if (!std::isfinite(v)) throw Error("non_finite", "the inputs of " + name + " hold NaN or infinite values");
      e.sums.push_back(static_cast<float>(v));
    }
    e.counts = {static_cast<float>(sc.second)};
    im.entries[name] = std::move(e);
  }
  return im;
}

void write_imatrix(const Imatrix& im, const std::string& path, bool legacy) {
  if (im.entries.empty()) throw Error("usage", "the importance matrix is empty: no pass had " + std::to_string(kMinRows) + " tokens");
  if (!legacy) {
    GgufWriter w;
    w.set("general.type", GgufValue(std::string("imatrix")));
    w.set("imatrix.datasets", GgufValue(GgufArray::of(im.datasets)));
    w.set("imatrix.chunk_count", GgufValue(im.chunk_count));
    w.set("imatrix.chunk_size", GgufValue(im.chunk_size));
    for (const auto& [name, e] : im.entries) {  // by name, as llama-imatrix orders them
      const auto n_mat = static_cast<int64_t>(e.counts.size());
      const auto write_floats = [](const std::vector<float>& v) {
        return [&v](TensorSink& s) { s.write(v.data(), v.size() * sizeof(float)); };
      };
      w.add_tensor(name + ".in_sum2", GgmlType::F32, {static_cast<int64_t>(e.sums.size()) / n_mat, n_mat}, write_floats(e.sums));
      w.add_tensor(name + ".counts", GgmlType::F32, {1, n_mat}, write_floats(e.counts));
    }
    w.write(path);
    return;
  }
  // Legacy: per entry the name, a call count (chunks, rounded up) and the means times it; then
  // the chunk count and the dataset's name.
  AtomicFile out(path);
  const auto i32 = [&](int32_t v) { out.write(&v, 4); };
  i32(static_cast<int32_t>(im.entries.size()));
  const float chunk = static_cast<float>(std::max<uint32_t>(im.chunk_size, 1));
  for (const auto& [name, e] : im.entries) {
    i32(static_cast<int32_t>(name.size()));
    out.write(name.data(), name.size());
    const float most = *std::max_element(e.counts.begin(), e.counts.end());
    const auto ncall = static_cast<int32_t>(std::ceil(most / chunk));
    i32(ncall);
    i32(static_cast<int32_t>(e.sums.size()));
    std::vector<float> v = e.means();
    for (float& x : v) x *= static_cast<float>(ncall);
    out.write(v.data(), v.size() * sizeof(float));
  }
  i32(static_cast<int32_t>(im.chunk_count));
  const std::string dataset = im.datasets.empty() ? std::string() : im.datasets.back();
  i32(static_cast<int32_t>(dataset.size()));
  out.write(dataset.data(), dataset.size());
  out.commit();
}

Imatrix read_imatrix(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("usage", "cannot read " + path);
  char magic[4] = {};
  in.read(magic, 4);
  if (in.gcount() == 4 && std::memcmp(magic, "GGUF", 4) == 0) return read_gguf(path);
  return read_legacy(path);
}

WeightedError weighted_error(const float* source, const float* quantized, int64_t ne0, int64_t rows,
                             const std::vector<float>& means) {
  WeightedError e;
  const int64_t n_mat = std::max<int64_t>(1, static_cast<int64_t>(means.size()) / ne0);
  const int64_t per = rows / n_mat;
  for (int64_t r = 0; r < rows; ++r) {
    const float* m = means.data() + std::min(r / std::max<int64_t>(per, 1), n_mat - 1) * ne0;
    for (int64_t j = 0; j < ne0; ++j) {
      const double x = source[r * ne0 + j], d = x - quantized[r * ne0 + j];
      e.err += m[j] * d * d;
      e.ref += m[j] * x * x;
    }
  }
  return e;
}

void check_imatrix(const Imatrix& im, const GgufFile& model) {
  for (const auto& [name, e] : im.entries) {
    const TensorInfo* t = model.find_tensor(name);
    if (!t) throw Error("imatrix_mismatch", "the importance matrix has an entry for '" + name + "', which the model lacks (an imatrix for another model?)");
    const uint64_t per = e.sums.size() / e.counts.size();
    if (static_cast<int64_t>(per) != t->ne[0] || (e.counts.size() > 1 && static_cast<int64_t>(e.counts.size()) != t->ne[2]))
      throw Error("imatrix_mismatch", "'" + name + "': the importance matrix has " + std::to_string(per) + " values per matrix, the model's rows " +
                                          std::to_string(t->ne[0]) + " (an imatrix for another model?)");
  }
}

}  // namespace llmkit

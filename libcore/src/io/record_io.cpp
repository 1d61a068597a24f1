#include "llmkit/record_io.h"

#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "llmkit/atomic_file.h"
#include "llmkit/cli.h"
#include "llmkit/error.h"

namespace llmkit {

RecordInput::RecordInput(std::vector<std::string> files) : files_(std::move(files)) {
  for (const std::string& f : files_) {
    std::ifstream probe(f, std::ios::binary);
    if (!probe) throw Error("usage", "cannot read the input file " + f + ": " + std::strerror(errno));
    note_input_file(f);  // -o may not name it
  }
  if (files_.empty()) reader_ = std::make_unique<JsonlReader>(std::cin);
}

RecordInput::~RecordInput() = default;

bool RecordInput::open_next() {
  reader_.reset();
  file_.reset();
  if (next_file_ >= files_.size()) return false;
  source_ = files_[next_file_++];
  file_ = std::make_unique<std::ifstream>(source_, std::ios::binary);
  if (!*file_) throw Error("usage", "cannot read the input file " + source_ + ": " + std::strerror(errno));
  reader_ = std::make_unique<JsonlReader>(*file_);
  return true;
}

bool RecordInput::next(std::string& line, uint64_t& line_no) {
  while (true) {
    if (!reader_ && (files_.empty() || !open_next())) return false;
    try {
      if (reader_->next_line(line, line_no)) return true;
    } catch (const Error& e) {
      throw Error(e.code(), source_ + ": " + e.what());
    }
    if (files_.empty()) {
      reader_.reset();
      return false;
    }
    reader_.reset();
  }
}

std::optional<uint64_t> RecordInput::count(const Shard* shard) const {
  if (files_.empty()) return std::nullopt;
  uint64_t n = 0, position = 0;
  for (const std::string& f : files_) {
    std::ifstream in(f, std::ios::binary);
    JsonlReader r(in);
    std::string line;
    uint64_t no = 0;
    try {
      while (r.next_line(line, no)) {
        const uint64_t pos = position++;
        if (!shard || shard->all()) {
          ++n;
          continue;
        }
        try {
          n += shard->takes(parse_json_object(line), pos);
        } catch (const Error&) {
          n += shard->takes_position(pos);
        }
      }
    } catch (const Error&) {
      // the run itself reports a corrupt file when it gets there
    }
  }
  return n;
}

struct RecordOutput::Zstd {
  ZSTD_CStream* cs = ZSTD_createCStream();
  std::vector<char> buf = std::vector<char>(ZSTD_CStreamOutSize());
  ~Zstd() { ZSTD_freeCStream(cs); }
};

namespace {
bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}
}  // namespace

RecordOutput::RecordOutput(Stdout& out, std::string path, bool rewriting) : out_(out), path_(std::move(path)) {
  if (path_.empty()) return;
  partial_ = path_ + ".partial";
  writing_ = rewriting ? partial_ + ".new" : partial_;
  refuse_input_file(path_);
  refuse_input_file(partial_);
  f_ = std::fopen(writing_.c_str(), "wb");
  if (!f_) throw Error("io", "cannot create " + writing_ + ": " + std::strerror(errno));
  if (ends_with(path_, ".zst")) {
    zstd_ = std::make_unique<Zstd>();
    ZSTD_CCtx_setParameter(zstd_->cs, ZSTD_c_compressionLevel, 3);
  }
}

RecordOutput::~RecordOutput() {
  if (f_) std::fclose(f_);  // an unfinished run: the partial file stays
}

void RecordOutput::write_file(const void* data, size_t n) {
  if (n && std::fwrite(data, 1, n, f_) != n)
    throw OutputError("cannot write " + writing_ + ": " + std::strerror(errno) + " (" + std::to_string(records_) +
                      " records written)");
}

void RecordOutput::record(std::string_view line) {
  if (!f_) {
    if (!path_.empty()) throw OutputError("write to the finished output " + path_);
    out_.record(line);
    ++records_;
    return;
  }
  std::string text(line);
  text += '\n';
  if (zstd_) {
    // ZSTD_e_flush ends a block: everything so far decodes, though the frame is still open.
    ZSTD_inBuffer in{text.data(), text.size(), 0};
    size_t left;
    do {
      ZSTD_outBuffer o{zstd_->buf.data(), zstd_->buf.size(), 0};
      left = ZSTD_compressStream2(zstd_->cs, &o, &in, ZSTD_e_flush);
      if (ZSTD_isError(left)) throw OutputError(std::string("zstd: ") + ZSTD_getErrorName(left));
      write_file(o.dst, o.pos);
    } while (left != 0);
  } else {
    write_file(text.data(), text.size());
  }
  if (std::fflush(f_) != 0)
    throw OutputError("cannot write " + writing_ + ": " + std::strerror(errno) + " (" + std::to_string(records_) +
                      " records written)");
  ++records_;
}

void RecordOutput::settle() {
  if (!f_ || writing_ == partial_) return;
  if (std::fflush(f_) != 0 || fsync(fileno(f_)) != 0 || std::rename(writing_.c_str(), partial_.c_str()) != 0)
    throw OutputError("cannot replace " + partial_ + " by " + writing_ + ": " + std::strerror(errno));
  writing_ = partial_;
}

void RecordOutput::finish() {
  if (!f_) {
    if (path_.empty()) out_.flush();
    return;
  }
  settle();
  if (zstd_) {
    ZSTD_inBuffer in{nullptr, 0, 0};
    size_t left;
    do {
      ZSTD_outBuffer o{zstd_->buf.data(), zstd_->buf.size(), 0};
      left = ZSTD_compressStream2(zstd_->cs, &o, &in, ZSTD_e_end);
      if (ZSTD_isError(left)) throw OutputError(std::string("zstd: ") + ZSTD_getErrorName(left));
      write_file(o.dst, o.pos);
    } while (left != 0);
  }
  const bool ok = std::fflush(f_) == 0 && fsync(fileno(f_)) == 0;
  const int err = errno;
  const bool closed = std::fclose(f_) == 0;
  f_ = nullptr;
  if (!ok || !closed) throw OutputError("cannot write " + partial_ + ": " + std::strerror(err));
  if (std::rename(partial_.c_str(), path_.c_str()) != 0)
    throw OutputError("cannot rename " + partial_ + " to " + path_ + ": " + std::strerror(errno));
  std::remove((partial_ + ".new").c_str());  // a rewrite an earlier resumed run did not finish
}

Shard Shard::parse(std::string_view text) {
  const size_t slash = text.find('/');
  Shard s;
  auto number = [&](std::string_view t, uint64_t& v) {
    if (t.empty() || t.size() > 9 || t.find_first_not_of("0123456789") != std::string_view::npos) return false;
    v = std::stoull(std::string(t));
    return true;
  };
  if (slash == std::string_view::npos || !number(text.substr(0, slash), s.k) || !number(text.substr(slash + 1), s.n) ||
      s.n == 0 || s.k >= s.n)
    throw Error("usage", "--shard wants K/N with 0 <= K < N, such as 0/4 (got " + std::string(text) + ")");
  return s;
}

namespace {
uint64_t shard_hash(std::string_view key) { return XXH3_64bits(key.data(), key.size()); }
}  // namespace

bool Shard::takes_position(uint64_t position) const {
  return all() || shard_hash("#" + std::to_string(position)) % n == k;
}

bool Shard::takes(const JsonObject& rec, uint64_t position) const {
  if (all()) return true;
  const std::string* raw = rec.raw("id");
  if (!raw) return takes_position(position);
  if (auto s = rec.get_string("id")) return shard_hash(*s) % n == k;
  return shard_hash(*raw) % n == k;
}

RecordProgress::RecordProgress(bool on, std::optional<uint64_t> total, const char* tool, std::chrono::seconds log_every)
    : on_(on),
      tty_(stderr_is_tty()),
      total_(total),
      tool_(tool),
      every_(tty_ ? std::chrono::steady_clock::duration(std::chrono::milliseconds(250))
                  : std::chrono::steady_clock::duration(log_every)),
      t0_(std::chrono::steady_clock::now()),
      last_(t0_) {}

void RecordProgress::update(uint64_t done, uint64_t failed, uint64_t tokens) {
  if (!on_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < every_ && !(total_ && done == *total_)) return;
  last_ = now;
  print(done, failed, tokens);
}

void RecordProgress::print(uint64_t done, uint64_t failed, uint64_t tokens) {
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  char eta[32] = "";
  if (total_ && done > 0 && *total_ >= done) {
    const double left = s * static_cast<double>(*total_ - done) / static_cast<double>(done);
    std::snprintf(eta, sizeof eta, ", ETA %dm%02ds", static_cast<int>(left) / 60, static_cast<int>(left) % 60);
  }
  char of[32] = "";
  if (total_) std::snprintf(of, sizeof of, "/%llu", static_cast<unsigned long long>(*total_));
  std::fprintf(stderr, "%s%s: %llu%s records, %llu failed, %.1f tok/s, %.0f s%s%s", tty_ ? "\r" : "", tool_,
               static_cast<unsigned long long>(done), of, static_cast<unsigned long long>(failed),
               s > 0 ? static_cast<double>(tokens) / s : 0.0, s, eta, tty_ ? "\x1b[K" : "\n");
  std::fflush(stderr);
  printed_ = true;
}

void RecordProgress::finish() {
  if (on_ && tty_ && printed_) std::fputc('\n', stderr);
}

}  // namespace llmkit

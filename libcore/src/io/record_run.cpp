#include "llmkit/record_run.h"

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "llmkit/atomic_file.h"
#include "llmkit/cli.h"
#include "llmkit/json_writer.h"

namespace llmkit {

EarlierOutput::EarlierOutput(const std::string& output) {
  for (const std::string& p : {output + ".partial", output}) {
    if (!std::filesystem::exists(p)) continue;
    path_ = p;
    file_ = std::make_unique<std::ifstream>(p, std::ios::binary);
    if (!*file_) throw Error("usage", "--resume: cannot read " + p);
    reader_ = std::make_unique<JsonlReader>(*file_);
    return;
  }
}

std::optional<std::pair<std::string, JsonObject>> EarlierOutput::next() {
  if (!reader_) return std::nullopt;
  std::string line;
  uint64_t no = 0;
  try {
    if (reader_->next_line(line, no)) {
      JsonObject rec = parse_json_object(line);
      return std::make_pair(std::move(line), std::move(rec));
    }
  } catch (const Error&) {
    // A torn last record, or a compressed stream cut inside a frame: what follows is redone.
  }
  reader_.reset();
  file_.reset();
  return std::nullopt;
}

namespace {

// FILE.run.json: written for a new run; compared for a resumed one (earlier output exists).
bool check_identity(const std::string& output, const std::string& identity, bool earlier_exists) {
  if (output.empty() || identity.empty()) return earlier_exists;
  const std::string path = output + ".run.json";
  if (!earlier_exists) {
    AtomicFile f(path);
    const std::string text = identity + "\n";
    f.write(text.data(), text.size());
    f.commit();
    return false;
  }
  std::ifstream in(path);
  if (!in)
    throw Error("usage", "--resume: " + path + " is missing, so the earlier output cannot be checked to come from the same command");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const JsonObject earlier = parse_json_object(text);
  const JsonObject now = parse_json_object(identity);
  std::string differ;
  for (const auto& [key, value] : now.fields()) {
    const std::string* was = earlier.raw(key);
    if (!was || *was != value) differ += (differ.empty() ? "" : ", ") + key + " (was " + (was ? *was : "absent") + ", now " + value + ")";
  }
  if (!differ.empty())
    throw Error("usage", "--resume: this command differs from the run that wrote " + output + ": " + differ +
                             " (start a new output, or run the first command again)");
  return true;
}

// The tool's identity with what the loop itself knows: the inputs' names, the shard, --index.
std::string full_identity(const RecordRunOptions& o) {
  if (o.identity.empty()) return "";
  JsonObject id = parse_json_object(o.identity);
  std::string inputs = "[";
  for (const std::string& f : o.files) inputs += (inputs.size() > 1 ? "," : "") + json_string(f);
  inputs += o.files.empty() ? "\"stdin\"]" : "]";
  id.set_raw("inputs", inputs);
  if (!o.model.empty()) {
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(o.model, ec);
    id.set("model", std::string_view(std::filesystem::path(o.model).filename().string()));
    id.set("model_bytes", static_cast<int64_t>(ec ? 0 : bytes));
  }
  id.set("shard", std::string_view(o.shard));
  id.set("index", o.index);
  return id.dump();
}

std::optional<EarlierOutput> open_earlier(const RecordRunOptions& o) {
  if (!o.resume) return std::nullopt;
  if (o.output.empty()) throw Error("usage", "--resume needs -o FILE");
  return EarlierOutput(o.output);
}

}  // namespace

RecordRun::RecordRun(const char* tool, Stdout& out, RecordRunOptions options)
    : tool_(tool),
      opt_(std::move(options)),
      shard_(opt_.shard.empty() ? Shard{} : Shard::parse(opt_.shard)),
      input_(opt_.files),
      earlier_(open_earlier(opt_)),
      resuming_(check_identity(opt_.output, full_identity(opt_), earlier_ && !earlier_->empty())),
      output_(out, opt_.output, resuming_) {
  if (opt_.retry_errors && !opt_.resume) throw Error("usage", "--retry-errors needs --resume");
  const bool show = opt_.progress || stderr_is_tty();
  progress_.emplace(show, show ? input_.count(&shard_) : std::nullopt, tool_);
}

std::optional<RecordRun::Item> RecordRun::next() {
  std::string line;
  uint64_t line_no = 0;
  while (input_.next(line, line_no)) {
    const uint64_t pos = position_++;
    Item it{0, {}, line_no};
    std::optional<Error> bad;
    try {
      it.rec = parse_json_object(line);
    } catch (const Error& e) {
      bad = Error(e.code(), input_.source() + " line " + std::to_string(line_no) + ": " + e.what());
    }
    if (bad ? !shard_.takes_position(pos) : !shard_.takes(it.rec, pos)) continue;
    if (opt_.index) it.rec.set("index", static_cast<int64_t>(pos));
    it.seq = next_seq_++;
    // The earlier run's record at this place, until they run out (then the rewritten output
    // takes the earlier file's place).
    std::optional<std::pair<std::string, JsonObject>> before;
    if (resuming_ && earlier_ && !earlier_->empty()) {
      before = earlier_->next();
      if (!before) output_.settle();
    }
    if (bad) {
      done(it.seq, opt_.error_record(opt_.index ? &it.rec : nullptr, *bad, line_no), true);
      continue;
    }
    if (before) {
      const std::string* was = before->second.raw("id");
      const std::string* is = it.rec.raw("id");
      if ((was == nullptr) != (is == nullptr) || (was && *was != *is))
        throw Error("usage", "--resume: input record " + std::to_string(it.seq + 1) + " (" + (is ? "id " + *is : "no id") +
                                 ") is not the one the earlier run wrote there (" + (was ? "id " + *was : "no id") +
                                 "): the input differs from the first run's");
      const bool was_error = before->second.has("error");
      if (!was_error || !opt_.retry_errors) {
        ++kept_;
        if (was_error) ++kept_failed_;
          done(it.seq, std::move(before->first), was_error);
        continue;
      }
    }
    return it;
  }
  return std::nullopt;
}

void RecordRun::done(uint64_t seq, std::string line, bool failed, uint64_t tokens) {
  ++answered_;
  if (failed) ++failed_;
  tokens_ += tokens;
  ready_[seq] = std::move(line);
  flush();
}

void RecordRun::done_error(uint64_t seq, const JsonObject* rec, const Error& e) {
  done(seq, opt_.error_record(rec, e, std::nullopt), true);
}

void RecordRun::flush() {
  for (auto it = ready_.begin(); it != ready_.end() && it->first == written_; it = ready_.erase(it), ++written_)
    output_.record(it->second);
  progress_->update(written_, static_cast<uint64_t>(failed_), tokens_);
}

void RecordRun::finish() {
  if (earlier_ && !earlier_->empty() && earlier_->next())
    std::fprintf(stderr, "%s: warning: %s holds more records than the input; the extra ones are dropped\n", tool_,
                 earlier_->path().c_str());
  output_.finish();
  progress_->finish();
  if (kept_) std::fprintf(stderr, "%s: %llu records kept from the earlier run\n", tool_, static_cast<unsigned long long>(kept_));
}

void RecordRun::stop() {
  if (!output_.to_file())
    for (const auto& [seq, text] : ready_) output_.record(text);
  progress_->finish();
}

}  // namespace llmkit

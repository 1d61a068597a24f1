#include "resume.h"

#include <filesystem>
#include <sstream>

#include "llmkit/atomic_file.h"
#include "llmkit/error.h"

using llmkit::Error;

ResumeSource::ResumeSource(const std::string& output) {
  for (const std::string& p : {output + ".partial", output}) {
    if (!std::filesystem::exists(p)) continue;
    path_ = p;
    file_ = std::make_unique<std::ifstream>(p, std::ios::binary);
    if (!*file_) throw Error("usage", "--resume: cannot read " + p);
    reader_ = std::make_unique<llmkit::JsonlReader>(*file_);
    return;
  }
}

std::optional<std::pair<std::string, llmkit::JsonObject>> ResumeSource::next() {
  if (!reader_) return std::nullopt;
  std::string line;
  uint64_t no = 0;
  try {
    if (reader_->next_line(line, no)) {
      std::pair<std::string, llmkit::JsonObject> r{line, llmkit::parse_json_object(line)};
      ++read_;
      return r;
    }
  } catch (const Error&) {
    // A torn last record or a compressed stream cut inside a frame: what follows is redone.
  }
  reader_.reset();
  file_.reset();
  return std::nullopt;
}

void check_run_identity(const std::string& output, const std::string& identity, bool resuming) {
  const std::string path = output + ".run.json";
  if (!resuming) {
    llmkit::AtomicFile f(path);
    const std::string text = identity + "\n";
    f.write(text.data(), text.size());
    f.commit();
    return;
  }
  std::ifstream in(path);
  if (!in)
    throw Error("usage", "--resume: " + path + " is missing, so the earlier output cannot be checked to come from the same command");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string earlier_text = ss.str();
  while (!earlier_text.empty() && (earlier_text.back() == '\n' || earlier_text.back() == '\r')) earlier_text.pop_back();
  const llmkit::JsonObject earlier = llmkit::parse_json_object(earlier_text);
  const llmkit::JsonObject now = llmkit::parse_json_object(identity);
  std::string differ;
  for (const auto& [key, value] : now.fields()) {
    const std::string* was = earlier.raw(key);
    if (!was || *was != value) differ += (differ.empty() ? "" : ", ") + key + " (was " + (was ? *was : "absent") + ", now " + value + ")";
  }
  if (!differ.empty())
    throw Error("usage", "--resume: this command differs from the run that wrote " + output + ": " + differ +
                             " (start a new output, or run the first command again)");
}

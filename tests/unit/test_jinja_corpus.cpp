// Every chat template of the corpus (llama.cpp's models/templates in ../shared/templates, and the
// templates of the models `make models` fetches, in tests/data/chat_templates) rendered for every
// test conversation must equal Python jinja2's rendering byte for byte, or raise where jinja2
// raised. The expected renderings come from tests/reference/chat_templates.py.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <iomanip>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <map>
#include <optional>
#include <sstream>

#include "llmkit/jinja.h"
#include "llmkit/jsonl.h"
#include "support/fixture.h"

using namespace llmkit;
namespace fs = std::filesystem;

namespace {

const fs::path kData = fs::path(LLMKIT_TEST_DATA) / "chat_templates";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Corpus {
  jinja::Value spec;  // conversations.json
  jinja::RenderOptions options;
  std::map<std::string, jinja::Value> conversations, tools;
  Corpus() {
    spec = jinja::from_json(slurp(kData / "conversations.json"));
    for (const jinja::Value& c : spec.o->find("conversations")->a->items)
    {
      conversations[c.o->find("name")->str()] = *c.o->find("messages");
      const jinja::Value* t = c.o->find("tools");
      tools[c.o->find("name")->str()] = t ? *t : jinja::Value::none();
    }
    std::tm tm{};
    std::istringstream(spec.o->find("now")->str()) >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
    tm.tm_isdst = -1;
    std::tm copy = tm;
    std::mktime(&copy);  // fills tm_wday and tm_yday, which %a and %j need
    tm.tm_wday = copy.tm_wday;
    tm.tm_yday = copy.tm_yday;
    options.fixed_time = true;
    options.time = tm;
  }
  jinja::Value context(const std::string& conversation, bool add_generation_prompt) const {
    return jinja::Value::object({{"messages", conversations.at(conversation)},
                                 {"tools", tools.at(conversation)},
                                 {"documents", jinja::Value::none()},
                                 {"add_generation_prompt", jinja::Value::boolean(add_generation_prompt)},
                                 {"bos_token", *spec.o->find("bos_token")},
                                 {"eos_token", *spec.o->find("eos_token")}});
  }
};

}  // namespace

TEST_CASE("Chat templates of the corpus render as jinja2 renders them", "[jinja][corpus]") {
  Corpus corpus;
  std::ifstream in(kData / "expected.jsonl.zst", std::ios::binary);
  REQUIRE(in);
  JsonlReader reader(in);
  const auto shared = fixture::shared_dir();
  std::map<std::string, std::optional<jinja::Template>> templates;
  std::map<std::string, std::string> parse_errors;
  std::string line;
  uint64_t line_no = 0;
  int compared = 0, raised = 0, skipped = 0, failed = 0;
  while (reader.next_line(line, line_no)) {
    const jinja::Value rec = jinja::from_json(line);
    const std::string name = rec.o->find("template")->str();
    fs::path path = kData / name;
    if (!fs::exists(path)) {
      if (!shared) {
        ++skipped;
        continue;
      }
      path = *shared / "templates" / name;
    }
    if (!templates.count(name)) {
      try {
        templates[name].emplace(slurp(path));
      } catch (const jinja::JinjaError& e) {
        templates[name].reset();
        parse_errors[name] = e.what();
      }
    }
    const std::string conv = rec.o->find("conversation")->str();
    const bool agp = rec.o->find("add_generation_prompt")->b;
    const jinja::Value* expected = rec.o->find("output");
    std::string got, error;
    if (!templates[name]) {
      error = parse_errors[name];
    } else {
      try {
        got = templates[name]->render(corpus.context(conv, agp), corpus.options);
      } catch (const jinja::JinjaError& e) {
        error = e.what();
      }
    }
    if (expected) {
      const std::string& want = expected->str();
      if (!error.empty() || got != want) {
        ++failed;
        size_t at = 0;
        while (at < got.size() && at < want.size() && got[at] == want[at]) ++at;
        const size_t from = at > 40 ? at - 40 : 0;
        if (const char* dump = std::getenv("JINJA_CORPUS_DUMP")) {  // for debugging: both renderings side by side
          const std::string base = std::string(dump) + "/" + name + "." + conv + "." + std::to_string(agp);
          std::ofstream(base + ".ours") << (error.empty() ? got : error);
          std::ofstream(base + ".want") << want;
        }
        if (failed <= 40)
          FAIL_CHECK(name << " / " << conv << " / agp=" << agp << ": " << (error.empty() ? "differs at byte " + std::to_string(at) : error)
                          << "\n  ours:   " << got.substr(from, 100) << "\n  jinja2: " << want.substr(from, 100));
      }
      ++compared;
    } else {
      if (error.empty()) {
        ++failed;
        if (failed <= 40) FAIL_CHECK(name << " / " << conv << " / agp=" << agp << ": jinja2 raised " << rec.o->find("error")->str());
      }
      ++raised;
    }
  }
  WARN(compared << " renderings compared, " << raised << " raised in jinja2, " << skipped
                << " skipped (../shared absent), " << failed << " differ");
  CHECK(failed == 0);
  CHECK(compared + raised > 0);
  if (shared) CHECK(templates.size() == 71);
}

// Rendering must cost nothing next to a model's forward pass: well under 1 ms a record for the
// longest template. Prints each template's mean time (bench/chat_templates.sh shows them with
// jinja2's beside them).
TEST_CASE("Chat templates render in well under a millisecond", "[jinja][speed]") {
  const auto shared = fixture::shared_dir();
  if (!shared) {
    WARN("SKIP: ../shared absent");
    return;
  }
  Corpus corpus;
  const jinja::Value ctx = corpus.context("system_multi_turn", true);
  double worst = 0;
  std::string worst_name;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(*shared / "templates"))
    if (e.path().extension() == ".jinja") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& p : files) {
    std::optional<jinja::Template> t;
    try {
      t.emplace(slurp(p));
      t->render(ctx, corpus.options);
    } catch (const jinja::JinjaError&) {
      continue;  // templates that reject this conversation
    }
    const int reps = 50;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) t->render(ctx, corpus.options);
    const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / reps;
    if (std::getenv("JINJA_SPEED_REPORT")) std::printf("%s\t%.1f\n", p.filename().c_str(), us);
    if (us > worst) worst = us, worst_name = p.filename().string();
  }
  WARN("slowest template: " << worst_name << ", " << worst << " us per render");
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  CHECK(worst < 1000);
#endif
}

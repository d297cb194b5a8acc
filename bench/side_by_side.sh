#!/usr/bin/env bash
# Side-by-side speed of gemma4 and llama.cpp on the same GGUF files (issue 9, item 4).
#
# Writes full-size GGUFs of a Hugging Face Gemma 4 folder (default: the random-weight E2B at
# /work/models/e2b-random) with `gemma4 quantize` (once; reused while newer than the folder),
# then, for each type, runs llama.cpp (node-llama-cpp 3.22.1, tools/llama_parity/llama_bench.mjs)
# and `gemma4 generate --timing` on the same file with the same threads, prompt (BOS then ids
# 10, 11, ...) and number of generated tokens, and prints both speeds and gemma4 / llama.cpp.
#
# Usage: bench/side_by_side.sh [GEMMA4_BINARY=build/gemma4] [MODEL_DIR=/work/models/e2b-random]
# Environment: THREADS (2), PROMPT (128 tokens), GEN (32 tokens), REPEATS (3; best run of each
# engine counts), TYPES ("q4_0 q8_0"), WORK (~/.cache/gemma4-dev/side-by-side: where the GGUFs go),
# QUANTIZE_ARGS (extra `gemma4 quantize` flags; e.g. "--layers 6" for a smoke run on the tiny
# goldens model, whose KV sharing llama.cpp cannot run whole).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
GEMMA4=$(realpath "${1:-$ROOT/build/gemma4}")
MODEL=${2:-/work/models/e2b-random}
THREADS=${THREADS:-2} PROMPT=${PROMPT:-128} GEN=${GEN:-32} REPEATS=${REPEATS:-3}
TYPES=${TYPES:-q4_0 q8_0}
QUANTIZE_ARGS=${QUANTIZE_ARGS:-}
WORK=${WORK:-${XDG_CACHE_HOME:-$HOME/.cache}/gemma4-dev/side-by-side}
export GEMMA4_LLAMA_NPM_DIR=${GEMMA4_LLAMA_NPM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gemma4-dev/npm-llama}

[[ -x $GEMMA4 ]] || { echo "side_by_side: $GEMMA4 is not an executable (build first: ninja -C build)" >&2; exit 1; }
[[ -f $MODEL/config.json ]] || { echo "side_by_side: $MODEL has no config.json" >&2; exit 1; }
command -v node >/dev/null || { echo "side_by_side: node is required (apt-get install nodejs npm)" >&2; exit 1; }
if [[ ! -f $GEMMA4_LLAMA_NPM_DIR/node_modules/node-llama-cpp/package.json ]]; then
  mkdir -p "$GEMMA4_LLAMA_NPM_DIR"
  (cd "$GEMMA4_LLAMA_NPM_DIR" && { [[ -f package.json ]] || echo '{"name":"gemma4-llama-cache","private":true}' > package.json; } &&
   npm install --no-audit --no-fund --ignore-scripts node-llama-cpp@3.22.1 >&2)
fi
mkdir -p "$WORK"

# The prompt llama_bench.mjs evaluates: BOS (2), then 10 + (i mod 200).
IDS=$(node -e "const P=$PROMPT; console.log([2, ...Array.from({length: P - 1}, (_, i) => 10 + (i % 200))].join(','))")

# gemma4: best of REPEATS runs; one JSON line like llama_bench.mjs's.
gemma4_bench() {
  local gguf=$1 best_p=0 best_d=0 line p d
  for ((r = 0; r < REPEATS; ++r)); do
    line=$("$GEMMA4" generate --model "$gguf" --ids "$IDS" --max-tokens "$GEN" --ignore-eos --greedy --timing \
             --threads "$THREADS" 2>&1 >/dev/null | grep '^load ')
    # "load L s; prefill P tokens X s; decode N tokens Y s (Z tokens/s)"
    p=$(awk -v n="$PROMPT" '{for (i = 1; i <= NF; ++i) if ($i == "prefill") { print n / $(i + 3); exit }}' <<<"$line")
    d=$(sed -E 's/.*\(([0-9.]+) tokens\/s\).*/\1/' <<<"$line")
    echo "  gemma4 run $((r + 1)): $line" >&2
    best_p=$(awk -v a="$best_p" -v b="$p" 'BEGIN { print (b > a ? b : a) }')
    best_d=$(awk -v a="$best_d" -v b="$d" 'BEGIN { print (b > a ? b : a) }')
  done
  echo "{\"prefill_tok_s\": $best_p, \"decode_tok_s\": $best_d}"
}

json_field() { node -e "console.log(JSON.parse(process.argv[1])[process.argv[2]])" "$1" "$2"; }

echo "side by side: $MODEL, threads $THREADS, prompt $PROMPT tokens, generate $GEN tokens, best of $REPEATS" >&2
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
RESULTS=()
for type in $TYPES; do
  gguf=$WORK/$(basename "$MODEL")-$type.gguf
  if [[ ! -f $gguf || $MODEL/model.safetensors -nt $gguf && -f $MODEL/model.safetensors ]]; then
    echo "writing $gguf" >&2
    "$GEMMA4" quantize "$MODEL" "$gguf.tmp" --type "$type" $QUANTIZE_ARGS >&2
    mv "$gguf.tmp" "$gguf"
  fi
  echo "[$type] llama.cpp" >&2
  llama=$(node "$ROOT/tools/llama_parity/llama_bench.mjs" "$gguf" "$PROMPT" "$GEN" "$THREADS" "$REPEATS" | tail -n 1)
  echo "[$type] gemma4" >&2
  ours=$(gemma4_bench "$gguf")
  RESULTS+=("$type $(json_field "$llama" prefill_tok_s) $(json_field "$llama" decode_tok_s) $(json_field "$ours" prefill_tok_s) $(json_field "$ours" decode_tok_s)")
done

echo
printf '%-6s | %-28s | %-28s | %s\n' type "prefill tok/s (llama / ours)" "decode tok/s (llama / ours)" "ratio ours/llama (prefill, decode)"
for row in "${RESULTS[@]}"; do
  read -r type lp ld op od <<<"$row"
  awk -v t="$type" -v lp="$lp" -v ld="$ld" -v op="$op" -v od="$od" 'BEGIN {
    printf "%-6s | %12.2f / %-13.2f | %12.2f / %-13.2f | %.2fx, %.2fx\n", t, lp, op, ld, od, op / lp, od / ld }'
done

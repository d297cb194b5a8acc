#!/usr/bin/env bash
# Side-by-side speed of gemma4 and llama.cpp on the same GGUF files (issue 9, item 4).
#
# Writes full-size GGUFs of a Hugging Face Gemma 4 folder (default: the random-weight E2B at
# /work/models/e2b-random) with `gemma4 quantize` (once; reused while newer than the folder),
# then, for each type, runs llama.cpp (node-llama-cpp 3.22.1, tools/llama_parity/llama_bench.mjs)
# and `gemma4 bench` on the same file with the same threads, prompt length and number of
# generated tokens, and prints both speeds and gemma4 / llama.cpp. (gemma4's CPU-time estimate,
# its speed if the cores were its own, is printed too: on a shared machine it is the steadier.)
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

# gemma4 bench: best of REPEATS runs, as one JSON line. llama_bench.mjs times the prefill (which
# yields the first token) and GEN - 1 decode steps; `gemma4 bench -n` counts decode steps after
# the prefill, so it gets GEN - 1 too. (Its prompt ids are random; speed does not depend on them.)
gemma4_bench() {
  local gguf=$1 best_p=0 best_d=0 best_pc=0 best_dc=0 line
  for ((r = 0; r < REPEATS; ++r)); do
    line=$("$GEMMA4" bench --model "$gguf" -p "$PROMPT" -n $((GEN - 1)) --threads "$THREADS" --json |
           node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.stringify(JSON.parse(s))))')
    echo "  gemma4 run $((r + 1)): $line" >&2
    read -r p d pc dc < <(node -e 'const j = JSON.parse(process.argv[1]);
      console.log(j.prompt_tokens_per_s, j.gen_tokens_per_s, j.prompt_tokens_per_s_cpu, j.gen_tokens_per_s_cpu)' "$line")
    best_p=$(awk -v a="$best_p" -v b="$p" 'BEGIN { print (b > a ? b : a) }')
    best_d=$(awk -v a="$best_d" -v b="$d" 'BEGIN { print (b > a ? b : a) }')
    best_pc=$(awk -v a="$best_pc" -v b="$pc" 'BEGIN { print (b > a ? b : a) }')
    best_dc=$(awk -v a="$best_dc" -v b="$dc" 'BEGIN { print (b > a ? b : a) }')
  done
  echo "{\"prefill_tok_s\": $best_p, \"decode_tok_s\": $best_d, \"prefill_tok_s_cpu\": $best_pc, \"decode_tok_s_cpu\": $best_dc}"
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
  RESULTS+=("$type $(json_field "$llama" prefill_tok_s) $(json_field "$llama" decode_tok_s) $(json_field "$ours" prefill_tok_s) $(json_field "$ours" decode_tok_s) $(json_field "$ours" prefill_tok_s_cpu) $(json_field "$ours" decode_tok_s_cpu)")
done

echo
printf '%-6s | %-28s | %-28s | %-22s | %s\n' type "prefill tok/s (llama / ours)" "decode tok/s (llama / ours)" \
  "ours/llama (prefill, decode)" "ours, CPU-time estimate (prefill, decode)"
for row in "${RESULTS[@]}"; do
  read -r type lp ld op od opc odc <<<"$row"
  awk -v t="$type" -v lp="$lp" -v ld="$ld" -v op="$op" -v od="$od" -v opc="$opc" -v odc="$odc" 'BEGIN {
    printf "%-6s | %12.2f / %-13.2f | %12.2f / %-13.2f | %8.2fx, %-10s | %.2f, %.2f tok/s\n", t, lp, op, ld, od, op / lp, sprintf("%.2fx", od / ld), opc, odc }'
done

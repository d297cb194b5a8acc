#!/usr/bin/env bash
# Full-size check (not in ctest): writes a random-weight E2B folder if it is missing,
# loads it and generates a few tokens, printing load time, decode speed and peak RSS.
# Usage: tools/e2b-random-smoke.sh [model-dir] [tokens]     (default /work/models/e2b-random, 4)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/work/models/e2b-random}
tokens=${2:-4}
bin=./build/gemma4
if [[ ! -f $dir/model.safetensors ]]; then
  tmp="$dir.partial"
  rm -rf "$tmp"
  tok=${GEMMA4_TOKENIZER_DIR:-}
  $bin dev make-random --config e2b --out "$tmp" --seed 1 ${tok:+--tokenizer "$tok"}
  mv "$tmp" "$dir"
fi
/usr/bin/time -v $bin generate --model "$dir" --ids 2,17,33 --max-tokens "$tokens" --greedy --ignore-eos --timing \
  2> >(grep -E "^load|^memory|Maximum resident|Elapsed|User time" >&2)

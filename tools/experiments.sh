#!/usr/bin/env bash
# The three experiments of ../shared/EXPERIMENTS.md, timed (README "Performance").
# Usage: tools/experiments.sh [MODEL] [MAX_TOKENS_CAP] [extra gemma4 run flags...]
#   MODEL           default google/gemma-4-E2B-it; for the random full-size E2B use
#                   "$(python3 tools/e2b-random-multimodal.py)" (text + vision + audio weights)
#   MAX_TOKENS_CAP  caps each experiment's --max-tokens (1024 / 512 / 128) for quick runs
# IMAGE and AUDIO (environment) choose the inputs; defaults: bench/photo_640x480.png and the
# tiny goldens' speech clip. A random-weight model never stops by itself, so every answer runs
# to its token limit: the numbers measure speed, not answers.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-google/gemma-4-E2B-it}
cap=${2:-100000}
shift $(( $# > 2 ? 2 : $# ))
bin=./build/gemma4
image=${IMAGE:-bench/photo_640x480.png}
audio=${AUDIO:-../shared/goldens/tiny/speech.wav}
[[ -f $audio ]] || audio=/work/shared/goldens/tiny/speech.wav
system="You are a helpful assistant that specializes in answering shortly to any question."
limit() { echo $(( $1 < cap ? $1 : cap )); }

run() {
  local name=$1; shift
  echo "== $name"
  echo "   $bin run -m $model --system \"…\" --think $* ${EXTRA:-}" | cut -c1-200
  /usr/bin/time -f "   wall %e s, peak RSS %M kB" "$bin" run -m "$model" --system "$system" --think --seed 1 "$@" \
    >/dev/null 2> >(grep -E "^load|wall|error" | sed 's/^/   /' >&2)
  wait
}

run "1. text" --max-tokens "$(limit 1024)" "$@" -p "What is the distance from Earth to the Moon?"
run "2. image" --max-tokens "$(limit 512)" --image "$image" "$@" -p "What you can see in this image?"
run "3. audio" --max-tokens "$(limit 128)" --audio "$audio" "$@" \
  -p "Transcribe the following audio exactly. Only output transcription."

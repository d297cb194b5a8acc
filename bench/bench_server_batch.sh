#!/usr/bin/env bash
# Batched decoding through `gemma4 serve`: total decode tokens/s with 1 request vs 4 concurrent
# requests (one batched forward serves all four; decode is bandwidth-bound, so 4 should cost
# little more than 1).
#
# Usage: bench/bench_server_batch.sh [MODEL_DIR] [MAX_TOKENS] [extra serve flags...]
#   MODEL_DIR   default /work/models/e2b-random (full-size E2B with random weights + tokenizer)
#   MAX_TOKENS  tokens generated per request (default 24)
# Env: GEMMA4 (the binary, default build/gemma4), PORT (default 18090).
# Prints, per case: wall seconds, completion tokens, aggregate tokens/s over the wall time and
# decode tokens/s (tokens after the first, over the decode phase as the server timed it).
set -euo pipefail
MODEL=${1:-/work/models/e2b-random}
MAX_TOKENS=${2:-24}
shift $(( $# > 2 ? 2 : $# )) || true
BIN=${GEMMA4:-build/gemma4}
PORT=${PORT:-18090}
URL=http://127.0.0.1:$PORT
LOG=$(mktemp)

"$BIN" serve -m "$MODEL" --port "$PORT" --parallel 4 --ctx-size 4096 "$@" 2>"$LOG" &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 1 600); do
  grep -q "listening on" "$LOG" && break
  kill -0 $PID 2>/dev/null || { cat "$LOG"; exit 1; }
  sleep 0.5
done
grep "loaded" "$LOG" || true

ask() {  # ask N OUT: one greedy completion of MAX_TOKENS tokens, response JSON to OUT
  curl -s "$URL/v1/chat/completions" -H 'Content-Type: application/json' -o "$2" -d @- <<JSON
{"model":"m","temperature":0,"max_tokens":$MAX_TOKENS,
 "messages":[{"role":"user","content":"Request $1: tell me a long story about ships, harbours and the sea."}]}
JSON
}

report() {  # report LABEL WALL FILES...
  python3 - "$@" <<'PY'
import json, sys
label, wall, files = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
rs = [json.load(open(f)) for f in files]
toks = sum(r["usage"]["completion_tokens"] for r in rs)
after_first = sum(max(r["usage"]["completion_tokens"] - 1, 0) for r in rs)
decode_s = max(r["timings"]["decode_ms"] for r in rs) / 1000
prefill_s = max(r["timings"]["prefill_ms"] for r in rs) / 1000
print(f"{label}: {len(rs)} request(s), wall {wall:.2f} s, {toks} completion tokens, "
      f"aggregate {toks / wall:.2f} tok/s, decode {after_first / decode_s:.2f} tok/s "
      f"(longest decode phase {decode_s:.2f} s, longest prefill {prefill_s:.2f} s)")
PY
}

DIR=$(mktemp -d)
ask 0 "$DIR/warm.json"  # first-touch of the mapped weights
start=$(date +%s.%N); ask 1 "$DIR/one.json"; end=$(date +%s.%N)
report "1 request " "$(echo "$end - $start" | bc)" "$DIR/one.json"
start=$(date +%s.%N)
pids=()
for i in 1 2 3 4; do ask $((i + 10)) "$DIR/four_$i.json" & pids+=($!); done
wait "${pids[@]}"
end=$(date +%s.%N)
report "4 requests" "$(echo "$end - $start" | bc)" "$DIR"/four_*.json
curl -s "$URL/metrics" | grep -E "^gemma4_(prompt|completion|cached)" || true
rm -rf "$DIR"

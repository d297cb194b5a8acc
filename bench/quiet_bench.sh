#!/bin/bash
# The measurements of the README performance table, one after another (run on an idle machine).
#   bash bench/quiet_bench.sh   (MODEL: the full-size random E2B folder, default
#   /work/models/e2b-random; the towers are read from /work/models/vision-random and
#   /work/models/audio-random, written by bench_vision.sh / bench_audio when missing)
cd "$(dirname "$0")/.."
M=${MODEL:-/work/models/e2b-random}
echo "=== $(date) uptime: $(uptime)"
echo "=== one-core peaks"; ./build/bench_gemm 2520 2 0 2>&1 | head -1
for w in q4 q8; do
  echo "=== bench $w"; ./build/gemma4 bench --model $M -p 512 -n 128 --weights $w --threads 2 --batch 4 2>&1
done
echo "=== vision"; bash bench/bench_vision.sh /work/models/vision-random 280 2>&1 | tail -12
echo "=== audio fast"; ./build/bench_audio /work/models/audio-random 10 30 2>&1 | tail -3
echo "=== audio int8"; ./build/bench_audio /work/models/audio-random 10 30 --int8 2>&1 | tail -3
echo "=== side by side"; THREADS=2 PROMPT=512 GEN=128 REPEATS=1 bash bench/side_by_side.sh build/gemma4 $M 2>&1 | tail -30
echo "=== done $(date) $(uptime)"

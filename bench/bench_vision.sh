#!/usr/bin/env bash
# Vision tower speed: encode a 640x480 photo at a soft-token budget (default 280) with the
# full-size E2B vision tower (random weights) and print the time of each stage.
#
#   bash bench/bench_vision.sh [MODEL_DIR] [BUDGET]
#
# The default numerics are the fast ones (packed bf16 GEMM), then the int8 ones (--int8: int8
# linears on AVX512-VNNI) in the same run; EXACT=1 also times the float32
# reference (--exact, several times slower) in the same run, for the ratio. The encode line
# reports wall and CPU seconds (CPU time stays meaningful when the machine is shared).
#
# MODEL_DIR defaults to /work/models/e2b-random if it holds vision tensors, else
# /work/models/vision-random (written by bench/make_random_vision.py when missing).
# Work at budget 280: N = 2394 patches, ~723 GFLOP of linears + ~282 GFLOP of attention.
# When the machine is shared, compare the "cpu" seconds of runs made one after the other.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${GEMMA4_BIN:-build/gemma4}
MODEL=${1:-}
BUDGET=${2:-280}
if [[ -z "$MODEL" ]]; then
  if [[ -f /work/models/e2b-random/config.json ]] &&
     "$BIN" inspect /work/models/e2b-random 2>/dev/null | grep -q "model.vision_tower"; then
    MODEL=/work/models/e2b-random
  else
    MODEL=/work/models/vision-random
    [[ -f $MODEL/model.safetensors ]] || python3 bench/make_random_vision.py "$MODEL"
  fi
fi
PHOTO=bench/photo_640x480.png
[[ -f $PHOTO ]] || python3 bench/make_photo.py "$PHOTO"
OUT=$(mktemp --suffix=.npy)
trap 'rm -f "$OUT"' EXIT
echo "model: $MODEL  budget: $BUDGET  photo: $PHOTO"
/usr/bin/time -f "wall %e s, cpu %U+%S s, max RSS %M KB" "$BIN" embed-image --model "$MODEL" --image "$PHOTO" \
  --image-tokens "$BUDGET" --out "$OUT" --timing
/usr/bin/time -f "wall %e s, cpu %U+%S s, max RSS %M KB" "$BIN" embed-image --model "$MODEL" --image "$PHOTO" \
  --image-tokens "$BUDGET" --out "$OUT" --timing --int8
if [[ ${EXACT:-0} == 1 ]]; then
  /usr/bin/time -f "wall %e s, cpu %U+%S s, max RSS %M KB" "$BIN" embed-image --model "$MODEL" --image "$PHOTO" \
    --image-tokens "$BUDGET" --out "$OUT" --timing --exact
fi

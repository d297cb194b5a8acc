#!/usr/bin/env bash
# Builds the image decoder fuzz target (stb_image PNG/JPEG/BMP/GIF, libwebp) with
# clang/libFuzzer (+ASan/UBSan) and runs it for a short time (default 30 s).
# Usage: tools/fuzz-image.sh [seconds]    Seeds: the tiny goldens' PNGs when ../shared is present.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
out=build-fuzz
mkdir -p "$out/image-corpus"
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -Isrc -I/usr/include/stb \
  fuzz/fuzz_image_decode.cpp src/media/image_decode.cpp src/base/mapped_file.cpp \
  $(pkg-config --cflags --libs libwebp) -o "$out/fuzz_image_decode"
for png in ../shared/goldens/tiny/image_a.png; do
  [[ -f $png ]] && cp "$png" "$out/image-corpus/"
done
"$out/fuzz_image_decode" "$out/image-corpus" -max_total_time="$seconds" -max_len=65536 \
  -rss_limit_mb=2048 -print_final_stats=1

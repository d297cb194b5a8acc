#!/usr/bin/env bash
# Builds the GGUF fuzz target (the parser, dequantization and, for mmproj inputs, the mmproj
# loader) with clang/libFuzzer (+ASan/UBSan) and runs it for a short time (default 60 s).
# Usage: tools/fuzz-gguf.sh [seconds] [GEMMA4_BINARY]
# Seeds: a Q8_0 mmproj of the tiny goldens model when ../shared and a gemma4 binary are present.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
gemma4=${2:-build/gemma4}
out=build-fuzz
mkdir -p "$out/corpus-gguf"
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -Isrc -I/usr/include/stb \
  fuzz/fuzz_gguf.cpp src/io/gguf.cpp src/io/hf_to_gguf.cpp src/io/safetensors.cpp src/base/mapped_file.cpp \
  src/tensor/dtype.cpp src/tensor/ggml_types.cpp src/tensor/quant.cpp src/model/mmproj_loader.cpp \
  -o "$out/fuzz_gguf"
tiny=../shared/goldens/tiny
if [[ -d $tiny && -x $gemma4 && ! -f $out/corpus-gguf/mmproj-q8.gguf ]]; then
  "$gemma4" quantize "$tiny" "$out/text-q8.gguf" --type q8_0 --mmproj "$out/corpus-gguf/mmproj-q8.gguf" >/dev/null
fi
"$out/fuzz_gguf" "$out/corpus-gguf" -max_total_time="$seconds" -max_len=400000 -print_final_stats=1

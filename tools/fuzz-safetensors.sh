#!/usr/bin/env bash
# Builds the safetensors header fuzz target with clang/libFuzzer (+ASan/UBSan) and runs it
# for a short time (default 30 s). Usage: tools/fuzz-safetensors.sh [seconds]
# Seeds: the tiny golden checkpoint's header when ../shared is present.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
out=build-fuzz
mkdir -p "$out/corpus"
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -Isrc \
  fuzz/fuzz_safetensors.cpp src/io/safetensors.cpp src/base/mapped_file.cpp src/tensor/dtype.cpp \
  -o "$out/fuzz_safetensors"
tiny=../shared/goldens/tiny/model.safetensors
if [[ -f $tiny ]]; then
  # The header plus a little data is a good seed (the whole file is not needed).
  head -c 65536 "$tiny" > "$out/corpus/tiny_head"
fi
"$out/fuzz_safetensors" "$out/corpus" -max_total_time="$seconds" -max_len=65536 -print_final_stats=1

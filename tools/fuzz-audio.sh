#!/usr/bin/env bash
# Builds the audio decoding fuzz target (bytes -> libsndfile virtual I/O -> mono -> soxr) with
# clang/libFuzzer (+ASan/UBSan) and runs it for a short time (default 30 s).
# Usage: tools/fuzz-audio.sh [seconds]
# Seeds: the golden WAV files plus small FLAC / OGG / MP3 files written by sndfile-convert when
# available. Leak checking is off: libsndfile leaks libvorbis state on some corrupt OGG files
# (vorbis_info_init), a library bug outside this code.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
out=build-fuzz
mkdir -p "$out/audio-corpus"
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -Isrc \
  fuzz/fuzz_audio_decode.cpp src/media/audio.cpp src/base/mapped_file.cpp \
  $(pkg-config --cflags --libs sndfile soxr) -o "$out/fuzz_audio_decode"
tiny=../shared/goldens/tiny
if [[ -f $tiny/chirp.wav ]]; then
  head -c 16044 "$tiny/chirp.wav" > "$out/audio-corpus/chirp_head.wav"
  if command -v sndfile-convert > /dev/null; then
    for ext in flac ogg mp3; do
      sndfile-convert "$out/audio-corpus/chirp_head.wav" "$out/audio-corpus/chirp.$ext" 2> /dev/null || true
    done
  fi
fi
ASAN_OPTIONS=detect_leaks=0 "$out/fuzz_audio_decode" "$out/audio-corpus" -max_total_time="$seconds" \
  -max_len=65536 -rss_limit_mb=4096 -print_final_stats=1

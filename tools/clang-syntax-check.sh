#!/usr/bin/env bash
# Checks that every source under src/ compiles with clang, warning-free: the fuzz targets
# (cmake -DGEMMA4_FUZZ=ON) are built with clang's libFuzzer while the release build uses GCC,
# and compiler builtins in the kernels once broke that build unnoticed. Syntax and semantics
# only (-fsyntax-only, no code generation): about two CPU-minutes.
# Usage: tools/clang-syntax-check.sh CLANGXX "AVX2 FLAGS" "AVX-512 FLAGS"   (the ctest ClangCompilesAllSources passes them)
set -euo pipefail
cd "$(dirname "$0")/.."
# The ISA flags come from CMakeLists.txt only, so the two cannot drift apart.
[[ $# -eq 3 ]] || { echo "usage: $0 CLANGXX \"AVX2 FLAGS\" \"AVX-512 FLAGS\"" >&2; exit 2; }
export CLANGXX=$1 AVX2_FLAGS=$2 AVX512_FLAGS=$3
check_one() {
  local isa=""
  case $1 in
    *_avx2.cpp) isa=$AVX2_FLAGS ;;
    *_avx512.cpp) isa=$AVX512_FLAGS ;;
  esac
  # shellcheck disable=SC2086  # the flag lists are meant to split
  "$CLANGXX" -std=c++20 -fsyntax-only -Wall -Wextra -Wno-unused-parameter -Werror -Isrc -I/usr/include/stb \
    -isystem /usr/include/opus $isa "$1"
}
export -f check_one
find src -name '*.cpp' -print0 | sort -z | xargs -0 -P"$(nproc)" -n1 bash -c 'check_one "$0"'
echo "clang compiles all of src/ warning-free"

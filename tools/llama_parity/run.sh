#!/usr/bin/env bash
# llama.cpp parity check for the GGUF writer: installs node-llama-cpp 3.22.1 (prebuilt llama.cpp
# for linux-x64) into a cache folder outside the repository if it is missing, then runs parity.mjs.
#
# Usage: tools/llama_parity/run.sh GEMMA4_BINARY [SHARED_DIR] [WORK_DIR]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GEMMA4=${1:?usage: run.sh GEMMA4_BINARY [SHARED_DIR] [WORK_DIR]}
SHARED=${2:-$HERE/../../../shared}
WORK=${3:-$(mktemp -d /tmp/gemma4-llama-parity-XXXXXX)}
export GEMMA4_LLAMA_NPM_DIR=${GEMMA4_LLAMA_NPM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gemma4-dev/npm-llama}
command -v node >/dev/null || { echo "llama_parity: node is required (apt-get install nodejs npm)" >&2; exit 1; }
if [[ ! -f $GEMMA4_LLAMA_NPM_DIR/node_modules/node-llama-cpp/package.json ]]; then
  mkdir -p "$GEMMA4_LLAMA_NPM_DIR"
  (cd "$GEMMA4_LLAMA_NPM_DIR" && { [[ -f package.json ]] || echo '{"name":"gemma4-llama-cache","private":true}' > package.json; } &&
   npm install --no-audit --no-fund --ignore-scripts node-llama-cpp@3.22.1 >&2)
fi
node "$HERE/parity.mjs" "$GEMMA4" "$SHARED" "$WORK"

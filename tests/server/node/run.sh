#!/usr/bin/env bash
# Runs openai_client_test.mjs: the official `openai` npm client against a gemma4 server binary.
# Installs the client (pinned) into a cache folder outside the repository on first use.
# Usage: run.sh SERVER_BINARY [server flags...]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OPENAI_VERSION=6.30.1
NPM_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/gemma4-dev/npm-openai
command -v node >/dev/null || { echo "run.sh: node is required (apt-get install nodejs npm)" >&2; exit 1; }
if [[ "$(node -p "try{require('$NPM_DIR/node_modules/openai/package.json').version}catch{''}")" != "$OPENAI_VERSION" ]]; then
  mkdir -p "$NPM_DIR"
  (cd "$NPM_DIR" && { [[ -f package.json ]] || echo '{"name":"gemma4-dev-openai","private":true}' > package.json; } &&
   npm install --no-audit --no-fund --ignore-scripts "openai@$OPENAI_VERSION" >&2)
fi
exec node "$HERE/openai_client_test.mjs" "$NPM_DIR" "$@"

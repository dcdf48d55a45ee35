#!/usr/bin/env bash
# Builds the bots app: the locked packages (npm ci, only when package-lock.json changed since the
# last install; from npm's cache when it has them), the contract types generated from protos/,
# then tsc. Called by ./test.sh and ./run.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if ! cmp -s package-lock.json node_modules/.installed-package-lock.json 2>/dev/null; then
  npm ci --prefer-offline --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.installed-package-lock.json
fi

npm run --silent build

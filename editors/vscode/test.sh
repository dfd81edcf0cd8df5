#!/usr/bin/env bash
# The extension's whole check: install, lint, type-check, build, unit tests
# (against the real `atmos` binary and the fake provider), package the .vsix,
# then the end-to-end test in a real VS Code (test/e2e/run.sh).
#
#   ATMOS_BIN=… FAKE_PROVIDER_BIN=… ./test.sh
#
# Both default to the workspace's debug build (cargo build --workspace --bins).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$here"

export ATMOS_BIN="${ATMOS_BIN:-$repo/target/debug/atmos}"
export FAKE_PROVIDER_BIN="${FAKE_PROVIDER_BIN:-$repo/target/debug/fake-provider}"

for bin in "$ATMOS_BIN" "$FAKE_PROVIDER_BIN"; do
  if [ ! -x "$bin" ]; then
    echo "test.sh: $bin is missing: run cargo build --workspace --bins, or set ATMOS_BIN and FAKE_PROVIDER_BIN" >&2
    exit 1
  fi
done

step() { printf '\n== %s\n' "$*"; }

# npm ci only when package-lock.json changed since the last install.
stamp="node_modules/.atmos-lock-stamp"
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -d node_modules ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_sum" ]; then
  step "npm ci (skipped: node_modules matches package-lock.json)"
else
  step "npm ci"
  npm ci --no-audit --no-fund
  echo "$lock_sum" > "$stamp"
fi

step "lint";       npm run lint
step "typecheck";  npm run typecheck
step "build";      npm run build
step "unit tests"; npm run test:unit
step "package";    npm run package

step "end-to-end (a real VS Code: code-server in headless Chromium)"
bash test/e2e/run.sh "$PWD/atmos-ai.vsix"

printf '\nall passed\n'

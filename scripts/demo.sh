#!/usr/bin/env bash
# Builds `atmos` and runs its main job on a fresh machine, with no API key:
# a throwaway project whose provider is the fake one from tests/ (on
# 127.0.0.1), a two-day conversation that remembers, and the session list.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p atmos-cli -p atmos-tests --bins
ATMOS=$PWD/target/release/atmos
WORK=$(mktemp -d)
trap 'kill $FAKE_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
# The fake provider echoes, and says how many messages it was sent.
FAKE_ECHO_HISTORY=1 ./target/release/fake-provider > "$WORK/url" &
FAKE_PID=$!
for _ in $(seq 50); do [ -s "$WORK/url" ] && break; sleep 0.1; done
cat > "$WORK/atmos.yaml" <<YAML
ai:
  default_provider: anthropic
  providers:
    anthropic:
      base_url: $(head -n1 "$WORK/url")   # the fake provider; remove this line for the real API
  sessions:
    enabled: true
    auto_compact:
      enabled: true
YAML
cd "$WORK"
export ANTHROPIC_API_KEY=demo-key-for-the-fake-provider
run() { printf '\n$ %s\n' "$*"; "$@"; }
run "$ATMOS" ai ask --session vpc-design "What are Atmos stacks?"
run "$ATMOS" ai ask --session vpc-design "can you show me an example for production?"
run "$ATMOS" ai ask --session vpc-design "let's continue with the staging variant"
run "$ATMOS" ai sessions
run "$ATMOS" ai sessions show vpc-design

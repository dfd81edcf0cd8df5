#!/usr/bin/env bash
# Whole-command benchmarks of the real `atmos` binary (release build) against
# the fake provider: `sessions list` with 1,000 sessions, one `ask` turn in
# sessions of 10, 2,000 and 100,000 messages, and the tokens sent per turn
# over 200 turns with compaction on and off. Prints markdown for
# docs/benchmarks.md. Needs hyperfine (apt-get install hyperfine); with
# AICHAT=/path/to/aichat it also runs one turn of aichat side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "hyperfine is needed: apt-get install hyperfine" >&2; exit 1; }

cargo build --release -p atmos-cli -p atmos-tests --bins >&2
WORK=$(mktemp -d)
# Copies, so that a build running meanwhile cannot swap the binaries mid-run.
cp target/release/atmos target/release/fake-provider "$WORK/"
ATMOS=$WORK/atmos
FAKE=$WORK/fake-provider
trap 'kill $FAKE_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT

# Replies of at most ~2,000 characters (~500 tokens), like a real summary.
FAKE_ECHO_MAX_CHARS=2000 "$FAKE" > "$WORK/url" &
FAKE_PID=$!
for _ in $(seq 50); do [ -s "$WORK/url" ] && break; sleep 0.1; done
URL=$(head -n1 "$WORK/url")
export ATMOS_BENCH_KEY=bench

project() { # project DIR EXTRA_YAML
  mkdir -p "$1"
  printf 'ai:\n  default_provider: anthropic\n%b  providers:\n    anthropic:\n      base_url: %s\n      api_key_env: ATMOS_BENCH_KEY\n  sessions:\n    enabled: true\n    max_sessions: 0\n' "$2" "$URL" > "$1/atmos.yaml"
}

history_file() { # history_file FILE NAME N
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
path, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
msgs = [{"role": "user" if i % 2 == 0 else "assistant",
         "content": f"message {i}: the staging VPC uses 10.{i % 250}.0.0/16 and three private subnets"}
        for i in range(n)]
json.dump({"version": "1.0", "session": {"name": name, "provider": "anthropic", "model": "claude-sonnet-4-5"},
           "messages": msgs, "statistics": {"message_count": n}}, open(path, "w"))
PY
}

echo "## Whole commands (release build, $(nproc) cores, hyperfine)"
echo

# 1,000 sessions, listed.
project "$WORK/list" ""
history_file "$WORK/one.json" seed 2
for i in $(seq 1000); do (cd "$WORK/list" && "$ATMOS" ai sessions import "$WORK/one.json" --name "s$i" >/dev/null); done
(cd "$WORK/list" && hyperfine -N --warmup 20 --runs 200 --export-markdown "$WORK/list.md" \
  "$ATMOS ai sessions list" "$ATMOS ai sessions list --format json" "$ATMOS ai sessions list --limit 1" >&2)
cat "$WORK/list.md"; echo

# One ask turn at 10, 2,000 and 100,000 messages.
for n in 10 2000 100000; do
  history_file "$WORK/h$n.json" "h$n" "$n"
done
project "$WORK/ask50" "  max_history_messages: 50\n"
project "$WORK/askall" ""
for n in 10 2000 100000; do
  (cd "$WORK/ask50" && "$ATMOS" ai sessions import "$WORK/h$n.json" >/dev/null)
done
for n in 10 2000; do
  (cd "$WORK/askall" && "$ATMOS" ai sessions import "$WORK/h$n.json" >/dev/null)
done
(cd "$WORK/ask50" && hyperfine -N --warmup 10 --runs 100 --export-markdown "$WORK/ask50.md" \
  -n "ask, 10 messages, window 50" "$ATMOS ai ask --session h10 what about staging?" \
  -n "ask, 2,000 messages, window 50" "$ATMOS ai ask --session h2000 what about staging?" \
  -n "ask, 100,000 messages, window 50" "$ATMOS ai ask --session h100000 what about staging?" >&2)
cat "$WORK/ask50.md"; echo
(cd "$WORK/askall" && hyperfine -N --warmup 5 --runs 50 --export-markdown "$WORK/askall.md" \
  -n "ask, 10 messages, no limit" "$ATMOS ai ask --session h10 what about staging?" \
  -n "ask, 2,000 messages, no limit (all sent)" "$ATMOS ai ask --session h2000 what about staging?" >&2)
cat "$WORK/askall.md"; echo

# Side by side with aichat (AICHAT=/path/to/aichat, built with
# `cargo install aichat --version 0.30.0 --locked --root DIR`): one turn in a
# 10-message session, both over the fake's Chat Completions endpoint, each
# session put back to its 10 messages before every run.
if [ -n "${AICHAT:-}" ]; then
  mkdir -p "$WORK/side/aichat/sessions"
  printf 'ai:\n  default_provider: openai\n  max_history_messages: 50\n  providers:\n    openai:\n      base_url: %s/v1\n      api_key_env: ATMOS_BENCH_KEY\n      model: bench\n  sessions:\n    enabled: true\n' "$URL" > "$WORK/side/atmos.yaml"
  printf 'model: fake:bench\nsave_session: true\nclients:\n  - type: openai-compatible\n    name: fake\n    api_base: %s/v1\n    api_key: bench\n    models:\n      - name: bench\n' "$URL" > "$WORK/side/aichat/config.yaml"
  export AICHAT_CONFIG_DIR="$WORK/side/aichat"
  for i in 1 2 3 4 5; do
    (cd "$WORK/side" && "$ATMOS" ai ask --session h10 "message $i: the staging VPC uses 10.$i.0.0/16" >/dev/null)
    (cd "$WORK/side" && "$AICHAT" --session h10 "message $i: the staging VPC uses 10.$i.0.0/16" </dev/null >/dev/null)
  done
  cp -r "$WORK/side/.atmos" "$WORK/side/atmos.saved"
  cp "$WORK/side/aichat/sessions/h10.yaml" "$WORK/side/aichat.saved.yaml"
  (cd "$WORK/side" && hyperfine -N --warmup 10 --runs 100 --export-markdown "$WORK/side.md" \
    --prepare "sh -c 'rm -rf $WORK/side/.atmos && cp -r $WORK/side/atmos.saved $WORK/side/.atmos && cp $WORK/side/aichat.saved.yaml $WORK/side/aichat/sessions/h10.yaml'" \
    -n "atmos ai ask, 10 messages" "$ATMOS ai ask --session h10 what about staging?" \
    -n "aichat $("$AICHAT" --version | cut -d' ' -f2), 10 messages" "$AICHAT --session h10 what about staging?" >&2)
  cat "$WORK/side.md"; echo
fi

# Tokens sent per turn over 200 turns (the fake reports request bytes / 4).
echo "## Tokens sent per turn over 200 turns (max_history_messages: 50)"
echo
project "$WORK/on" "  max_history_messages: 50\n"
printf '    auto_compact:\n      enabled: true\n' >> "$WORK/on/atmos.yaml"
project "$WORK/off" "  max_history_messages: 50\n"
project "$WORK/nolimit" ""
for mode in on off nolimit; do
  for t in $(seq 200); do
    (cd "$WORK/$mode" && "$ATMOS" ai exec --session walk --format json "turn $t: what changed in the staging VPC 10.$t.0.0/16?" 2>/dev/null) \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["usage"]["inputTokens"])' >> "$WORK/$mode.tokens"
  done
done
python3 - "$WORK" <<'PY'
import sys
work = sys.argv[1]
rows = {m: [int(x) for x in open(f"{work}/{m}.tokens")] for m in ("on", "off", "nolimit")}
print("| turns | compaction on (window 50) | compaction off (window 50) | no limit |")
print("|---|---|---|---|")
for t in (1, 10, 19, 20, 50, 100, 150, 200):
    print(f"| {t} | {rows['on'][t-1]} | {rows['off'][t-1]} | {rows['nolimit'][t-1]} |")
for m, label in (("on", "compaction on"), ("off", "compaction off"), ("nolimit", "no limit")):
    r = rows[m]
    print(f"\n{label}: total {sum(r):,} tokens over 200 turns, max {max(r):,} in one turn")
PY
echo; "$PWD/target/release/rpc-bench" "$ATMOS"

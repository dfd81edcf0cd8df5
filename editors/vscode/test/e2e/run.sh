#!/usr/bin/env bash
# End-to-end test of the atmos-ai extension in a real VS Code (code-server) driven by
# headless Chromium.   Usage: test/e2e/run.sh path/to/atmos-ai.vsix
# Env: ATMOS_BIN, FAKE_PROVIDER_BIN (default: the repo's target/debug binaries),
#      ATMOS_TEST_CACHE (install cache root), ATMOS_E2E_ARTIFACTS (screenshots folder),
#      ATMOS_E2E_UPDATE_SCREENSHOTS=1 (copy chat.png / sessions.png into editors/vscode/media/),
#      ATMOS_E2E_KEEP=1 (keep the whole temp state dir, not just logs and screenshots).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
EXT_DIR=$(cd "$HERE/../.." && pwd)          # editors/vscode
REPO=$(cd "$EXT_DIR/../.." && pwd)
say() { printf '[e2e] %s\n' "$*"; }

[ $# -ge 1 ] || { echo "usage: $0 path/to/atmos-ai.vsix" >&2; exit 2; }
VSIX=$(realpath "$1")
[ -f "$VSIX" ] || { echo "no such vsix: $1" >&2; exit 2; }
ATMOS_BIN=$(realpath "${ATMOS_BIN:-$REPO/target/debug/atmos}")
FAKE_PROVIDER_BIN=$(realpath "${FAKE_PROVIDER_BIN:-$REPO/target/debug/fake-provider}")
for b in "$ATMOS_BIN" "$FAKE_PROVIDER_BIN"; do
  [ -x "$b" ] || { echo "missing binary: $b (build with cargo build)" >&2; exit 2; }
done

"$HERE/setup.sh"
C="${ATMOS_TEST_CACHE:-${HOME:-/root}/.cache/atmos-ai-tests}/vscode-e2e"
# shellcheck disable=SC1091
. "$C/env.sh"
CS_ENTRY="$C/cs/node_modules/code-server/out/node/entry.js"

# A fresh profile every run: user data, extensions, XDG dirs, workspace.
STATE=$(mktemp -d "${TMPDIR:-/tmp}/atmos-vscode-e2e.XXXXXX")
ARTIFACTS=$(mkdir -p "${ATMOS_E2E_ARTIFACTS:-$STATE/screenshots}" && cd "${ATMOS_E2E_ARTIFACTS:-$STATE/screenshots}" && pwd)
mkdir -p "$STATE"/{user/User,ext,xdg-config,xdg-data,xdg-cache,logs}
export XDG_CONFIG_HOME="$STATE/xdg-config" XDG_DATA_HOME="$STATE/xdg-data" XDG_CACHE_HOME="$STATE/xdg-cache"
unset ATMOS_CLI_CONFIG_PATH OPENAI_API_KEY
cp "$HERE/settings.json" "$STATE/user/User/settings.json"
say "state: $STATE"

PGIDS=()
STATUS=1
DRIVER=""
cleanup() {
  local rc=$?
  # the driver first: on SIGTERM playwright closes its Chromium
  if [ -n "$DRIVER" ] && kill -0 "$DRIVER" 2>/dev/null; then
    kill -TERM "$DRIVER" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$DRIVER" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DRIVER" 2>/dev/null || true
  fi
  # every background service runs in its own process group: stop the whole group
  for g in "${PGIDS[@]}"; do kill -TERM -- "-$g" 2>/dev/null || true; done
  for _ in $(seq 1 30); do
    alive=0; for g in "${PGIDS[@]}"; do kill -0 -- "-$g" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break; sleep 0.1
  done
  for g in "${PGIDS[@]}"; do kill -KILL -- "-$g" 2>/dev/null || true; done
  if [ "$STATUS" = 0 ] && [ "${ATMOS_E2E_KEEP:-}" != 1 ]; then
    rm -rf "$STATE"/{user,ext,xdg-config,xdg-data,xdg-cache,workspace}
  else
    say "state kept in $STATE (logs in $STATE/logs)"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start CMD... in its own process group (job control on just for this), pid = pgid
start_group() { set -m; "$@" </dev/null & local pid=$!; set +m; PGIDS+=("$pid"); LAST_PID=$pid; }

# 1. the extension, into the fresh extensions dir
say "installing $(basename "$VSIX")"
node "$CS_ENTRY" --user-data-dir "$STATE/user" --extensions-dir "$STATE/ext" \
  --install-extension "$VSIX" --force >"$STATE/logs/install-extension.log" 2>&1 \
  || { cat "$STATE/logs/install-extension.log"; exit 1; }

# 2. the fake provider (prints its URL as the first stdout line)
start_group "$FAKE_PROVIDER_BIN" >"$STATE/logs/fake-provider.out" 2>"$STATE/logs/fake-provider.err"
FAKE_URL=""
for _ in $(seq 1 100); do
  FAKE_URL=$(head -n1 "$STATE/logs/fake-provider.out" 2>/dev/null | tr -d '\r')
  case "$FAKE_URL" in http://*) break ;; esac
  kill -0 "$LAST_PID" 2>/dev/null || { cat "$STATE/logs/fake-provider.err"; exit 1; }
  sleep 0.1
done
case "$FAKE_URL" in http://*) ;; *) say "fake provider printed no URL"; exit 1 ;; esac
say "fake provider: $FAKE_URL"

# 3. the workspace: atmos.yaml pointing at the fake, atmos.path for the extension
WS="$STATE/workspace"
mkdir -p "$WS/.vscode"
cat > "$WS/atmos.yaml" <<YAML
ai:
  default_provider: anthropic
  providers:
    anthropic:
      base_url: $FAKE_URL
  sessions:
    enabled: true
    redact: true
    auto_compact:
      use_ai_summary: false
YAML
printf '{\n  "atmos.path": "%s"\n}\n' "$ATMOS_BIN" > "$WS/.vscode/settings.json"
printf '# e2e workspace\n' > "$WS/README.md"

# 4. code-server on a free port of 127.0.0.1 (a secure context: webviews need it)
PORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
printf 'bind-addr: 127.0.0.1:%s\nauth: none\ncert: false\n' "$PORT" > "$STATE/config.yaml"
start_group env ANTHROPIC_API_KEY=test-key node "$CS_ENTRY" \
  --config "$STATE/config.yaml" --bind-addr "127.0.0.1:$PORT" --auth none \
  --user-data-dir "$STATE/user" --extensions-dir "$STATE/ext" \
  --disable-telemetry --disable-update-check --disable-workspace-trust \
  --disable-getting-started-override "$WS" >"$STATE/logs/code-server.log" 2>&1
node -e '
  const [url, pid] = process.argv.slice(1), t0 = Date.now();
  (async function poll() {
    try { if ((await fetch(url)).ok) process.exit(0); } catch {}
    try { process.kill(+pid, 0); } catch { console.error("code-server exited"); process.exit(1); }
    if (Date.now() - t0 > 60000) { console.error("code-server did not answer in 60 s"); process.exit(1); }
    setTimeout(poll, 200);
  })();' "http://127.0.0.1:$PORT/healthz" "$LAST_PID" || { tail -30 "$STATE/logs/code-server.log"; exit 1; }
say "code-server: http://127.0.0.1:$PORT"

# 5. the driver (in the background so that a signal to run.sh is handled at once)
set +e
CS_URL="http://127.0.0.1:$PORT" WORKSPACE="$WS" FAKE_URL="$FAKE_URL" ATMOS_BIN="$ATMOS_BIN" \
  ARTIFACTS="$ARTIFACTS" STATE="$STATE" E2E_CACHE="$C" \
  node "$HERE/driver.js" </dev/null &
DRIVER=$!
wait "$DRIVER"
STATUS=$?
DRIVER=""
set -e
say "screenshots: $ARTIFACTS"
if [ "$STATUS" = 0 ] && [ "${ATMOS_E2E_UPDATE_SCREENSHOTS:-}" = 1 ]; then
  mkdir -p "$EXT_DIR/media"
  cp "$ARTIFACTS/chat.png" "$EXT_DIR/media/screenshot-chat.png"
  cp "$ARTIFACTS/sessions.png" "$EXT_DIR/media/screenshot-sessions.png"
  say "updated $EXT_DIR/media/screenshot-{chat,sessions}.png"
fi
exit "$STATUS"

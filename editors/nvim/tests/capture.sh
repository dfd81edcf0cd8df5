#!/usr/bin/env bash
# Prints a capture of the chat split (for the README): a real Neovim in tmux with the plugin,
# the real server and the fake provider. Needs tmux and the binaries test.sh uses.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
NVIM=${NVIM_BIN:-${ATMOS_TEST_CACHE:-$HOME/.cache/atmos-ai-tests}/nvim-venv/bin/nvim}
ATMOS=${ATMOS_BIN:-$REPO/target/debug/atmos}
WORK=$(mktemp -d)
"${FAKE_PROVIDER_BIN:-$REPO/target/debug/fake-provider}" > "$WORK/url" &
FAKE=$!
trap 'tmux kill-session -t atmos-capture 2>/dev/null || true; kill $FAKE; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do [ -s "$WORK/url" ] && break; sleep 0.1; done
URL=$(head -n1 "$WORK/url")
# use_ai_summary off: the title is the first line of the question (the fake would echo one)
printf 'ai:\n  default_provider: anthropic\n  providers:\n    anthropic:\n      base_url: %s\n  sessions:\n    enabled: true\n    auto_compact:\n      use_ai_summary: false\n' "$URL" > "$WORK/atmos.yaml"
printf 'components:\n  terraform:\n    vpc:\n      vars:\n        ipv4_primary_cidr_block: 10.100.0.0/18\n' > "$WORK/prod.yaml"
cat > "$WORK/init.lua" <<LUA
vim.opt.rtp:prepend("$REPO/editors/nvim")
vim.cmd("runtime plugin/atmos.lua")
require("atmos").setup({ cmd = { "$ATMOS", "ai", "serve" }, width = 64 })
LUA
curl -s -XPOST "$URL/__fake/reply" -d '{"deltas":["Use three availability zones, each with a public subnet for the load balancers and a private one for the EKS nodes:\n\n```yaml\ncomponents:\n  terraform:\n    vpc:\n      vars:\n        ipv4_primary_cidr_block: 10.100.0.0/18\n        availability_zones: [a, b, c]\n```\n\nWant the staging variant too?"]}' >/dev/null
cd "$WORK"
ANTHROPIC_API_KEY=capture tmux new-session -d -s atmos-capture -x 130 -y 30 "$NVIM -u $WORK/init.lua -n prod.yaml"
sleep 1
tmux send-keys -t atmos-capture ':AtmosChat vpc-design' Enter
sleep 1.5
tmux send-keys -t atmos-capture 'iHow should I lay out the production VPC?' Escape Enter
sleep 2
tmux capture-pane -p -t atmos-capture

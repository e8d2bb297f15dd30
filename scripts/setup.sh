#!/usr/bin/env bash
# Installs what townd needs on a fresh Debian machine: tmux and Chromium (if missing) and the npm dependencies.
# `npm ci` also builds dist/ (the package's prepare script).
set -euo pipefail
cd "$(dirname "$0")/.."

# fs-ext is a native module: build it against this machine's Node headers instead of downloading them.
export npm_config_nodedir=/usr

if ! command -v tmux >/dev/null 2>&1; then
  echo "Installing tmux…"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq tmux >/dev/null
fi

# Headless Chromium for the dashboard's browser tests (test/e2e/dashboard/), driven by playwright-core.
if [ ! -x /usr/bin/chromium ]; then
  echo "Installing chromium…"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

npm ci --no-audit --no-fund

# The pinned Claude Code CLI that test/real-claude/ runs (cached outside node_modules; skipped when present).
echo "Claude Code CLI: $(bash scripts/install-claude.sh)"

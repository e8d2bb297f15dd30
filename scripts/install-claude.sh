#!/usr/bin/env bash
# Installs the pinned Claude Code CLI (version in scripts/claude-version) for test/real-claude/ into a cache
# directory outside the project's node_modules. Does nothing when that version is already there.
#
#   TOWND_CLAUDE_CACHE  where to install (default: $XDG_CACHE_HOME/townd/claude-code-<version>, or ~/.cache/…)
#
# Prints the path of the claude binary on success.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="$(tr -d '[:space:]' <"$here/claude-version")"
cache="${TOWND_CLAUDE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/townd/claude-code-$version}"
bin="$cache/node_modules/.bin/claude"

# The CLI must never update or install itself anywhere while we run it.
export DISABLE_AUTOUPDATER=1

installed_version() {
  [ -x "$bin" ] || return 1
  # The native binary prints "2.1.332 (Claude Code)"; the placeholder left when the postinstall did not
  # copy the native binary in prints an error instead.
  "$bin" --version 2>/dev/null | awk 'NR == 1 { print $1 }'
}

if [ "$(installed_version || true)" = "$version" ]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$cache"
# A package.json of its own, so npm installs here and never walks up into a project; it allows the one
# install script that matters (npm's allowScripts policy).
echo '{"private":true,"allowScripts":{"@anthropic-ai/claude-code":true}}' >"$cache/package.json"
log="$cache/install.log"
# The package's postinstall (node install.cjs) copies the platform's native binary over bin/claude.exe.
if ! npm install --prefix "$cache" --no-audit --no-fund --no-save --loglevel=error \
  "@anthropic-ai/claude-code@$version" >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-claude.sh: npm install of @anthropic-ai/claude-code@$version into $cache failed" >&2
  exit 1
fi

got="$(installed_version || true)"
if [ "$got" != "$version" ]; then
  cat "$log" >&2
  echo "install-claude.sh: $bin --version says '${got:-nothing}', expected $version" >&2
  echo "(the package's postinstall did not put the native binary in place; was npm run with --ignore-scripts?)" >&2
  exit 1
fi
rm -f "$log"
echo "$bin"

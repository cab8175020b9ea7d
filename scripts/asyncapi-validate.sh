#!/usr/bin/env bash
# Validates contract/asyncapi.yaml with the AsyncAPI project's own parser
# (@asyncapi/parser, the version pinned in contract/package-lock.json). The
# parser is installed with `npm ci` into a cache directory keyed by the lock
# file, so the install is reproducible and done once per version:
# $PODD_NODE_CACHE, default ${XDG_CACHE_HOME:-~/.cache}/podd/asyncapi.
# Needs Node.js (18 or later) and npm.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "asyncapi-validate: Node.js and npm are needed to validate contract/asyncapi.yaml (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
lock=contract/package-lock.json
key=$(sha256sum "$lock" contract/package.json | sha256sum | cut -c1-16)
cache=${PODD_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/podd/asyncapi}/$key
if [ ! -f "$cache/.installed" ]; then
  echo "asyncapi-validate: installing the pinned AsyncAPI parser into $cache"
  rm -rf "$cache"
  mkdir -p "$cache"
  cp contract/package.json "$lock" "$cache/"
  (cd "$cache" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2
  touch "$cache/.installed"
fi
NODE_PATH="$cache/node_modules" node contract/validate.js contract/asyncapi.yaml

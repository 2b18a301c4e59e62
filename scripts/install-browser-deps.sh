#!/usr/bin/env bash
# Installs what the browser test needs, when missing: Debian's chromium, and Aladin Lite from
# the npm registry into target/test-deps (never fetched from a CDN at run time).
# Prints the path of the directory holding aladin.js on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
deps=target/test-deps
if ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq chromium >&2
fi
if [ ! -f "$deps/node_modules/aladin-lite/dist/aladin.js" ]; then
  mkdir -p "$deps"
  npm install --prefix "$deps" --no-audit --no-fund --silent aladin-lite@3.8.2 >&2
fi
echo "$(pwd)/$deps/node_modules/aladin-lite/dist"

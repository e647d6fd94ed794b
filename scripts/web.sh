#!/usr/bin/env bash
# web.sh: builds the web player (web/) into web/dist, which is committed so `cargo run` works
# on a machine without npm, and which the gateway embeds.
#
#   scripts/web.sh           install the locked npm tools, generate the TypeScript stubs from
#                            proto/ (buf generate + protoc-gen-es), type-check, unit-test,
#                            bundle (esbuild)
#   scripts/web.sh --check   the same into a temporary folder; fails if web/dist differs from
#                            it (someone changed web/ or proto/ without rebuilding)
#
# The build is deterministic (content-hashed names, no timestamps), so --check compares bytes.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

check=false
case "${1:-}" in
    "") ;;
    --check) check=true ;;
    *) echo "usage: scripts/web.sh [--check]" >&2; exit 2 ;;
esac

log() { echo "web.sh: $*" >&2; }

# Exactly the locked versions; skip when node_modules already matches the lock file, since
# npm ci deletes and reinstalls everything (slow) on every run.
if ! [ -x node_modules/.bin/esbuild ] || ! [ -x node_modules/.bin/protoc-gen-es ] \
    || ! [ node_modules/.package-lock.json -nt package-lock.json ]; then
    log "installing the npm tools from package-lock.json"
    npm ci --no-audit --no-fund --loglevel=error >&2
fi

rm -rf web/src/gen
node_modules/.bin/buf generate --template web/buf.gen.yaml
node_modules/.bin/tsc -p web/tsconfig.json
# The player's pure logic (adaptive quality) has unit tests; they run on every build.
node --test web/tests/unit/ >&2

if ! $check; then
    node web/build.mjs web/dist
    exit 0
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
node web/build.mjs "$out"
if ! diff -r web/dist "$out" >/dev/null; then
    diff -r web/dist "$out" | head -n 20 >&2 || true
    log "web/dist is out of date: run scripts/web.sh and commit web/dist"
    exit 1
fi
log "web/dist is current"

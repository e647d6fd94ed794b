#!/usr/bin/env bash
# Lints the protobuf contracts under proto/ with buf (STANDARD + COMMENTS rules, see
# proto/buf.yaml), checks they are formatted as `buf format` would write them, and checks
# they are still compatible (buf breaking, FILE rules) with the committed baseline image
# proto/breaking-baseline.json, so a change that would break other teams' generated code
# fails here, and that the baseline is current (it must hold every contract that landed).
# Exits non-zero on any finding. Runs from any directory; on a fresh clone it first installs
# the buf version pinned in package-lock.json from the npm registry.
#
# Fix formatting findings with: node_modules/.bin/buf format -w proto
#
#   scripts/buf-lint.sh                     lint, format, breaking and baseline checks (~1 s)
#   scripts/buf-lint.sh --record-baseline   rewrite proto/breaking-baseline.json from proto/,
#                                           in the same commit as an additive contract change
#                                           (see proto/README.md "Evolving the contracts")
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

record=0
case "${1:-}" in
    "") ;;
    --record-baseline) record=1 ;;
    *)
        echo "usage: scripts/buf-lint.sh [--record-baseline]" >&2
        exit 2
        ;;
esac

buf="node_modules/.bin/buf"
if [[ ! -x "$buf" ]]; then
    echo "buf-lint: installing buf from package-lock.json" >&2
    # `npm ci` installs exactly the locked versions; buf's binary comes from a
    # platform-specific optional dependency, so no install script needs to run.
    npm ci --no-audit --no-fund --loglevel=error >&2
fi

baseline="proto/breaking-baseline.json"

# The image buf breaking compares against: the contracts' shapes without comments or
# source positions (so editing a comment never touches the baseline), with the imported
# well-known types buf needs to read it back. JSON, one key per line, so that re-recording
# shows in review exactly what the contracts gained. buf writes it in a stable order; node
# (which buf's npm install implies) only re-indents it.
write_baseline() {
    "$buf" build proto --exclude-source-info -o "-#format=json" |
        node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () =>
            process.stdout.write(JSON.stringify(JSON.parse(s), null, 1) + "\n"))' >"$1"
}

if [[ "$record" -eq 1 ]]; then
    # Recording is for additive changes only: refuse while the tree breaks the old baseline.
    if [[ -f "$baseline" ]] && ! "$buf" breaking proto --against "$baseline"; then
        echo "buf-lint: not recording: proto/ breaks the current baseline (findings above);" \
            "a breaking change goes into a new package version, see proto/README.md" >&2
        exit 1
    fi
    tmp="$(mktemp)"
    trap 'rm -f "$tmp"' EXIT
    write_baseline "$tmp"
    chmod 644 "$tmp"
    mv "$tmp" "$baseline"
    trap - EXIT
    echo "buf-lint: recorded $baseline; commit it with the contract change" >&2
    exit 0
fi

status=0
"$buf" lint proto || status=1
"$buf" format proto --diff --exit-code || status=1
if [[ "$status" -ne 0 ]]; then
    echo "buf-lint: findings above (formatting: run '$buf format -w proto')" >&2
fi
if [[ ! -f "$baseline" ]]; then
    echo "buf-lint: $baseline is missing; record it with 'scripts/buf-lint.sh --record-baseline'" >&2
    status=1
elif ! "$buf" breaking proto --against "$baseline"; then
    echo "buf-lint: the change above breaks code generated from the contracts; to break" \
        "deliberately, add a new package version (e.g. tunemesh.player.v2) beside v1, see" \
        "proto/README.md \"Evolving the contracts\"" >&2
    status=1
else
    # The baseline must hold every contract that landed, or an addition could be renamed
    # or removed again by a later change without this check noticing.
    current="$(mktemp)"
    trap 'rm -f "$current"' EXIT
    write_baseline "$current"
    if ! cmp -s "$current" "$baseline"; then
        echo "buf-lint: proto/ changed compatibly since $baseline was recorded; run" \
            "'scripts/buf-lint.sh --record-baseline' and commit the baseline with the change" >&2
        status=1
    fi
fi
exit "$status"

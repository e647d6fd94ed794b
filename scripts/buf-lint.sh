#!/usr/bin/env bash
# Lints the protobuf contracts under proto/ with buf (STANDARD + COMMENTS rules, see
# proto/buf.yaml) and checks they are formatted as `buf format` would write them.
# Exits non-zero on any finding. Runs from any directory; on a fresh clone it first installs
# the buf version pinned in package-lock.json from the npm registry.
#
# Fix formatting findings with: node_modules/.bin/buf format -w proto
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

buf="node_modules/.bin/buf"
if [[ ! -x "$buf" ]]; then
    echo "buf-lint: installing buf from package-lock.json" >&2
    # `npm ci` installs exactly the locked versions; buf's binary comes from a
    # platform-specific optional dependency, so no install script needs to run.
    npm ci --no-audit --no-fund --loglevel=error >&2
fi

status=0
"$buf" lint proto || status=1
"$buf" format proto --diff --exit-code || status=1
if [[ "$status" -ne 0 ]]; then
    echo "buf-lint: findings above (formatting: run '$buf format -w proto')" >&2
fi
exit "$status"

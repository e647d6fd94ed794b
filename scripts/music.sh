#!/usr/bin/env bash
# music.sh: make sure the real music the media tests decode is installed, and say where it is.
#
# Installs (only if missing) the Debian packages of freely licensed game music that
# player-svc's media tests read, then prints one `NAME=DIR` line per package, found with
# `dpkg -L`, plus the individual files the tests single out. Idempotent: when everything is
# installed it only asks dpkg (well under a second) and never runs `apt-get update`.
#
#   singularity-music   16 Ogg Vorbis tracks, tagged (ARTIST, ALBUM, TITLE, DATE), 48 kHz, 52 MB
#   asc-music           3 MP3s, 44.1 kHz, 10 MB
#   hyperrogue-music    Ogg Vorbis at 44.1 kHz; hr-savino-*.ogg carry a negative granule
#                       position (-104) on a page, which ffmpeg 5.1 rejects
#   warzone2100-music   Ogg Opus, 48 kHz, 86 MB (the tests use only music/menu.opus, 3 min,
#                       but Debian ships the soundtrack as one package)
#
# Needs root (or sudo) only when something must be installed.
set -euo pipefail

packages=(singularity-music asc-music hyperrogue-music warzone2100-music)

log() { echo "music.sh: $*" >&2; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
for pkg in "${packages[@]}"; do
    installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]})); then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    log "installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The directory holding a package's first audio file, as dpkg lists it (not hard-coded, so a
# packaging change moves the tests' search root with it).
music_dir() {
    dpkg -L "$1" | grep -E '\.(ogg|opus|mp3|flac|wav)$' | head -n 1 | xargs -d '\n' dirname
}

for pkg in "${packages[@]}"; do
    name="$(echo "${pkg%-music}" | tr '[:lower:]-' '[:upper:]_')"
    echo "${name}_MUSIC=$(music_dir "$pkg")"
done

# The files the media tests single out; fail loudly if a package stopped shipping one.
for file in \
    "/usr/share/games/singularity/music/win/Apex Aleph.ogg" \
    "/usr/share/games/singularity/music/lose/Chimes They Fade.ogg" \
    "/usr/share/games/asc/music/machine_wars.mp3" \
    "/usr/share/hyperrogue/music/hr-savino-ocean.ogg" \
    "/usr/share/games/warzone2100/music/menu.opus"; do
    [ -f "$file" ] || { log "expected $file after installing ${packages[*]}"; exit 1; }
done

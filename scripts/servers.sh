#!/usr/bin/env bash
# servers.sh: make sure the real servers the tests talk to are running, and say where.
#
# Ensures PostgreSQL 15, Redis 7, NATS with JetStream and Consul 1.8.7 listen on loopback,
# reusing servers that already answer on the standard ports (5432, 6379, 4222, 8500) and
# starting private ones on free ports otherwise. Writes the addresses to $STATE_DIR/env as
# `export TUNEMESH_TEST_*=...` lines, which tunemesh-testkit reads. Idempotent: a second run
# only probes the ports (well under 2 s).
#
# Usage:
#   scripts/servers.sh [start]   ensure the servers run, write env, print a one-line summary
#   scripts/servers.sh stop      stop only the servers this script started (for this state dir)
#
# Knobs (environment):
#   TUNEMESH_SERVERS_DIR        state dir: data, logs, pid files, env (default <repo>/.servers)
#   TUNEMESH_SERVERS_BIN_DIR    where a downloaded Consul is kept (default <repo>/.servers/bin),
#                               shared by all state dirs so it is fetched once
#   TUNEMESH_SERVERS_FORCE_OWN  1 = ignore servers on the standard ports and start private
#                               ones on free ports (exercises the fresh-machine path)
#   TUNEMESH_SERVERS_WAIT       seconds to wait for each server to answer (default 30)
#
# Detection: PostgreSQL by a TCP connect; Redis by PING/+PONG; NATS by its INFO line, which
# must advertise JetStream (a NATS without it is not reused); Consul by an elected leader.
# Needs root (or sudo) only when a Debian package must be installed.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${TUNEMESH_SERVERS_DIR:-$REPO_ROOT/.servers}"
BIN_DIR="${TUNEMESH_SERVERS_BIN_DIR:-$REPO_ROOT/.servers/bin}"
FORCE_OWN="${TUNEMESH_SERVERS_FORCE_OWN:-0}"
WAIT_SECS="${TUNEMESH_SERVERS_WAIT:-30}"
CONSUL_VERSION="1.8.7"

die() { echo "servers.sh: $*" >&2; exit 1; }
log() { echo "servers.sh: $*" >&2; }

# ---------------------------------------------------------------------------------------------
# Probes: bash builtins only (no client tools needed), so the fast path stays fast.

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

probe_postgres() { port_open "$1"; }

probe_redis() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf 'PING\r\n' >&3
        IFS= read -r -t 2 line <&3 && [[ "$line" == +PONG* ]]
    ) 2>/dev/null
}

# NATS greets every client with `INFO {json}`; JetStream-enabled servers say "jetstream":true.
probe_nats() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        IFS= read -r -t 2 line <&3 && [[ "$line" == INFO* && "$line" == *'"jetstream":true'* ]]
    ) 2>/dev/null
}

# Consul answers /v1/status/leader with "" until a leader is elected; only then can it register.
probe_consul() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf 'GET /v1/status/leader HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
        body="$(timeout 2 cat <&3)"
        [[ "$body" == "HTTP/1."?" 200"* && "$body" == *'"127.0.0.1:'* ]]
    ) 2>/dev/null
}

# wait_ready NAME PORT LOG: poll the probe until it passes, WAIT_SECS elapse, or the process
# recorded in the server's pid file has already exited (no point waiting for a dead server).
wait_ready() {
    local name="$1" port="$2" logfile="$3" deadline=$((SECONDS + WAIT_SECS))
    local pidfile="$STATE_DIR/$name/pid" why
    until "probe_$name" "$port"; do
        why=""
        ((SECONDS < deadline)) || why="did not answer on 127.0.0.1:$port within ${WAIT_SECS}s"
        [[ ! -s "$pidfile" ]] || pid_alive "$pidfile" || why="exited before answering on 127.0.0.1:$port"
        if [[ -n "$why" ]]; then
            log "$name $why; tail of $logfile:"
            tail -n 25 "$logfile" >&2 2>/dev/null || true
            exit 1
        fi
        sleep 0.1
    done
}

# ---------------------------------------------------------------------------------------------
# Ports and processes.

CHOSEN_PORTS=" "
# pick_port PREFERRED: sets PICKED to PREFERRED if free, else to a random free port below the
# kernel's ephemeral range (32768+) so it cannot collide with outgoing connections.
pick_port() {
    local port="$1" tries=0
    while port_open "$port" || [[ "$CHOSEN_PORTS" == *" $port "* ]]; do
        ((tries++ < 200)) || die "no free port found near $1"
        port=$((20000 + RANDOM % 12000))
    done
    CHOSEN_PORTS+="$port "
    PICKED="$port"
}

# pid_alive PIDFILE: the recorded process still exists.
pid_alive() { [[ -s "$1" ]] && kill -0 "$(head -n1 "$1")" 2>/dev/null; }

# own_port NAME: prints the port of a server an earlier run started and that still answers.
own_port() {
    local dir="$STATE_DIR/$1" port
    [[ -s "$dir/port" ]] || return 1
    port="$(cat "$dir/port")"
    pid_alive "$dir/pid" && "probe_$1" "$port" && echo "$port"
}

as_root() {
    if [[ "$(id -u)" == 0 ]]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root to run: $*"; fi
}

APT_UPDATED=0
apt_install() {
    log "installing $* from Debian"
    if ((APT_UPDATED == 0)); then
        as_root apt-get update -qq || return 1
        APT_UPDATED=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ensure_installed PACKAGE CHECK...: installs PACKAGE unless the CHECK command succeeds.
ensure_installed() {
    local package="$1"
    shift
    "$@" >/dev/null && return 0
    apt_install "$package" || die "could not install $package from Debian"
    "$@" >/dev/null || die "$package is installed but $* finds nothing"
}

# find_bin NAME [DIR...]: prints the first executable NAME on PATH or in the given dirs.
find_bin() {
    local name="$1" dir
    shift
    command -v "$name" 2>/dev/null && return 0
    for dir in "$@"; do
        [[ -x "$dir/$name" ]] && echo "$dir/$name" && return 0
    done
    return 1
}

# Start background servers in their own session, without our lock fd, so they outlive us.
spawn() { setsid nohup "$@" </dev/null 9>&- & }

# ---------------------------------------------------------------------------------------------
# PostgreSQL

pg_bin_dir() {
    local dir ctl
    for dir in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
        [[ -x "$dir/pg_ctl" ]] && echo "$dir" && return 0
    done
    ctl="$(command -v pg_ctl 2>/dev/null)" && dirname "$(readlink -f "$ctl")"
}

# PostgreSQL refuses to run as root, so as root every command runs as the postgres user.
as_pg() {
    if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
    local bindir dir="$STATE_DIR/postgres"
    ensure_installed postgresql pg_bin_dir
    bindir="$(pg_bin_dir)"
    mkdir -p "$dir"
    [[ "$(id -u)" != 0 ]] || chown postgres: "$dir"
    as_pg test -w "$dir" || die "$dir is not writable by the postgres user; set TUNEMESH_SERVERS_DIR"
    if [[ ! -s "$dir/data/PG_VERSION" ]]; then
        as_pg "$bindir/initdb" -D "$dir/data" -U postgres -A trust --no-sync \
            >"$dir/initdb.log" 2>&1 || { tail -n 25 "$dir/initdb.log" >&2; die "initdb failed"; }
    fi
    # A server of ours that lost its pid file or stopped answering: restart it cleanly.
    stop_postgres
    pick_port 5432
    # No unix socket (its path length is limited); fsync off: test data is disposable.
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t "$WAIT_SECS" \
        -o "-c listen_addresses=127.0.0.1 -p $PICKED -k '' -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start 9>&- >/dev/null || {
        tail -n 25 "$dir/postgres.log" >&2
        die "postgresql failed to start on 127.0.0.1:$PICKED"
    }
    head -n1 "$dir/data/postmaster.pid" >"$dir/pid"
    echo "$PICKED" >"$dir/port"
    wait_ready postgres "$PICKED" "$dir/postgres.log"
}

stop_postgres() {
    local dir="$STATE_DIR/postgres" bindir
    [[ -s "$dir/data/postmaster.pid" ]] || return 0
    bindir="$(pg_bin_dir)" || return 0
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------------------------------------
# Redis and NATS

start_redis() {
    local bin dir="$STATE_DIR/redis"
    ensure_installed redis-server find_bin redis-server /usr/bin
    bin="$(find_bin redis-server /usr/bin)"
    mkdir -p "$dir"
    pick_port 6379
    "$bin" --port "$PICKED" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
        --dir "$dir" --pidfile "$dir/pid" --logfile "$dir/redis.log" 9>&-
    echo "$PICKED" >"$dir/port"
    wait_ready redis "$PICKED" "$dir/redis.log"
}

start_nats() {
    local bin dir="$STATE_DIR/nats"
    ensure_installed nats-server find_bin nats-server /usr/sbin /usr/bin
    bin="$(find_bin nats-server /usr/sbin /usr/bin)"
    mkdir -p "$dir"
    pick_port 4222
    spawn "$bin" -a 127.0.0.1 -p "$PICKED" -js -sd "$dir/jetstream" -l "$dir/nats.log" >/dev/null 2>&1
    echo $! >"$dir/pid"
    echo "$PICKED" >"$dir/port"
    wait_ready nats "$PICKED" "$dir/nats.log"
}

# ---------------------------------------------------------------------------------------------
# Consul: not packaged for bookworm, so fetched from Debian bullseye into BIN_DIR without
# touching the machine's apt configuration (private sources file, lists and cache dirs).

# The archive URI the machine already uses for Debian (never a hard-coded host).
debian_archive_uri() {
    local files=(/etc/apt/sources.list.d/*.sources) uri=""
    if [[ -e "${files[0]}" ]]; then
        uri="$(awk '$1 == "URIs:" { for (i = 2; i <= NF; i++) print $i }' "${files[@]}" |
            grep -v security | grep -E '/debian/?$' | head -n1 || true)"
    fi
    if [[ -z "$uri" && -r /etc/apt/sources.list ]]; then
        uri="$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' \
            /etc/apt/sources.list | grep -v security | head -n1 || true)"
    fi
    [[ -n "$uri" ]] || die "no Debian archive URI found in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list"
    echo "${uri%/}"
}

fetch_consul() {
    local work="$BIN_DIR/.consul-apt" uri keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    local opts signed=""
    uri="$(debian_archive_uri)"
    log "fetching consul $CONSUL_VERSION from $uri bullseye"
    rm -rf "$work"
    mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/deb"
    [[ -r "$keyring" ]] && signed="[signed-by=$keyring] "
    echo "deb ${signed}$uri bullseye main" >"$work/sources.list"
    opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache"
        -o APT::Sandbox::User=root -qq)
    apt-get "${opts[@]}" update >&2 || die "apt-get update for bullseye failed"
    (cd "$work/deb" && apt-get "${opts[@]}" download "consul=$CONSUL_VERSION*" >/dev/null) ||
        die "apt-get download consul failed"
    dpkg -x "$work"/deb/consul_*.deb "$work/root"
    install -m 0755 "$work/root/usr/bin/consul" "$BIN_DIR/consul"
    rm -rf "$work"
}

consul_bin() {
    if [[ -x "$BIN_DIR/consul" ]]; then echo "$BIN_DIR/consul"
    elif command -v consul 2>/dev/null; then :
    else mkdir -p "$BIN_DIR" && fetch_consul && echo "$BIN_DIR/consul"; fi
}

start_consul() {
    local bin dir="$STATE_DIR/consul" http serf_lan serf_wan server
    bin="$(consul_bin)"
    mkdir -p "$dir"
    pick_port 8500 && http="$PICKED"
    pick_port 8301 && serf_lan="$PICKED"
    pick_port 8302 && serf_wan="$PICKED"
    pick_port 8300 && server="$PICKED"
    # Dev mode keeps everything in memory; DNS and gRPC are not used by tunemesh.
    spawn "$bin" agent -dev -client 127.0.0.1 -bind 127.0.0.1 -node tunemesh-test \
        -http-port "$http" -dns-port -1 -grpc-port -1 -serf-lan-port "$serf_lan" \
        -serf-wan-port "$serf_wan" -server-port "$server" -log-level warn \
        >"$dir/consul.log" 2>&1
    echo $! >"$dir/pid"
    echo "$http" >"$dir/port"
    wait_ready consul "$http" "$dir/consul.log"
}

# ---------------------------------------------------------------------------------------------
# Orchestration

SUMMARY=""
declare -A PORTS=()
# ensure NAME STANDARD_PORT: sets PORTS[NAME] to a server that answers, starting one if needed.
ensure() {
    local name="$1" std="$2" port how
    if port="$(own_port "$name")"; then
        how="ours"
    elif [[ "$FORCE_OWN" != 1 ]] && "probe_$name" "$std"; then
        port="$std" how="reused"
    else
        # A dead server of ours leaves a stale pid file; start afresh.
        rm -f "$STATE_DIR/$name/pid" "$STATE_DIR/$name/port"
        "start_$name"
        port="$(cat "$STATE_DIR/$name/port")" how="started"
    fi
    PORTS[$name]="$port"
    SUMMARY+=" $name=127.0.0.1:$port($how)"
}

write_env() {
    local env="$STATE_DIR/env" tmp bin
    tmp="$(mktemp "$STATE_DIR/env.XXXXXX")"
    {
        echo "# written by scripts/servers.sh; source it or let tunemesh-testkit read it"
        echo "export TUNEMESH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:${PORTS[postgres]}/postgres"
        echo "export TUNEMESH_TEST_REDIS_URL=redis://127.0.0.1:${PORTS[redis]}"
        echo "export TUNEMESH_TEST_NATS_URL=nats://127.0.0.1:${PORTS[nats]}"
        echo "export TUNEMESH_TEST_CONSUL_ADDR=http://127.0.0.1:${PORTS[consul]}"
        if bin="$(pg_bin_dir)"; then echo "export TUNEMESH_TEST_POSTGRES_BIN_DIR=$bin"; fi
        if bin="$(find_bin redis-server /usr/bin)"; then echo "export TUNEMESH_TEST_REDIS_BIN=$bin"; fi
        if bin="$(find_bin nats-server /usr/sbin /usr/bin)"; then echo "export TUNEMESH_TEST_NATS_BIN=$bin"; fi
        if bin="$(consul_bin)"; then echo "export TUNEMESH_TEST_CONSUL_BIN=$bin"; fi
    } >"$tmp"
    # Atomic replace: tests may be reading the file while another run rewrites it.
    chmod 0644 "$tmp"
    mv -f "$tmp" "$env"
}

# stop_pidfile NAME: stop a server of ours by its pid file, then forget it.
stop_pidfile() {
    local dir="$STATE_DIR/$1"
    if pid_alive "$dir/pid"; then
        kill "$(head -n1 "$dir/pid")" 2>/dev/null || true
        local deadline=$((SECONDS + 10))
        while pid_alive "$dir/pid" && ((SECONDS < deadline)); do sleep 0.1; done
    fi
    rm -f "$dir/pid" "$dir/port"
}

cmd_stop() {
    stop_postgres
    rm -f "$STATE_DIR/postgres/pid" "$STATE_DIR/postgres/port"
    stop_pidfile redis
    stop_pidfile nats
    stop_pidfile consul
    # JetStream data of a private server is disposable; PostgreSQL's is kept (initdb is slow).
    rm -rf "$STATE_DIR/nats/jetstream" "$STATE_DIR/env"
    log "stopped the servers started under $STATE_DIR"
}

cmd_start() {
    ensure postgres 5432
    ensure redis 6379
    ensure nats 4222
    ensure consul 8500
    write_env
    echo "servers:$SUMMARY -> $STATE_DIR/env"
}

main() {
    mkdir -p "$STATE_DIR"
    # One run at a time per state dir: parallel test commands must not start servers twice.
    exec 9>"$STATE_DIR/.lock"
    flock 9
    case "${1:-start}" in
        start) cmd_start ;;
        stop) cmd_stop ;;
        *) die "unknown command ${1}; use start or stop" ;;
    esac
}

main "$@"

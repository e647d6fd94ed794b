#!/usr/bin/env python3
"""The listings' totals before and after the kept counts (player-svc migration V5, issue 17
item 2), on a synthetic catalogue in player-svc's own schema (its migrations' SQL).

    python3 scripts/catalogue_counts.py sqlite /tmp/counts.sqlite --tracks 1000000
    python3 scripts/catalogue_counts.py postgres postgres://postgres@127.0.0.1:5432/postgres \
        --tracks 100000

Tracks: 10 per album, 20 albums per artist, 20 genres round robin, 3 shared manifests (as the
bulk path's). The catalogue is loaded at V4 (5,000 tracks a transaction), V5 is applied
(timed: it counts the rows there), then each total is read as before (`COUNT(*)`) and as
after (the kept count), the median of repeated runs; PostgreSQL's are `EXPLAIN ANALYZE`d.
SQLite's times are the process's CPU time (it runs in this process), so other work on the
machine does not count; PostgreSQL's load and migration times are wall-clock.
Writes: the same load of `--write-tracks` into a fresh V4 and a fresh V5 catalogue (the
triggers' cost), and on PostgreSQL `pgbench` putting one track a transaction from
`--clients` clients at V4 and at V5 (what one count row does to concurrent writers).
"""

import argparse
import os
import sqlite3
import statistics
import subprocess
import tempfile
import time

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "player-svc", "migrations")
# V2 (the events outbox) is Rust and holds nothing counted.
BEFORE_V5 = ["V1__catalog.sql", "V3__album_orders.sql", "V4__manifests.sql"]
V5 = "V5__catalogue_counts.sql"
GENRES = 20

# Before: the statements V4's listings ran; after: the kept counts (`keyset::kept_count`).
KEPT = "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM catalogue_counts WHERE kind = {}"
TOTALS = [
    ("all tracks", "SELECT COUNT(*) FROM tracks", KEPT.format("'tracks' AND name = ''")),
    ("all albums", "SELECT COUNT(*) FROM albums", KEPT.format("'albums' AND name = ''")),
    ("all artists", "SELECT COUNT(*) FROM artists", KEPT.format("'artists' AND name = ''")),
    (
        "tracks of one genre (1/20)",
        "SELECT COUNT(*) FROM tracks WHERE genre = 'Genre 7'",
        KEPT.format("'genre' AND name = 'Genre 7'"),
    ),
]


def migration(kind, name):
    with open(os.path.join(MIGRATIONS, kind, name)) as f:
        return f.read()


def rows(first, count):
    """The artists, albums and tracks `first..first+count` (tracks), as tuples."""
    artists, albums, tracks = {}, {}, []
    for n in range(first, first + count):
        album, artist = n // 10, n // 200
        artists[artist] = (f"ar_{artist:08}", f"Artist {artist}", f"Artist {artist}", n, n)
        albums[album] = (f"al_{album:08}", f"Album {album}", f"ar_{artist:08}", f"Artist {artist}", n, n)
        tracks.append((
            f"tr_{n:08}", f"bulk:{n}", f"sha256:{n % 3}", f"Track {n}", f"ar_{artist:08}",
            f"Artist {artist}", f"Artist {artist}", f"al_{album:08}", f"Album {album}",
            f"ar_{artist:08}", f"Artist {artist}", f"Artist {artist}", 240_000_000, n % 10 + 1, 1,
            f"Genre {n % GENRES}", 1970 + n % 50, None, None, f"tracks/{n % 3}/1", n, n,
        ))
    return list(artists.values()), list(albums.values()), tracks


def sqlite_load(conn, first, count):
    for start in range(first, first + count, 5000):
        artists, albums, tracks = rows(start, min(5000, first + count - start))
        with conn:
            conn.executemany(
                "INSERT INTO artists VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING", artists)
            conn.executemany(
                "INSERT INTO albums (id, title, artist_id, artist_name, create_ms, update_ms) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING", albums)
            conn.executemany(
                "INSERT INTO tracks (id, source, content_hash, title, artist_id, artist_name, "
                "artist_sort, album_id, album_title, album_artist_id, album_artist_name, "
                "album_artist_sort, duration_us, track_number, disc_number, genre, year, "
                "cover_id, cover_type, manifest_key, create_ms, update_ms) "
                "VALUES (" + ", ".join("?" * 22) + ")", tracks)


def sqlite_catalogue(path, v5):
    conn = sqlite3.connect(path)
    # As `SqliteStore::open` sets them: foreign keys already make every insert keep a
    # statement journal, as triggers do.
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA foreign_keys = ON")
    for name in BEFORE_V5 + ([V5] if v5 else []):
        conn.executescript(migration("sqlite", name))
    with conn:
        conn.executemany("INSERT INTO manifests VALUES (?, '{}')",
                         [(f"tracks/{k}/1",) for k in range(3)])
    return conn


def wall():
    return time.perf_counter()


def median_ms(run, times):
    samples = []
    for _ in range(times):
        start = time.process_time()
        run()
        samples.append((time.process_time() - start) * 1000)
    return statistics.median(samples)


def on_sqlite(args):
    for suffix in ["", "-wal", "-shm"]:
        if os.path.exists(args.target + suffix):
            os.remove(args.target + suffix)
    conn = sqlite_catalogue(args.target, v5=False)
    start = time.process_time()
    sqlite_load(conn, 0, args.tracks)
    print(f"load {args.tracks} tracks at V4: {time.process_time() - start:.1f} s CPU")
    start = time.process_time()
    conn.executescript(migration("sqlite", V5))
    print(f"V5 (counts the rows there): {time.process_time() - start:.2f} s CPU")
    print(f"SQLite {sqlite3.sqlite_version}, {args.tracks} tracks")
    for name, before, after in TOTALS:
        assert conn.execute(before).fetchone() == conn.execute(after).fetchone(), name
        old = median_ms(lambda: conn.execute(before).fetchone(), 21)
        new = median_ms(lambda: conn.execute(after).fetchone(), 1001)
        plans = [" / ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + q))
                 for q in (before, after)]
        print(f"{name}: COUNT {old:.3f} ms ({plans[0]}); kept {new:.4f} ms ({plans[1]})")
    conn.close()
    with tempfile.TemporaryDirectory() as tmp:
        for v5 in (False, True):
            fresh = sqlite_catalogue(os.path.join(tmp, f"w{v5}.sqlite"), v5)
            start = time.process_time()
            sqlite_load(fresh, 0, args.write_tracks)
            label = "V5 (triggers)" if v5 else "V4"
            print(f"write {args.write_tracks} tracks at {label}: "
                  f"{time.process_time() - start:.2f} s CPU")
            fresh.close()


def psql(url, sql, quiet=True):
    command = ["psql", "-X", "-v", "ON_ERROR_STOP=1", url] + (["-q"] if quiet else [])
    return subprocess.run(command, input=sql, text=True, check=True,
                          capture_output=True).stdout


# Generated in the database: the same rows as `rows`.
PG_LOAD = """
INSERT INTO artists SELECT format('ar_%s', lpad(a::text, 8, '0')), 'Artist ' || a,
    'Artist ' || a, a * 200, a * 200 FROM generate_series(0, ({n} - 1) / 200) a;
INSERT INTO albums (id, title, artist_id, artist_name, create_ms, update_ms)
    SELECT format('al_%s', lpad(b::text, 8, '0')), 'Album ' || b,
    format('ar_%s', lpad((b / 20)::text, 8, '0')), 'Artist ' || b / 20, b * 10, b * 10
    FROM generate_series(0, ({n} - 1) / 10) b;
INSERT INTO manifests SELECT format('tracks/%s/1', k), '{{}}' FROM generate_series(0, 2) k;
INSERT INTO tracks (id, source, content_hash, title, artist_id, artist_name, artist_sort,
    album_id, album_title, album_artist_id, album_artist_name, album_artist_sort, duration_us,
    track_number, disc_number, genre, year, cover_id, cover_type, manifest_key, create_ms,
    update_ms)
  SELECT format('tr_%s', lpad(t::text, 8, '0')), 'bulk:' || t, 'sha256:' || t % 3,
    'Track ' || t, format('ar_%s', lpad((t / 200)::text, 8, '0')), 'Artist ' || t / 200,
    'Artist ' || t / 200, format('al_%s', lpad((t / 10)::text, 8, '0')), 'Album ' || t / 10,
    format('ar_%s', lpad((t / 200)::text, 8, '0')), 'Artist ' || t / 200,
    'Artist ' || t / 200, 240000000, t % 10 + 1, 1, 'Genre ' || t % {genres}, 1970 + t % 50,
    NULL, NULL, format('tracks/%s/1', t % 3), t, t
  FROM generate_series(0, {n} - 1) t;
VACUUM ANALYZE;
"""

# One put per transaction, as `PostgresStore::put_track` writes: artist, album, track.
PGBENCH_PUT = """
\\set a random(0, 499)
BEGIN;
INSERT INTO artists VALUES ('ar_b' || :a, 'B', 'B', 0, 0)
    ON CONFLICT (id) DO UPDATE SET update_ms = excluded.update_ms;
INSERT INTO albums (id, title, artist_id, artist_name, create_ms, update_ms)
    VALUES ('al_b' || :a, 'B', 'ar_b' || :a, 'B', 0, 0)
    ON CONFLICT (id) DO UPDATE SET update_ms = excluded.update_ms;
INSERT INTO tracks SELECT md5(random()::text), md5(random()::text), 'h', 'T', 'ar_b' || :a,
    'B', 'B', 'al_b' || :a, 'B', 'ar_b' || :a, 'B', 'B', 1, 1, 1, 'Genre ' || :a % 20, 0,
    NULL, NULL, 0, 0, 'tracks/0/1';
COMMIT;
"""


def pgbench(url, clients, seconds):
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(PGBENCH_PUT)
        script.flush()
        bin_dir = os.environ.get("TUNEMESH_TEST_POSTGRES_BIN_DIR")
        command = os.path.join(bin_dir, "pgbench") if bin_dir else "pgbench"
        out = subprocess.run(
            [command, "-n", "-c", str(clients), "-j", str(clients), "-T", str(seconds),
             "-f", script.name, url], text=True, check=True, capture_output=True).stdout
    return [line for line in out.splitlines() if "tps" in line or "latency average" in line]


def explained(url, query):
    """The plan and time of `query`, the last of six runs (warm)."""
    out = psql(url, f"EXPLAIN (ANALYZE, BUFFERS) {query};" * 6, quiet=False)
    last = out.split("QUERY PLAN")[-1]
    return " | ".join(line.strip() for line in last.splitlines()
                      if "->" in line or "Execution Time" in line or "Aggregate" in line)


def on_postgres(args):
    base, _, _ = args.target.rpartition("/")
    db = "tunemesh_counts_bench"
    psql(args.target, f"DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db};")
    url = f"{base}/{db}"
    psql(url, "".join(migration("postgres", name) for name in BEFORE_V5))
    start = wall()
    psql(url, PG_LOAD.format(n=args.tracks, genres=GENRES))
    print(f"load {args.tracks} tracks at V4: {wall() - start:.1f} s")
    start = wall()
    # In a transaction, as the migration runner applies each step.
    psql(url, "BEGIN;\n" + migration("postgres", V5) + "\nCOMMIT;")
    print(f"V5 (counts the rows there): {wall() - start:.2f} s")
    print(psql(url, "SELECT version();", quiet=False).splitlines()[2].strip())
    # Fresh rows (no visibility map yet: COUNT reads the heap), then vacuumed (index-only).
    for state, prepare in (("analysed", "ANALYZE;"), ("vacuumed", "VACUUM ANALYZE;")):
        psql(url, prepare)
        for name, before, after in TOTALS:
            print(f"{name}, {state}, COUNT: {explained(url, before)}")
            print(f"{name}, {state}, kept: {explained(url, after)}")
    # Writers with the count triggers and without (disabled), in turns.
    for round in range(1, args.rounds + 1):
        for enabled in (False, True):
            verb = "ENABLE" if enabled else "DISABLE"
            psql(url, "".join(f"ALTER TABLE {t} {verb} TRIGGER USER;"
                              for t in ("tracks", "albums", "artists")))
            label = "with the count triggers" if enabled else "without"
            for line in pgbench(url, args.clients, args.seconds):
                print(f"round {round}, {args.clients} clients putting tracks {label}: {line}")
    psql(args.target, f"DROP DATABASE {db};")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", choices=["sqlite", "postgres"])
    parser.add_argument("target", help="the SQLite file to create, or a PostgreSQL URL")
    parser.add_argument("--tracks", type=int, default=1_000_000)
    parser.add_argument("--write-tracks", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    on_sqlite(args) if args.database == "sqlite" else on_postgres(args)


if __name__ == "__main__":
    main()

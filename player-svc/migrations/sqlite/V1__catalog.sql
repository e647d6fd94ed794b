-- The catalogue and play sessions (SQLite). Times are milliseconds since the Unix epoch,
-- durations microseconds.
CREATE TABLE artists (
    id        TEXT    PRIMARY KEY,
    name      TEXT    NOT NULL,
    sort_name TEXT    NOT NULL,
    create_ms INTEGER NOT NULL,
    update_ms INTEGER NOT NULL
);
CREATE INDEX artists_sort ON artists (sort_name, id);

CREATE TABLE albums (
    id          TEXT    PRIMARY KEY,
    title       TEXT    NOT NULL,
    artist_id   TEXT    NOT NULL REFERENCES artists (id),
    artist_name TEXT    NOT NULL,
    create_ms   INTEGER NOT NULL,
    update_ms   INTEGER NOT NULL
);
CREATE INDEX albums_artist ON albums (artist_id);
CREATE INDEX albums_created ON albums (create_ms, id);

CREATE TABLE tracks (
    id                TEXT    PRIMARY KEY,
    source            TEXT    NOT NULL UNIQUE,
    content_hash      TEXT    NOT NULL,
    title             TEXT    NOT NULL,
    artist_id         TEXT    NOT NULL REFERENCES artists (id),
    artist_name       TEXT    NOT NULL,
    artist_sort       TEXT    NOT NULL,
    album_id          TEXT    NOT NULL REFERENCES albums (id),
    album_title       TEXT    NOT NULL,
    album_artist_id   TEXT    NOT NULL,
    album_artist_name TEXT    NOT NULL,
    album_artist_sort TEXT    NOT NULL,
    duration_us       INTEGER NOT NULL,
    track_number      INTEGER NOT NULL,
    disc_number       INTEGER NOT NULL,
    genre             TEXT    NOT NULL,
    year              INTEGER NOT NULL,
    cover_id          TEXT,
    cover_type        TEXT,
    manifest          TEXT    NOT NULL,
    create_ms         INTEGER NOT NULL,
    update_ms         INTEGER NOT NULL
);
CREATE INDEX tracks_hash ON tracks (content_hash);
CREATE INDEX tracks_album ON tracks (album_id);
CREATE INDEX tracks_artist ON tracks (artist_id);
CREATE INDEX tracks_created ON tracks (create_ms, id);

CREATE TABLE play_sessions (
    session_id        TEXT    PRIMARY KEY,
    user_id           TEXT    NOT NULL,
    track_id          TEXT    NOT NULL,
    track_duration_us INTEGER NOT NULL,
    last_sequence     INTEGER NOT NULL,
    played_us         INTEGER NOT NULL,
    counted           INTEGER NOT NULL,
    ended             INTEGER NOT NULL,
    end_reason        INTEGER NOT NULL,
    context_type      INTEGER NOT NULL,
    context_id        TEXT    NOT NULL,
    quality           INTEGER NOT NULL,
    started_ms        INTEGER NOT NULL,
    updated_ms        INTEGER NOT NULL
);
CREATE INDEX play_sessions_open ON play_sessions (ended, updated_ms);

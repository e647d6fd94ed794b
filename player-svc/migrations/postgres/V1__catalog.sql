-- The catalogue and play sessions (PostgreSQL). Times are milliseconds since the Unix epoch,
-- durations microseconds.
CREATE TABLE artists (
    id        TEXT COLLATE "C"    PRIMARY KEY,
    name      TEXT COLLATE "C"    NOT NULL,
    sort_name TEXT COLLATE "C"    NOT NULL,
    create_ms BIGINT  NOT NULL,
    update_ms BIGINT  NOT NULL
);
CREATE INDEX artists_sort ON artists (sort_name, id);

CREATE TABLE albums (
    id          TEXT COLLATE "C"    PRIMARY KEY,
    title       TEXT COLLATE "C"    NOT NULL,
    artist_id   TEXT COLLATE "C"    NOT NULL REFERENCES artists (id),
    artist_name TEXT COLLATE "C"    NOT NULL,
    create_ms   BIGINT  NOT NULL,
    update_ms   BIGINT  NOT NULL
);
CREATE INDEX albums_artist ON albums (artist_id);
CREATE INDEX albums_created ON albums (create_ms, id);

CREATE TABLE tracks (
    id                TEXT COLLATE "C"    PRIMARY KEY,
    source            TEXT COLLATE "C"    NOT NULL UNIQUE,
    content_hash      TEXT COLLATE "C"    NOT NULL,
    title             TEXT COLLATE "C"    NOT NULL,
    artist_id         TEXT COLLATE "C"    NOT NULL REFERENCES artists (id),
    artist_name       TEXT COLLATE "C"    NOT NULL,
    artist_sort       TEXT COLLATE "C"    NOT NULL,
    album_id          TEXT COLLATE "C"    NOT NULL REFERENCES albums (id),
    album_title       TEXT COLLATE "C"    NOT NULL,
    album_artist_id   TEXT COLLATE "C"    NOT NULL,
    album_artist_name TEXT COLLATE "C"    NOT NULL,
    album_artist_sort TEXT COLLATE "C"    NOT NULL,
    duration_us       BIGINT  NOT NULL,
    track_number      BIGINT  NOT NULL,
    disc_number       BIGINT  NOT NULL,
    genre             TEXT COLLATE "C"    NOT NULL,
    year              BIGINT  NOT NULL,
    cover_id          TEXT COLLATE "C",
    cover_type        TEXT COLLATE "C",
    manifest          TEXT COLLATE "C"    NOT NULL,
    create_ms         BIGINT  NOT NULL,
    update_ms         BIGINT  NOT NULL
);
CREATE INDEX tracks_hash ON tracks (content_hash);
CREATE INDEX tracks_album ON tracks (album_id);
CREATE INDEX tracks_artist ON tracks (artist_id);
CREATE INDEX tracks_created ON tracks (create_ms, id);

CREATE TABLE play_sessions (
    session_id        TEXT COLLATE "C"    PRIMARY KEY,
    user_id           TEXT COLLATE "C"    NOT NULL,
    track_id          TEXT COLLATE "C"    NOT NULL,
    track_duration_us BIGINT  NOT NULL,
    last_sequence     BIGINT  NOT NULL,
    played_us         BIGINT  NOT NULL,
    counted           BIGINT  NOT NULL,
    ended             BIGINT  NOT NULL,
    end_reason        BIGINT  NOT NULL,
    context_type      BIGINT  NOT NULL,
    context_id        TEXT COLLATE "C"    NOT NULL,
    quality           BIGINT  NOT NULL,
    started_ms        BIGINT  NOT NULL,
    updated_ms        BIGINT  NOT NULL
);
CREATE INDEX play_sessions_open ON play_sessions (ended, updated_ms);

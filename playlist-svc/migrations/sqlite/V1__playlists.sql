-- Playlists, their items, collaborators and followers; liked songs. Times are milliseconds
-- since the Unix epoch (the SQLite adapter stores the same values).
-- IF NOT EXISTS throughout: databases made before the shared runner (history in
-- playlist_schema_migrations) already hold these tables; this step then only records itself.
CREATE TABLE IF NOT EXISTS playlists (
    id             TEXT    PRIMARY KEY,
    owner_id       TEXT    NOT NULL,
    request_id     TEXT,
    name           TEXT    NOT NULL,
    description    TEXT    NOT NULL DEFAULT '',
    public         INTEGER NOT NULL,
    collaborative  INTEGER NOT NULL,
    cover_image_id TEXT,
    item_count     INTEGER NOT NULL DEFAULT 0,
    follower_count INTEGER NOT NULL DEFAULT 0,
    version        INTEGER  NOT NULL,
    revision       INTEGER  NOT NULL,
    create_ms      INTEGER  NOT NULL,
    update_ms      INTEGER  NOT NULL
);
-- A retried CreatePlaylist finds the first attempt's playlist.
CREATE UNIQUE INDEX IF NOT EXISTS playlists_request ON playlists (owner_id, request_id)
    WHERE request_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS playlists_owner ON playlists (owner_id, update_ms DESC, id DESC);

CREATE TABLE IF NOT EXISTS playlist_items (
    playlist_id TEXT   NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    item_id     TEXT   NOT NULL,
    -- SQLite's default BINARY collation is byte order, as the rank module compares.
    rank        TEXT   NOT NULL,
    track_id    TEXT   NOT NULL,
    added_by    TEXT   NOT NULL,
    add_ms      INTEGER NOT NULL,
    PRIMARY KEY (playlist_id, item_id),
    UNIQUE (playlist_id, rank)
);

CREATE TABLE IF NOT EXISTS playlist_collaborators (
    playlist_id TEXT   NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    user_id     TEXT   NOT NULL,
    seq         INTEGER NOT NULL,
    PRIMARY KEY (playlist_id, user_id)
);
CREATE INDEX IF NOT EXISTS playlist_collaborators_user ON playlist_collaborators (user_id);

CREATE TABLE IF NOT EXISTS playlist_followers (
    playlist_id TEXT   NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    user_id     TEXT   NOT NULL,
    follow_ms   INTEGER NOT NULL,
    PRIMARY KEY (playlist_id, user_id)
);
CREATE INDEX IF NOT EXISTS playlist_followers_user ON playlist_followers (user_id);

CREATE TABLE IF NOT EXISTS liked_tracks (
    user_id  TEXT   NOT NULL,
    track_id TEXT   NOT NULL,
    like_ms  INTEGER NOT NULL,
    PRIMARY KEY (user_id, track_id)
);
CREATE INDEX IF NOT EXISTS liked_tracks_recent ON liked_tracks (user_id, like_ms DESC, track_id DESC);

CREATE TABLE IF NOT EXISTS liked_versions (
    user_id TEXT   PRIMARY KEY,
    version INTEGER NOT NULL
);

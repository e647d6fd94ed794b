-- Liked albums and artists (kind 'album' or 'artist'), with a version per user and kind,
-- like liked_tracks and liked_versions; and one play queue per user, shared by the user's
-- devices. Times are milliseconds since the Unix epoch.
CREATE TABLE IF NOT EXISTS liked_items (
    user_id TEXT   NOT NULL,
    kind    TEXT   NOT NULL,
    item_id TEXT   NOT NULL,
    like_ms INTEGER NOT NULL,
    PRIMARY KEY (user_id, kind, item_id)
);
CREATE INDEX IF NOT EXISTS liked_items_recent
    ON liked_items (user_id, kind, like_ms DESC, item_id DESC);

CREATE TABLE IF NOT EXISTS liked_item_versions (
    user_id TEXT   NOT NULL,
    kind    TEXT   NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- track_ids: a JSON array of at most 1,000 ids (one row read and written whole).
-- current_index: NULL when no track is current.
CREATE TABLE IF NOT EXISTS play_queues (
    user_id       TEXT    PRIMARY KEY,
    track_ids     TEXT    NOT NULL,
    current_index INTEGER,
    position_ms   INTEGER NOT NULL,
    changed_by    TEXT    NOT NULL,
    changed_ms    INTEGER NOT NULL,
    version       INTEGER NOT NULL
);

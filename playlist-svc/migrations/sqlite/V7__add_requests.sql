-- Idempotency keys of AddPlaylistItems (issue 16): the answer to each addition that carried
-- a request_id, written in the addition's transaction, so a retry (by a client after a
-- timeout, or by the mesh on another replica) returns the first answer instead of adding
-- the tracks twice. Retention is bounded: each keyed addition deletes its caller's keys
-- older than a day (only that user's rows, so writers of different users never wait on
-- each other here).
CREATE TABLE IF NOT EXISTS playlist_add_requests (
    user_id     TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    playlist_id TEXT NOT NULL,
    version     INTEGER NOT NULL,
    -- The added items as JSON (item id, track id, position, who, when).
    items       TEXT NOT NULL,
    create_ms   INTEGER NOT NULL,
    PRIMARY KEY (user_id, request_id)
);

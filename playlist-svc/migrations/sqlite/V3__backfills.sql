-- One-time jobs a release owes the rows already stored, run by the store when it opens,
-- after the migrations: in batches, each its own transaction that locks the job's row (so
-- replicas starting together take turns) and records how far it got (after_id, in id
-- order); done_ms is set when it is finished, and a finished job never runs again.
CREATE TABLE IF NOT EXISTS playlist_backfills (
    name     TEXT    PRIMARY KEY,
    after_id TEXT    NOT NULL DEFAULT '',
    done_ms  INTEGER
);
-- Every public playlist's details, published once as a PlaylistChanged at its current
-- revision: playlists made public before events carried details become searchable without
-- waiting for their next change.
INSERT INTO playlist_backfills (name) VALUES ('playlist_details') ON CONFLICT DO NOTHING;

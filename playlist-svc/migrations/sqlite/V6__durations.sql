-- Playing times, for Playlist.duration. Each item keeps its track's duration as the
-- catalogue gave it when the item was added (0 when the track was gone); NULL means not yet
-- known: items stored before this step, until the duration backfill (a background task of
-- the service, through the catalogue, in bounded batches) fills them in. A playlist's
-- duration_ms is the sum of its items' (NULL counting 0), kept by every write of the items
-- in the same transaction.
ALTER TABLE playlist_items ADD COLUMN duration_ms INTEGER;
ALTER TABLE playlists ADD COLUMN duration_ms INTEGER NOT NULL DEFAULT 0;
-- The backfill's work list: the tracks of items whose duration is not known yet.
CREATE INDEX IF NOT EXISTS playlist_items_unknown_duration
    ON playlist_items (track_id) WHERE duration_ms IS NULL;

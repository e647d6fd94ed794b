-- Generated playlists ("Made for you"): owned by the system account, made for one listener
-- (generated_for) and of one kind (generated_kind, e.g. daily-mix), at most one per listener
-- and kind. Both NULL for playlists people made.
ALTER TABLE playlists ADD COLUMN generated_for TEXT;
ALTER TABLE playlists ADD COLUMN generated_kind TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS playlists_generated ON playlists (generated_for, generated_kind)
    WHERE generated_for IS NOT NULL;

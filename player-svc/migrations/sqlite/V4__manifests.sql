-- Audio manifests (each rendition's seek and segment tables: ~49 KB of JSON for a 4-minute
-- song in four qualities) leave the track row for a table of their own, one row per stored
-- version of the audio, keyed by its blob prefix: tracks playing the same blobs share one,
-- and reading, listing or counting tracks no longer drags 49 KB per row along. A manifest
-- no track points at any more is deleted when the last one moves away (`tracks_manifest`).
CREATE TABLE manifests (
    blob_prefix TEXT PRIMARY KEY,
    manifest    TEXT NOT NULL
);
INSERT OR IGNORE INTO manifests (blob_prefix, manifest)
    SELECT json_extract(manifest, '$.blob_prefix'), manifest FROM tracks;
ALTER TABLE tracks ADD COLUMN manifest_key TEXT NOT NULL DEFAULT '';
UPDATE tracks SET manifest_key = json_extract(manifest, '$.blob_prefix');
ALTER TABLE tracks DROP COLUMN manifest;
CREATE INDEX tracks_manifest ON tracks (manifest_key);

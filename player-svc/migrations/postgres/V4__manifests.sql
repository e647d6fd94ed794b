-- Audio manifests (each rendition's seek and segment tables: ~49 KB of JSON for a 4-minute
-- song in four qualities) leave the track row for a table of their own, one row per stored
-- version of the audio, keyed by its blob prefix: tracks playing the same blobs share one,
-- and reading, listing or counting tracks no longer drags them along. A manifest no track
-- points at any more is deleted when the last one moves away (`tracks_manifest`).
CREATE TABLE manifests (
    blob_prefix TEXT COLLATE "C" PRIMARY KEY,
    manifest    TEXT COLLATE "C" NOT NULL
);
INSERT INTO manifests (blob_prefix, manifest)
    SELECT manifest::json ->> 'blob_prefix', manifest FROM tracks
    ON CONFLICT (blob_prefix) DO NOTHING;
ALTER TABLE tracks ADD COLUMN manifest_key TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE tracks SET manifest_key = manifest::json ->> 'blob_prefix';
ALTER TABLE tracks DROP COLUMN manifest;
CREATE INDEX tracks_manifest ON tracks (manifest_key);

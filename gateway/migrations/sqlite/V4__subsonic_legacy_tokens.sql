-- Legacy token auth: see the PostgreSQL step of the same number. `sealed` (nonce, ciphertext,
-- tag) and the version of the settings key that sealed it; the keys are never stored here.
-- SQLite cannot add a CHECK constraint to an existing table: the adapter writes both or neither.
ALTER TABLE subsonic_passwords ADD COLUMN sealed BLOB;
ALTER TABLE subsonic_passwords ADD COLUMN seal_version INTEGER;

-- Accounts and refresh tokens. IF NOT EXISTS throughout: files made before the shared
-- runner hold these tables already (their DDL ran at every start, with no history); this
-- step then only records itself. Files older than `session_expires_at_ms` get the column
-- from the store before this runs (SQLite has no ADD COLUMN IF NOT EXISTS).
CREATE TABLE IF NOT EXISTS users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    roles         TEXT NOT NULL DEFAULT '',
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash    TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id     TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER,
    revoked_at_ms INTEGER,
    session_expires_at_ms INTEGER
);
CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_expiry ON refresh_tokens (expires_at_ms);
CREATE INDEX IF NOT EXISTS refresh_tokens_revoked ON refresh_tokens (revoked_at_ms)
    WHERE revoked_at_ms IS NOT NULL;

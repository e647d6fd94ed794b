-- Subsonic app passwords (gateway/src/subsonic): see the PostgreSQL step of the same number.
-- Only HMAC-SHA-256(pepper, secret) is stored, as hex; revoked rows keep their time.
CREATE TABLE subsonic_passwords (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    lookup          TEXT NOT NULL UNIQUE,
    hint            TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    last_used_at_ms INTEGER,
    last_client     TEXT,
    revoked_at_ms   INTEGER
);
CREATE INDEX subsonic_passwords_user ON subsonic_passwords (user_id);

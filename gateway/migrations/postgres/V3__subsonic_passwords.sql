-- Subsonic app passwords (gateway/src/subsonic): per-user secrets that Subsonic apps send as
-- `apiKey` or `p`. Only HMAC-SHA-256(pepper, secret) is stored, as hex, for a one-row
-- indexed lookup; the pepper is a setting, never in the database. Revoked rows stay (with
-- their time) so the list can say what was revoked; lookups skip them.
CREATE TABLE gateway.subsonic_passwords (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES gateway.users (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    lookup          TEXT NOT NULL UNIQUE,
    hint            TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    last_used_at_ms BIGINT,
    last_client     TEXT,
    revoked_at_ms   BIGINT
);
CREATE INDEX subsonic_passwords_user ON gateway.subsonic_passwords (user_id);

-- Accounts and refresh tokens, in the gateway's own schema. IF NOT EXISTS throughout:
-- databases made before the shared runner hold these objects already (their DDL ran at
-- every start, with no history); this step then only records itself.
CREATE SCHEMA IF NOT EXISTS gateway;
CREATE TABLE IF NOT EXISTS gateway.users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    roles         TEXT NOT NULL DEFAULT '',
    created_at_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS gateway.refresh_tokens (
    token_hash    TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES gateway.users (id) ON DELETE CASCADE,
    family_id     TEXT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    used_at_ms    BIGINT,
    revoked_at_ms BIGINT
);
ALTER TABLE gateway.refresh_tokens ADD COLUMN IF NOT EXISTS session_expires_at_ms BIGINT;
CREATE INDEX IF NOT EXISTS refresh_tokens_family ON gateway.refresh_tokens (family_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_expiry ON gateway.refresh_tokens (expires_at_ms);
CREATE INDEX IF NOT EXISTS refresh_tokens_revoked ON gateway.refresh_tokens (revoked_at_ms)
    WHERE revoked_at_ms IS NOT NULL;

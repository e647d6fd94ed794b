-- Legacy token auth (`t` = md5(secret + salt)) needs the secret itself: app passwords the user
-- marked for legacy clients also keep it sealed with AES-256-GCM (gateway/src/subsonic/seal.rs).
-- `sealed` is the nonce, ciphertext and tag; `seal_version` the version of the settings key
-- that sealed it (`gateway.subsonic.seal_keys`). The keys are never in the database. A row
-- without `sealed` is not usable with t+s.
ALTER TABLE gateway.subsonic_passwords
    ADD COLUMN sealed BYTEA,
    ADD COLUMN seal_version INTEGER,
    ADD CONSTRAINT subsonic_passwords_sealed_with_version
        CHECK ((sealed IS NULL) = (seal_version IS NULL));

-- The first account created is the deployment's admin (it can add music from the web
-- player). Who that is is claimed once and for good (deleting that account frees nothing for
-- the next sign-up), atomically, by inserting the one row this table can
-- hold in the same transaction as the account. A file that has accounts already gives the
-- claim (and the role) to its oldest account.
CREATE TABLE first_admin (
    only_row INTEGER PRIMARY KEY DEFAULT 1 CHECK (only_row = 1),
    user_id  TEXT NOT NULL
);
INSERT INTO first_admin (only_row, user_id)
    SELECT 1, id FROM users ORDER BY created_at_ms, id LIMIT 1;
UPDATE users
    SET roles = CASE WHEN roles = '' THEN 'admin' ELSE roles || ',admin' END
    WHERE id IN (SELECT user_id FROM first_admin)
      AND ',' || roles || ',' NOT LIKE '%,admin,%';

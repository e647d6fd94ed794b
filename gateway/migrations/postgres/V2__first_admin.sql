-- The first account created is the deployment's admin (it can add music from the web
-- player). Who that is is claimed once and for good (deleting that account frees nothing for
-- the next sign-up), atomically, by inserting the one row this table can
-- hold in the same transaction as the account: two sign-ups racing on an empty deployment
-- cannot both win. A deployment that has accounts already gives the claim (and the role) to
-- its oldest account, so an upgrade neither loses its admin nor hands the role to whoever
-- signs up next.
CREATE TABLE gateway.first_admin (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    user_id  TEXT NOT NULL
);
INSERT INTO gateway.first_admin (only_row, user_id)
    SELECT TRUE, id FROM gateway.users ORDER BY created_at_ms, id LIMIT 1;
UPDATE gateway.users
    SET roles = CASE WHEN roles = '' THEN 'admin' ELSE roles || ',admin' END
    WHERE id IN (SELECT user_id FROM gateway.first_admin)
      AND NOT ('admin' = ANY (string_to_array(roles, ',')));

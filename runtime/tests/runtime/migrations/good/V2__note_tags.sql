-- A second fixture step, so a run applies more than one and in order.
ALTER TABLE notes ADD COLUMN tag TEXT;

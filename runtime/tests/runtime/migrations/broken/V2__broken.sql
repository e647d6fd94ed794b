-- A fixture step that fails: the runner must report it and release its lock.
ALTER TABLE no_such_table ADD COLUMN tag TEXT;

-- A fixture step: one table, so a second runner racing the first would fail on it.
CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT NOT NULL);

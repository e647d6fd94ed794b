-- Kept counts of the unfiltered listings' totals (all tracks, albums and artists: kind
-- 'tracks', 'albums', 'artists' with name '') and of tracks per genre (kind 'genre', name the
-- genre), so a page reads its total as one row instead of counting the table (19 ms at 1M
-- tracks). Triggers keep them in the transaction of every insert, delete and re-tag; the
-- filtered listings (by artist, by album) are small and still count. A genre no track has
-- any more keeps its row at 0.
CREATE TABLE catalogue_counts (
    kind TEXT    NOT NULL,
    name TEXT    NOT NULL,
    n    INTEGER NOT NULL,
    PRIMARY KEY (kind, name)
) WITHOUT ROWID;
INSERT INTO catalogue_counts (kind, name, n)
    SELECT 'tracks', '', COUNT(*) FROM tracks
    UNION ALL SELECT 'albums', '', COUNT(*) FROM albums
    UNION ALL SELECT 'artists', '', COUNT(*) FROM artists
    UNION ALL SELECT 'genre', genre, COUNT(*) FROM tracks GROUP BY genre;

CREATE TRIGGER tracks_counted_in AFTER INSERT ON tracks BEGIN
    UPDATE catalogue_counts SET n = n + 1 WHERE kind = 'tracks' AND name = '';
    INSERT INTO catalogue_counts (kind, name, n) VALUES ('genre', NEW.genre, 1)
        ON CONFLICT (kind, name) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER tracks_counted_out AFTER DELETE ON tracks BEGIN
    UPDATE catalogue_counts SET n = n - 1 WHERE kind = 'tracks' AND name = '';
    UPDATE catalogue_counts SET n = n - 1 WHERE kind = 'genre' AND name = OLD.genre;
END;
-- A re-tag (the upsert's update) moves the track between genres.
CREATE TRIGGER tracks_counted_regenred AFTER UPDATE OF genre ON tracks
    WHEN OLD.genre <> NEW.genre BEGIN
    UPDATE catalogue_counts SET n = n - 1 WHERE kind = 'genre' AND name = OLD.genre;
    INSERT INTO catalogue_counts (kind, name, n) VALUES ('genre', NEW.genre, 1)
        ON CONFLICT (kind, name) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER albums_counted_in AFTER INSERT ON albums BEGIN
    UPDATE catalogue_counts SET n = n + 1 WHERE kind = 'albums' AND name = '';
END;
CREATE TRIGGER albums_counted_out AFTER DELETE ON albums BEGIN
    UPDATE catalogue_counts SET n = n - 1 WHERE kind = 'albums' AND name = '';
END;
CREATE TRIGGER artists_counted_in AFTER INSERT ON artists BEGIN
    UPDATE catalogue_counts SET n = n + 1 WHERE kind = 'artists' AND name = '';
END;
CREATE TRIGGER artists_counted_out AFTER DELETE ON artists BEGIN
    UPDATE catalogue_counts SET n = n - 1 WHERE kind = 'artists' AND name = '';
END;

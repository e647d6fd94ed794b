-- Kept counts of the unfiltered listings' totals (all tracks, albums and artists: kind
-- 'tracks', 'albums', 'artists' with name '') and of tracks per genre (kind 'genre', name the
-- genre), so a page reads its total as one row instead of counting the table (a sequential
-- scan: 21 ms at 100k tracks). Triggers keep them in the transaction of every insert,
-- delete and re-tag; the filtered listings (by artist, by album) are small and still count.
-- A genre no track has any more keeps its row at 0.
--
-- Concurrency: one row per count, so concurrent writers of a count take turns on its row.
-- The triggers are deferred to commit (constraint triggers, which are per row: every write
-- here is one row a statement), so a writer holds a count row only while it commits, not
-- through the rest of its transaction, and each writer takes the rows in one order
-- (artists, albums, then its track's genre and total in key order): writers wait for one
-- another but cannot deadlock, on the count rows or on the artist and album rows they locked
-- before. That order holds for one track a transaction, which is how PostgreSQL is written
-- (`put_track`; `put_tracks`, the bulk path, puts them one at a time), each behind seconds
-- of transcoding. Being deferred, a transaction does not see its own changes in the counts
-- until it commits.
--
-- Writers of a release without the triggers may still be running (a rolling upgrade): they
-- wait here until this step commits, so no row lands between the counting and the triggers.
LOCK TABLE artists, albums, tracks IN SHARE ROW EXCLUSIVE MODE;
CREATE TABLE catalogue_counts (
    kind TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    n    BIGINT           NOT NULL,
    PRIMARY KEY (kind, name)
);
INSERT INTO catalogue_counts (kind, name, n)
    SELECT 'tracks', '', COUNT(*) FROM tracks
    UNION ALL SELECT 'albums', '', COUNT(*) FROM albums
    UNION ALL SELECT 'artists', '', COUNT(*) FROM artists
    UNION ALL (SELECT 'genre', genre, COUNT(*) FROM tracks GROUP BY genre);

-- Adds each `deltas[i]` to the count (`kinds[i]`, `names[i]`), in key order.
CREATE FUNCTION add_catalogue_counts(kinds TEXT[], names TEXT[], deltas BIGINT[])
RETURNS void LANGUAGE sql AS $$
    INSERT INTO catalogue_counts AS c (kind, name, n)
    SELECT d.kind, d.name, SUM(d.n) FROM unnest(kinds, names, deltas) AS d (kind, name, n)
    GROUP BY d.kind, d.name ORDER BY d.kind, d.name
    ON CONFLICT (kind, name) DO UPDATE SET n = c.n + excluded.n
$$;

CREATE FUNCTION count_catalogue_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta BIGINT := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
    listing TEXT := TG_TABLE_NAME;
BEGIN
    IF TG_TABLE_NAME <> 'tracks' THEN
        PERFORM add_catalogue_counts(ARRAY[listing], ARRAY[''], ARRAY[delta]);
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM add_catalogue_counts(ARRAY['genre', listing], ARRAY[NEW.genre, ''], ARRAY[1, 1]);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM add_catalogue_counts(ARRAY['genre', listing], ARRAY[OLD.genre, ''], ARRAY[-1, -1]);
    ELSE
        -- A re-tag (the upsert's update) moves the track between genres.
        PERFORM add_catalogue_counts(
            ARRAY['genre', 'genre'], ARRAY[OLD.genre, NEW.genre], ARRAY[-1, 1]);
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER tracks_counted AFTER INSERT OR DELETE ON tracks
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION count_catalogue_row();
CREATE CONSTRAINT TRIGGER tracks_counted_regenred AFTER UPDATE OF genre ON tracks
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.genre <> NEW.genre) EXECUTE FUNCTION count_catalogue_row();
CREATE CONSTRAINT TRIGGER albums_counted AFTER INSERT OR DELETE ON albums
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION count_catalogue_row();
CREATE CONSTRAINT TRIGGER artists_counted AFTER INSERT OR DELETE ON artists
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION count_catalogue_row();

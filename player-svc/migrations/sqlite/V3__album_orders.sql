-- What the album listings by position (Subsonic album lists) order and filter by, kept on
-- the album row so each order reads an index: the year (as the read side computes it: the
-- lowest known year of its tracks) and the album artist's sort name, refreshed on every
-- write of one of its tracks. Tracks by genre (listing, counts, album filter) get theirs.
ALTER TABLE albums ADD COLUMN year INTEGER NOT NULL DEFAULT 0;
ALTER TABLE albums ADD COLUMN artist_sort TEXT NOT NULL DEFAULT '';
UPDATE albums SET
    year = COALESCE((SELECT MIN(t.year) FROM tracks t WHERE t.album_id = albums.id AND t.year > 0), 0),
    artist_sort = COALESCE((SELECT r.sort_name FROM artists r WHERE r.id = albums.artist_id), '');
CREATE INDEX albums_title ON albums (title, id);
CREATE INDEX albums_artist_sort ON albums (artist_sort, title, id);
CREATE INDEX albums_year ON albums (year, title, id);
CREATE INDEX tracks_genre ON tracks (genre, create_ms, id);
CREATE INDEX tracks_genre_album ON tracks (genre, album_id);

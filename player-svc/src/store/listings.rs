//! SQL of the listings by position (albums in an order with filters, the key at an offset of
//! a keyset listing), random samples and genres, shared by both adapters like `sql.rs`.
//! Parameters are collected in order as [`Param`]s and each adapter binds them.

use super::sql::{TRACK_COLUMNS, album_select};
use super::types::{AlbumOrder, AlbumQuery, SortKey, TrackFilter, TrackSample};

/// One bound parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Param {
    Int(i64),
    Text(String),
}

/// A statement and its parameters, numbered `$1..` in order.
#[derive(Debug, Default)]
pub(crate) struct Bound {
    pub(crate) params: Vec<Param>,
}

impl Bound {
    /// Adds `param` and returns its placeholder.
    fn bind(&mut self, param: Param) -> String {
        self.params.push(param);
        format!("${}", self.params.len())
    }

    fn int(&mut self, value: impl Into<i64>) -> String {
        self.bind(Param::Int(value.into()))
    }

    fn text(&mut self, value: &str) -> String {
        self.bind(Param::Text(value.to_owned()))
    }
}

/// The `WHERE` clause of an album query's filters (over `albums a`), or nothing.
fn album_filters(q: &AlbumQuery, b: &mut Bound) -> String {
    let mut clauses = Vec::new();
    if q.from_year > 0 || q.to_year > 0 {
        clauses.push("a.year > 0".to_owned());
    }
    if q.from_year > 0 {
        clauses.push(format!("a.year >= {}", b.int(q.from_year)));
    }
    if q.to_year > 0 {
        clauses.push(format!("a.year <= {}", b.int(q.to_year)));
    }
    if let Some(genre) = &q.genre {
        clauses.push(format!(
            "a.id IN (SELECT t.album_id FROM tracks t WHERE t.genre = {})",
            b.text(genre)
        ));
    }
    if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    }
}

/// A page of albums in `q`'s order (each order has an index: see migration V3) and the count
/// of the filtered albums (the kept count when unfiltered): the statements and their
/// parameters.
pub(crate) fn query_albums(q: &AlbumQuery, limit: usize) -> ((String, Bound), (String, Bound)) {
    let order = match q.order {
        AlbumOrder::Created => "a.create_ms, a.id",
        AlbumOrder::Newest => "a.create_ms DESC, a.id DESC",
        AlbumOrder::Title => "a.title, a.id",
        AlbumOrder::Artist => "a.artist_sort, a.title, a.id",
        AlbumOrder::Year => "a.year, a.title, a.id",
        AlbumOrder::YearDescending => "a.year DESC, a.title, a.id",
    };
    let mut page = Bound::default();
    let filters = album_filters(q, &mut page);
    let limit = page.int(i64::try_from(limit).unwrap_or(i64::MAX));
    let offset = page.int(i64::try_from(q.offset).unwrap_or(i64::MAX));
    let select = format!(
        "{} {filters} ORDER BY {order} LIMIT {limit} OFFSET {offset}",
        album_select(false, false)
    );
    let mut count = Bound::default();
    let count_filters = album_filters(q, &mut count);
    let count_sql = if count_filters.is_empty() {
        super::keyset::kept_count("albums", "''")
    } else {
        format!("SELECT COUNT(*) FROM albums a {count_filters}")
    };
    ((select, page), (count_sql, count))
}

/// Which keyset listing an offset is taken in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keyed {
    /// `list_tracks` with this filter.
    Tracks(TrackFilter),
    /// `list_albums` of one artist, or all.
    Albums(Option<String>),
    /// `list_artists`.
    Artists,
}

/// The sort key (as `k1, k2, k3, k4, id`) of the item at 0-based position `$n` (the last
/// parameter) of a keyset listing. The unfiltered listings and the genre read their key
/// columns from an index alone, so skipping is cheap (the sync path); the others are small.
pub(crate) fn key_at(listing: &Keyed, offset: u64) -> (String, Bound) {
    let mut b = Bound::default();
    let zero = "CAST(0 AS BIGINT)";
    let sql = match listing {
        Keyed::Tracks(TrackFilter::All) => {
            format!("SELECT create_ms, '', {zero}, {zero}, id FROM tracks ORDER BY create_ms, id")
        }
        Keyed::Tracks(TrackFilter::Genre(genre)) => format!(
            "SELECT create_ms, '', {zero}, {zero}, id FROM tracks WHERE genre = {}
             ORDER BY create_ms, id",
            b.text(genre)
        ),
        Keyed::Albums(None) => {
            format!("SELECT create_ms, '', {zero}, {zero}, id FROM albums ORDER BY create_ms, id")
        }
        Keyed::Artists => {
            format!(
                "SELECT {zero}, sort_name, {zero}, {zero}, id FROM artists ORDER BY sort_name, id"
            )
        }
        Keyed::Tracks(filter) => {
            let page = super::keyset::list_tracks(filter, false).page;
            b.text(match filter {
                TrackFilter::Album(id) | TrackFilter::Artist(id) => id,
                TrackFilter::All | TrackFilter::Genre(_) => "",
            });
            keys_of(&page)
        }
        Keyed::Albums(Some(artist)) => {
            let page = super::keyset::list_albums(true, false).page;
            b.text(artist);
            keys_of(&page)
        }
    };
    let offset = b.int(i64::try_from(offset).unwrap_or(i64::MAX));
    (format!("{sql} LIMIT 1 OFFSET {offset}"), b)
}

/// The key columns of a keyset page query (`SELECT * FROM (...) q ... LIMIT $n`), without
/// its limit, which [`key_at`] replaces.
fn keys_of(page: &str) -> String {
    let without_limit = page.rsplit_once(" LIMIT ").map_or(page, |(head, _)| head);
    without_limit.replacen("SELECT *", "SELECT q.k1, q.k2, q.k3, q.k4, q.id", 1)
}

/// A sort key from the five key columns.
pub(crate) fn key(k1: i64, k2: String, k3: i64, k4: i64, id: String) -> SortKey {
    SortKey(k1, k2, k3, k4, id)
}

/// Up to `limit` tracks matching `sample` with id at or after `start`, by id. Ids are hashes,
/// so a run from a random start is a random pick; each filter has an index to seek in.
pub(crate) fn tracks_from(sample: &TrackSample, start: &str, limit: usize) -> (String, Bound) {
    let mut b = Bound::default();
    let mut clauses = vec![format!("id >= {}", b.text(start))];
    if let Some(genre) = &sample.genre {
        clauses.push(format!("genre = {}", b.text(genre)));
    }
    if sample.from_year > 0 || sample.to_year > 0 {
        clauses.push("year > 0".to_owned());
    }
    if sample.from_year > 0 {
        clauses.push(format!("year >= {}", b.int(sample.from_year)));
    }
    if sample.to_year > 0 {
        clauses.push(format!("year <= {}", b.int(sample.to_year)));
    }
    let limit = b.int(i64::try_from(limit).unwrap_or(i64::MAX));
    let sql = format!(
        "SELECT {TRACK_COLUMNS} FROM tracks WHERE {} ORDER BY id LIMIT {limit}",
        clauses.join(" AND ")
    );
    (sql, b)
}

/// Up to `limit` albums with id at or after `start`, by id.
pub(crate) fn albums_from(start: &str, limit: usize) -> (String, Bound) {
    let mut b = Bound::default();
    let start = b.text(start);
    let limit = b.int(i64::try_from(limit).unwrap_or(i64::MAX));
    let sql = format!(
        "{} WHERE a.id >= {start} ORDER BY a.id LIMIT {limit}",
        album_select(false, false)
    );
    (sql, b)
}

/// The genres with their track and album counts, by name (index `tracks_genre_album`).
pub(crate) const GENRES: &str = "SELECT genre, COUNT(*), COUNT(DISTINCT album_id) FROM tracks
     WHERE genre <> '' GROUP BY genre ORDER BY genre LIMIT $1";

/// The album a track is on and the audio it plays before it is replaced (a re-tag may move
/// it to another album, a re-ingest to new audio).
pub(crate) const TRACK_BEFORE: &str = "SELECT album_id, manifest_key FROM tracks WHERE id = $1";

/// Recomputes the stored aggregates the album orders are indexed by, for the album a track
/// was on (`$2`) and is on now (`$1`): its year (as the read side computes it) and its
/// artist's sort name.
pub(crate) const REFRESH_ALBUMS: &str = "UPDATE albums SET
       year = COALESCE((SELECT MIN(t.year) FROM tracks t
                        WHERE t.album_id = albums.id AND t.year > 0), 0),
       artist_sort = COALESCE((SELECT r.sort_name FROM artists r WHERE r.id = albums.artist_id), '')
     WHERE id = $1 OR id = $2";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_bind_in_order() {
        let q = AlbumQuery {
            order: AlbumOrder::Year,
            from_year: 1990,
            to_year: 1999,
            genre: Some("Rock".into()),
            offset: 20,
        };
        let ((sql, page), (count, counted)) = query_albums(&q, 10);
        assert!(sql.contains("a.year >= $1 AND a.year <= $2"), "{sql}");
        assert!(sql.ends_with("LIMIT $4 OFFSET $5"), "{sql}");
        assert_eq!(page.params.len(), 5);
        assert_eq!(counted.params.len(), 3);
        assert!(count.contains("t.genre = $3"), "{count}");
    }

    #[test]
    fn the_key_of_a_filtered_listing_reads_its_key_columns() {
        let (sql, b) = key_at(&Keyed::Tracks(TrackFilter::Album("al_1".into())), 5);
        assert!(
            sql.starts_with("SELECT q.k1, q.k2, q.k3, q.k4, q.id FROM"),
            "{sql}"
        );
        assert!(sql.ends_with("LIMIT 1 OFFSET $2"), "{sql}");
        assert_eq!(b.params, [Param::Text("al_1".into()), Param::Int(5)]);
    }
}

//! The keyset listings (tracks, albums, artists) shared by both adapters: their page and
//! count statements and the sort key of an item in each.
//!
//! The totals of the unfiltered listings and of tracks by genre are kept counts (migration
//! V5, one row each, kept by triggers): counting the table on every page was linear in the
//! catalogue (19 ms at 1M tracks on SQLite, a sequential scan on PostgreSQL). The listings
//! by artist and by album are small and count their rows.
//!
//! Every listing's inner select yields the key columns `k1`..`k4` and `id` (a [`SortKey`], the
//! page token's content), but each listing orders only by the parts that vary in it
//! ([`Listing::parts`]), then `id`. Constants in an `ORDER BY` are not free: SQLite does not
//! see through `'' AS k2`, so ordering all tracks by `k1, k2, k3, k4, id` could not be read
//! from the `(create_ms, id)` index and sorted the whole table, manifests included, for every
//! first page (160 ms at 10k tracks, over the gateway's deadline at 100k). Page tokens are
//! unchanged: a key's constant parts are simply not compared.

use super::sql::{TRACK_COLUMNS, album_select, artist_select};
use super::types::{AlbumRecord, ArtistRecord, SortKey, TrackFilter, TrackRecord};

/// A keyset listing's statements.
#[derive(Debug, Clone)]
pub(crate) struct Listing {
    /// One page: the filter id (when filtered) as `$1`, then, when resuming, the key's
    /// [`parts`](Self::parts) and its id, then the limit.
    pub(crate) page: String,
    /// The listing's total: the filter id (when filtered) as `$1`.
    pub(crate) count: String,
    /// Which of the key's `k1`..`k4` (1-based) the listing orders by, before `id`.
    pub(crate) parts: &'static [usize],
}

/// A keyset page over `inner` (which yields `k1`..`k4` and `id`) in the order of `parts`
/// then `id`, after the key bound from `$first` when `keyed`, limited by the next parameter.
fn page(inner: &str, keyed: bool, first: usize, parts: &[usize]) -> String {
    let columns: Vec<String> = parts
        .iter()
        .map(|k| format!("q.k{k}"))
        .chain(["q.id".to_owned()])
        .collect();
    let columns = columns.join(", ");
    let (after, limit) = if keyed {
        let bound: Vec<String> = (first..=first + parts.len())
            .map(|n| format!("${n}"))
            .collect();
        let after = format!("WHERE ({columns}) > ({})", bound.join(", "));
        (after, first + parts.len() + 1)
    } else {
        (String::new(), first)
    };
    format!("SELECT * FROM ({inner}) q {after} ORDER BY {columns} LIMIT ${limit}")
}

/// The kept count (`catalogue_counts`, migration V5) of `kind` named `name` (an SQL literal or
/// parameter): one row read by its key. The sum of that one row answers 0 when there is none
/// (a genre never seen) in one step of the plan.
pub(crate) fn kept_count(kind: &str, name: &str) -> String {
    format!(
        "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM catalogue_counts \
         WHERE kind = '{kind}' AND name = {name}"
    )
}

/// Listing of tracks (parameters: the filter id when filtered, then the key, then the limit).
pub(crate) fn list_tracks(filter: &TrackFilter, keyed: bool) -> Listing {
    let created = "create_ms AS k1, '' AS k2, CAST(0 AS BIGINT) AS k3, CAST(0 AS BIGINT) AS k4";
    let (filter_sql, keys, parts): (_, _, &'static [usize]) = match filter {
        // Index `tracks_created (create_ms, id)`.
        TrackFilter::All => ("", created, &[1]),
        TrackFilter::Album(_) => (
            "WHERE album_id = $1",
            "disc_number AS k1, '' AS k2, track_number AS k3, CAST(0 AS BIGINT) AS k4",
            &[1, 3],
        ),
        TrackFilter::Artist(_) => (
            "WHERE artist_id = $1",
            "year AS k1, album_title AS k2, disc_number AS k3, track_number AS k4",
            &[1, 2, 3, 4],
        ),
        // Index `tracks_genre (genre, create_ms, id)`.
        TrackFilter::Genre(_) => ("WHERE genre = $1", created, &[1]),
    };
    let first = if matches!(filter, TrackFilter::All) {
        1
    } else {
        2
    };
    let inner = format!("SELECT {TRACK_COLUMNS}, {keys} FROM tracks {filter_sql}");
    let count = match filter {
        TrackFilter::All => kept_count("tracks", "''"),
        TrackFilter::Genre(_) => kept_count("genre", "$1"),
        TrackFilter::Album(_) | TrackFilter::Artist(_) => {
            format!("SELECT COUNT(*) FROM tracks {filter_sql}")
        }
    };
    Listing {
        page: page(&inner, keyed, first, parts),
        count,
        parts,
    }
}

/// Listing of albums (of one artist as `$1`, or all).
pub(crate) fn list_albums(by_artist: bool, keyed: bool) -> Listing {
    let inner = format!(
        "SELECT s.*, CAST(0 AS BIGINT) AS k3, CAST(0 AS BIGINT) AS k4 FROM ({}) s",
        album_select(by_artist, false)
    );
    let (first, parts): (_, &'static [usize]) = if by_artist { (2, &[1, 2]) } else { (1, &[1]) };
    let count = if by_artist {
        format!("SELECT COUNT(*) FROM ({}) c", album_select(true, false))
    } else {
        kept_count("albums", "''")
    };
    Listing {
        page: page(&inner, keyed, first, parts),
        count,
        parts,
    }
}

/// Listing of artists by sort name (index `artists_sort (sort_name, id)`).
pub(crate) fn list_artists(keyed: bool) -> Listing {
    let inner = format!(
        "SELECT s.*, CAST(0 AS BIGINT) AS k3, CAST(0 AS BIGINT) AS k4 FROM ({}) s",
        artist_select(false)
    );
    Listing {
        page: page(&inner, keyed, 1, &[2]),
        count: kept_count("artists", "''"),
        parts: &[2],
    }
}

/// The sort key of a track in `filter`'s order.
pub(crate) fn track_key(filter: &TrackFilter, t: &TrackRecord) -> SortKey {
    let id = t.id.clone();
    match filter {
        TrackFilter::All | TrackFilter::Genre(_) => SortKey(t.create_ms, String::new(), 0, 0, id),
        TrackFilter::Album(_) => SortKey(
            i64::from(t.disc_number),
            String::new(),
            i64::from(t.track_number),
            0,
            id,
        ),
        TrackFilter::Artist(_) => SortKey(
            i64::from(t.year),
            t.album.title.clone(),
            i64::from(t.disc_number),
            i64::from(t.track_number),
            id,
        ),
    }
}

/// The sort key of an album in its listing's order.
pub(crate) fn album_key(by_artist: bool, a: &AlbumRecord) -> SortKey {
    if by_artist {
        SortKey(i64::from(a.year), a.title.clone(), 0, 0, a.id.clone())
    } else {
        SortKey(a.create_ms, String::new(), 0, 0, a.id.clone())
    }
}

/// The sort key of an artist.
pub(crate) fn artist_key(a: &ArtistRecord) -> SortKey {
    SortKey(0, a.sort_name.clone(), 0, 0, a.id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_orders_and_resumes_by_its_varying_parts_only() {
        let all = list_tracks(&TrackFilter::All, true);
        assert!(
            all.page
                .ends_with("WHERE (q.k1, q.id) > ($1, $2) ORDER BY q.k1, q.id LIMIT $3"),
            "{}",
            all.page
        );
        let album = list_tracks(&TrackFilter::Album("al".into()), false);
        assert!(
            album.page.ends_with("ORDER BY q.k1, q.k3, q.id LIMIT $2"),
            "{}",
            album.page
        );
        let artists = list_artists(true);
        assert!(
            artists
                .page
                .ends_with("WHERE (q.k2, q.id) > ($1, $2) ORDER BY q.k2, q.id LIMIT $3"),
            "{}",
            artists.page
        );
    }

    #[test]
    fn unfiltered_and_genre_totals_are_kept_and_the_small_listings_count() {
        let kept = |listing: Listing| listing.count.contains("FROM catalogue_counts");
        assert!(kept(list_tracks(&TrackFilter::All, false)));
        assert!(kept(list_tracks(&TrackFilter::Genre("Rock".into()), true)));
        assert!(kept(list_albums(false, false)));
        assert!(kept(list_artists(true)));
        assert!(!kept(list_tracks(&TrackFilter::Album("al".into()), false)));
        assert!(!kept(list_tracks(&TrackFilter::Artist("ar".into()), false)));
        assert!(!kept(list_albums(true, false)));
    }
}

//! The catalogue's listings by position (offsets, album orders and filters), random samples
//! and genres: validation and paging over the store's `key_at`, `query_albums`,
//! `tracks_from`, `albums_from` and `genres`.

use std::collections::HashSet;

use crate::catalog::{Catalog, Listed, decode_token, encode_token, page_size};
use crate::error::PlayerError;
use crate::store::{
    AlbumOrder, AlbumQuery, AlbumRecord, CatalogStore, GenreCount, Keyed, SortKey, StoreError,
    TrackRecord, TrackSample,
};

/// Largest `offset` a listing accepts: bounds what one request may skip.
pub const MAX_OFFSET: i32 = 1_000_000;
/// Most genres answered.
pub const MAX_GENRES: usize = 10_000;
/// Longest genre a filter accepts, in bytes (tags are shorter; bounds the token).
const MAX_GENRE: usize = 256;
/// Random starting points of a sample: its items come in this many runs of neighbours by id.
const SAMPLE_RUNS: usize = 16;

/// Where a keyset listing resumes.
pub(crate) enum Resume {
    /// After this key (`None`: from the start).
    After(Option<SortKey>),
    /// The offset is past the last item.
    PastEnd,
}

/// A genre filter's value, checked: PostgreSQL text cannot hold NUL, and the length is bounded.
pub(crate) fn check_genre(genre: &str) -> Result<(), PlayerError> {
    if genre.len() > MAX_GENRE || genre.contains('\0') {
        return Err(PlayerError::invalid(
            "genre",
            "must be at most 256 bytes without NUL",
        ));
    }
    Ok(())
}

fn check_offset(offset: i32, token: &str) -> Result<u64, PlayerError> {
    if !(0..=MAX_OFFSET).contains(&offset) {
        return Err(PlayerError::invalid("offset", "must be 0 to 1000000"));
    }
    if offset > 0 && !token.is_empty() {
        return Err(PlayerError::invalid(
            "offset",
            "must be 0 when a page_token is given",
        ));
    }
    Ok(u64::try_from(offset).unwrap_or(0))
}

/// The filters and order of an album listing beyond the artist.
#[derive(Debug, Clone, Default)]
pub struct AlbumListing {
    /// The order; `None` is the keyset listing's own.
    pub order: Option<AlbumOrder>,
    /// Lowest year, 0 for none.
    pub from_year: u32,
    /// Highest year, 0 for none.
    pub to_year: u32,
    /// Only albums with a track of this genre; empty for any.
    pub genre: String,
}

impl AlbumListing {
    /// Whether the listing is by position (an order or a filter) rather than by key.
    pub fn by_position(&self) -> bool {
        self.order.is_some() || self.from_year > 0 || self.to_year > 0 || !self.genre.is_empty()
    }
}

impl Catalog {
    /// Where a keyset listing named `listing` resumes: after the token's key, or after the
    /// item before `offset`.
    pub(crate) async fn resume(
        &self,
        listing: &str,
        token: &str,
        offset: i32,
        keyed: &Keyed,
    ) -> Result<Resume, PlayerError> {
        let offset = check_offset(offset, token)?;
        if offset == 0 {
            return Ok(Resume::After(decode_token(listing, token)?));
        }
        Ok(match self.store.key_at(keyed, offset - 1).await? {
            Some(key) => Resume::After(Some(key)),
            None => Resume::PastEnd,
        })
    }

    /// A page of albums in an order, filtered, by position (`artist_id` must be empty).
    pub async fn list_albums_by_position(
        &self,
        listing: &AlbumListing,
        size: i32,
        token: &str,
        offset: i32,
    ) -> Result<Listed<AlbumRecord>, PlayerError> {
        let n = page_size(size)?;
        let from_offset = check_offset(offset, token)?;
        check_genre(&listing.genre)?;
        if listing.from_year > 0 && listing.to_year > 0 && listing.from_year > listing.to_year {
            return Err(PlayerError::invalid(
                "from_year",
                "must not be after to_year",
            ));
        }
        let order = listing.order.unwrap_or(AlbumOrder::Created);
        let name = format!(
            "albums?{order:?}/{}/{}/{}",
            listing.from_year, listing.to_year, listing.genre
        );
        let start = match decode_token(&name, token)? {
            Some(SortKey(next, ..)) => u64::try_from(next).unwrap_or(0),
            None => from_offset,
        };
        let query = AlbumQuery {
            order,
            from_year: listing.from_year,
            to_year: listing.to_year,
            genre: (!listing.genre.is_empty()).then(|| listing.genre.clone()),
            offset: start,
        };
        let page = self.store.query_albums(&query, n).await?;
        let next = start.saturating_add(page.items.len() as u64);
        let token = if page.items.len() == n && next < page.total {
            let key = SortKey(
                i64::try_from(next).unwrap_or(i64::MAX),
                String::new(),
                0,
                0,
                String::new(),
            );
            encode_token(&name, key)
        } else {
            String::new()
        };
        Ok((page.items, token, page.total))
    }

    /// Up to `size` random tracks matching `sample`, each once.
    pub async fn sample_tracks(
        &self,
        size: i32,
        sample: &TrackSample,
    ) -> Result<Vec<TrackRecord>, PlayerError> {
        let n = sample_size(size)?;
        if let Some(genre) = &sample.genre {
            check_genre(genre)?;
        }
        pick(n, "tr_", &TrackRuns(self.store.as_ref(), sample)).await
    }

    /// Up to `size` random albums, each once.
    pub async fn sample_albums(&self, size: i32) -> Result<Vec<AlbumRecord>, PlayerError> {
        let n = sample_size(size)?;
        pick(n, "al_", &AlbumRuns(self.store.as_ref())).await
    }

    /// The genres with their counts, by name.
    pub async fn genres(&self) -> Result<Vec<GenreCount>, PlayerError> {
        Ok(self.store.genres(MAX_GENRES).await?)
    }
}

fn sample_size(size: i32) -> Result<usize, PlayerError> {
    match size {
        0 => Ok(10),
        _ => page_size(size),
    }
}

trait Identified {
    fn id(&self) -> &str;
}

/// Where a sample's runs come from.
#[async_trait::async_trait]
trait Runs<T> {
    /// Up to `n` items from `start` on, by id.
    async fn run(&self, start: String, n: usize) -> Result<Vec<T>, StoreError>;
}

struct TrackRuns<'a>(&'a dyn CatalogStore, &'a TrackSample);

#[async_trait::async_trait]
impl Runs<TrackRecord> for TrackRuns<'_> {
    async fn run(&self, start: String, n: usize) -> Result<Vec<TrackRecord>, StoreError> {
        self.0.tracks_from(self.1, &start, n).await
    }
}

struct AlbumRuns<'a>(&'a dyn CatalogStore);

#[async_trait::async_trait]
impl Runs<AlbumRecord> for AlbumRuns<'_> {
    async fn run(&self, start: String, n: usize) -> Result<Vec<AlbumRecord>, StoreError> {
        self.0.albums_from(&start, n).await
    }
}

impl Identified for TrackRecord {
    fn id(&self) -> &str {
        &self.id
    }
}

impl Identified for AlbumRecord {
    fn id(&self) -> &str {
        &self.id
    }
}

/// `n` items from runs starting at random ids (`prefix` + 24 random hex digits: ids are
/// hashes, so neighbours by id are unrelated), then from the first id when the runs came
/// short (near the end of the id space, or few matches); each item once.
async fn pick<T: Identified>(
    n: usize,
    prefix: &str,
    runs: &(dyn Runs<T> + Sync),
) -> Result<Vec<T>, PlayerError> {
    let per_run = n.div_ceil(SAMPLE_RUNS).max(1);
    let mut seen = HashSet::new();
    let mut picked = Vec::with_capacity(n);
    let mut keep = |items: Vec<T>, picked: &mut Vec<T>| {
        for item in items {
            if picked.len() < n && seen.insert(item.id().to_owned()) {
                picked.push(item);
            }
        }
    };
    for _ in 0..SAMPLE_RUNS {
        if picked.len() >= n {
            break;
        }
        let random = uuid::Uuid::new_v4().simple().to_string();
        let start = format!("{prefix}{}", &random[..24]);
        keep(runs.run(start, per_run).await?, &mut picked);
    }
    if picked.len() < n {
        // The sample came short: top it up from the start of the id space (all of it when
        // fewer than `n` match).
        let more = n + picked.len();
        keep(runs.run(prefix.to_owned(), more).await?, &mut picked);
    }
    Ok(picked)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tunemesh_events::Envelope;

    use super::*;
    use crate::catalog::Catalog;
    use crate::store::sqlite::SqliteStore;
    use crate::store::{AlbumKey, ArtistKey, TrackFilter, TrackManifest};

    /// A catalogue of `n` tracks on `n` albums of one artist, created one ms apart.
    async fn catalog(n: u32) -> (Catalog, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("c.sqlite"))
            .await
            .expect("store");
        let artist = ArtistKey {
            id: crate::ids::artist_id("A"),
            name: "A".into(),
            sort_name: "A".into(),
        };
        for i in 0..n {
            let source = format!("s{i}");
            let track = TrackRecord {
                id: crate::ids::track_id(&source),
                source,
                content_hash: format!("sha256:{i}"),
                title: format!("T{i}"),
                artist: artist.clone(),
                album: AlbumKey {
                    id: crate::ids::album_id("A", &format!("B{i}")),
                    title: format!("B{i}"),
                    artist: artist.clone(),
                },
                duration_us: 1,
                track_number: 1,
                disc_number: 1,
                genre: "G".into(),
                year: 2000 + i,
                cover: None,
                manifest: TrackManifest {
                    blob_prefix: "x".into(),
                    channels: 2,
                    renditions: Vec::new(),
                },
                create_ms: i64::from(i),
                update_ms: i64::from(i),
            };
            let event = Envelope::new(
                "events.catalog",
                &tunemesh_proto::events::v1::CatalogEvent::default(),
            );
            store.put_track(&track, &event).await.expect("put");
        }
        (Catalog::new(Arc::new(store)), dir)
    }

    fn code(result: Result<impl std::fmt::Debug, PlayerError>) -> String {
        format!("{:?}", result.expect_err("refused"))
    }

    #[tokio::test]
    async fn offsets_resume_listings_and_are_bounded() {
        let (catalog, _dir) = catalog(7).await;
        let all = catalog
            .list_tracks(TrackFilter::All, 10, "", 0)
            .await
            .expect("all")
            .0;
        let (page, token, total) = catalog
            .list_tracks(TrackFilter::All, 2, "", 3)
            .await
            .expect("page");
        assert_eq!((page.as_slice(), total), (&all[3..5], 7));
        let (next, _, _) = catalog
            .list_tracks(TrackFilter::All, 10, &token, 0)
            .await
            .expect("next");
        assert_eq!(next, all[5..]);
        let (past, token, total) = catalog
            .list_tracks(TrackFilter::All, 2, "", 7)
            .await
            .expect("past");
        assert_eq!((past.len(), token.as_str(), total), (0, "", 7));
        let (artists, _, _) = catalog.list_artists(5, "", 1).await.expect("artists");
        assert!(artists.is_empty());
        assert!(
            code(
                catalog
                    .list_tracks(TrackFilter::All, 2, "", MAX_OFFSET + 1)
                    .await
            )
            .contains("offset")
        );
        assert!(code(catalog.list_tracks(TrackFilter::All, 2, "", -1).await).contains("offset"));
        assert!(
            code(
                catalog
                    .list_tracks(TrackFilter::All, 2, &token_of(&catalog).await, 1)
                    .await
            )
            .contains("offset")
        );
    }

    async fn token_of(catalog: &Catalog) -> String {
        catalog
            .list_tracks(TrackFilter::All, 1, "", 0)
            .await
            .expect("page")
            .1
    }

    #[tokio::test]
    async fn album_listings_by_position_page_by_token_and_check_their_filters() {
        let (catalog, _dir) = catalog(5).await;
        let listing = AlbumListing {
            order: Some(AlbumOrder::YearDescending),
            from_year: 2001,
            ..AlbumListing::default()
        };
        let (first, token, total) = catalog
            .list_albums_by_position(&listing, 2, "", 0)
            .await
            .expect("first");
        let years: Vec<u32> = first.iter().map(|a| a.year).collect();
        assert_eq!((years, total), (vec![2004, 2003], 4));
        let (rest, last, _) = catalog
            .list_albums_by_position(&listing, 2, &token, 0)
            .await
            .expect("rest");
        assert_eq!(
            rest.iter().map(|a| a.year).collect::<Vec<_>>(),
            [2002, 2001]
        );
        assert_eq!(last, "");
        let other = AlbumListing {
            genre: "G".into(),
            ..listing.clone()
        };
        assert!(
            catalog
                .list_albums_by_position(&other, 2, &token, 0)
                .await
                .is_err(),
            "a token is for its own listing"
        );
        let backwards = AlbumListing {
            from_year: 2003,
            to_year: 2001,
            ..AlbumListing::default()
        };
        assert!(
            code(catalog.list_albums_by_position(&backwards, 2, "", 0).await).contains("from_year")
        );
        let nul = AlbumListing {
            genre: "a\0b".into(),
            ..AlbumListing::default()
        };
        assert!(code(catalog.list_albums_by_position(&nul, 2, "", 0).await).contains("genre"));
    }

    #[tokio::test]
    async fn samples_are_distinct_bounded_and_complete_when_few_match() {
        let (catalog, _dir) = catalog(30).await;
        for size in [1, 10, 29] {
            let picked = catalog
                .sample_tracks(size, &TrackSample::default())
                .await
                .expect("sample");
            let ids: HashSet<_> = picked.iter().map(|t| t.id.clone()).collect();
            assert_eq!((picked.len(), ids.len()), (size as usize, size as usize));
        }
        let all = catalog
            .sample_tracks(500, &TrackSample::default())
            .await
            .expect("all");
        assert_eq!(all.len(), 30);
        let few = TrackSample {
            from_year: 2010,
            to_year: 2012,
            ..TrackSample::default()
        };
        let picked = catalog.sample_tracks(0, &few).await.expect("few");
        let mut years: Vec<u32> = picked.iter().map(|t| t.year).collect();
        years.sort_unstable();
        assert_eq!(years, [2010, 2011, 2012]);
        assert_eq!(catalog.sample_albums(0).await.expect("albums").len(), 10);
        assert!(catalog.sample_tracks(-1, &few).await.is_err());
    }
}

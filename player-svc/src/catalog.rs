//! The catalogue's read side: validation, page sizes and tokens, request order for batches.
//! No tonic types here; `grpc.rs` adapts.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::error::PlayerError;
use crate::ids;
use crate::listings::Resume;
use crate::store::{
    AlbumRecord, ArtistRecord, CatalogStore, Keyed, Page, SortKey, TrackFilter, TrackRecord,
};

/// Page size when the request says 0.
pub const DEFAULT_PAGE: usize = 50;
/// Largest page; bigger requests are lowered to it.
pub const MAX_PAGE: usize = 500;
/// Most ids in one batch get.
pub const MAX_BATCH: usize = 100;

/// What a page token holds: which listing it belongs to, and where the next page starts.
#[derive(Debug, Serialize, Deserialize)]
struct Token {
    /// The listing, so a token from another request is refused.
    l: String,
    k: SortKey,
}

pub(crate) fn encode_token(listing: &str, key: SortKey) -> String {
    let token = Token {
        l: listing.to_owned(),
        k: key,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default())
}

/// The resume key a page token of `listing` holds; `None` for the empty token (first page).
/// Public only for the fuzz target (`fuzz/fuzz_targets/page_token_player.rs`).
#[doc(hidden)]
pub fn decode_token(listing: &str, token: &str) -> Result<Option<SortKey>, PlayerError> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || PlayerError::invalid("page_token", "not a token issued for this request");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let token: Token = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    // The key's text fields become SQL parameters, and PostgreSQL text cannot hold NUL: a
    // token with one (JSON may spell it `\u0000`) was never issued, and would fail the query
    // (an internal error) instead of being refused.
    if token.l != listing || token.k.1.contains('\0') || token.k.4.contains('\0') {
        return Err(bad());
    }
    Ok(Some(token.k))
}

/// The page size a request asks for, after defaults and the cap.
pub fn page_size(raw: i32) -> Result<usize, PlayerError> {
    match usize::try_from(raw) {
        Err(_) => Err(PlayerError::invalid("page_size", "must not be negative")),
        Ok(0) => Ok(DEFAULT_PAGE),
        Ok(n) => Ok(n.min(MAX_PAGE)),
    }
}

fn check_id(field: &'static str, id: &str) -> Result<(), PlayerError> {
    if ids::valid(id) {
        Ok(())
    } else {
        Err(PlayerError::invalid(field, tunemesh_runtime::ids::RULE))
    }
}

fn check_batch(field: &'static str, ids: &[String]) -> Result<(), PlayerError> {
    if ids.is_empty() || ids.len() > MAX_BATCH {
        return Err(PlayerError::invalid(field, "must hold 1 to 100 ids"));
    }
    ids.iter().try_for_each(|id| check_id(field, id))
}

/// Found items in request order (duplicates answered each time) and the missing ids.
fn in_request_order<T: Clone>(
    ids: &[String],
    found: Vec<T>,
    id: impl Fn(&T) -> &str,
) -> (Vec<T>, Vec<String>) {
    let by_id: HashMap<String, T> = found.into_iter().map(|t| (id(&t).to_owned(), t)).collect();
    let mut items = Vec::with_capacity(ids.len());
    let mut missing = Vec::new();
    for wanted in ids {
        match by_id.get(wanted) {
            Some(t) => items.push(t.clone()),
            None => missing.push(wanted.clone()),
        }
    }
    (items, missing)
}

/// A page as answered: items, the token of the next page (empty at the end), the total.
pub type Listed<T> = (Vec<T>, String, u64);

pub(crate) fn listed<T>(listing: &str, page: Page<T>) -> Listed<T> {
    let token = page
        .next
        .map(|k| encode_token(listing, k))
        .unwrap_or_default();
    (page.items, token, page.total)
}

/// The catalogue, read.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub(crate) store: Arc<dyn CatalogStore>,
}

impl Catalog {
    /// The catalogue in `store`.
    pub fn new(store: Arc<dyn CatalogStore>) -> Self {
        Self { store }
    }

    /// One track, or NOT_FOUND.
    pub async fn track(&self, id: &str) -> Result<TrackRecord, PlayerError> {
        check_id("track_id", id)?;
        let found = self.store.tracks(&[id.to_owned()]).await?;
        found
            .into_iter()
            .next()
            .ok_or_else(|| PlayerError::not_found("track", id))
    }

    /// Tracks by id in request order, and the ids not found.
    pub async fn batch_tracks(
        &self,
        ids: &[String],
    ) -> Result<(Vec<TrackRecord>, Vec<String>), PlayerError> {
        check_batch("track_ids", ids)?;
        let found = self.store.tracks(ids).await?;
        Ok(in_request_order(ids, found, |t| &t.id))
    }

    /// A page of tracks; NOT_FOUND when the album or artist filtered on does not exist.
    pub async fn list_tracks(
        &self,
        filter: TrackFilter,
        size: i32,
        token: &str,
        offset: i32,
    ) -> Result<Listed<TrackRecord>, PlayerError> {
        let n = page_size(size)?;
        let listing = match &filter {
            TrackFilter::All => "tracks".to_owned(),
            TrackFilter::Album(id) => {
                self.album(id).await?;
                format!("tracks/album/{id}")
            }
            TrackFilter::Artist(id) => {
                self.artist(id).await?;
                format!("tracks/artist/{id}")
            }
            TrackFilter::Genre(genre) => {
                crate::listings::check_genre(genre)?;
                format!("tracks/genre/{genre}")
            }
        };
        let keyed = Keyed::Tracks(filter.clone());
        let Resume::After(after) = self.resume(&listing, token, offset, &keyed).await? else {
            let total = self.store.list_tracks(&filter, None, 1).await?.total;
            return Ok((Vec::new(), String::new(), total));
        };
        let page = self.store.list_tracks(&filter, after.as_ref(), n).await?;
        Ok(listed(&listing, page))
    }

    /// One album, or NOT_FOUND.
    pub async fn album(&self, id: &str) -> Result<AlbumRecord, PlayerError> {
        check_id("album_id", id)?;
        let found = self.store.albums(&[id.to_owned()]).await?;
        found
            .into_iter()
            .next()
            .ok_or_else(|| PlayerError::not_found("album", id))
    }

    /// Albums by id in request order, and the ids not found.
    pub async fn batch_albums(
        &self,
        ids: &[String],
    ) -> Result<(Vec<AlbumRecord>, Vec<String>), PlayerError> {
        check_batch("album_ids", ids)?;
        let found = self.store.albums(ids).await?;
        Ok(in_request_order(ids, found, |a| &a.id))
    }

    /// A page of albums, of one artist when `artist_id` is not empty.
    pub async fn list_albums(
        &self,
        artist_id: &str,
        size: i32,
        token: &str,
        offset: i32,
    ) -> Result<Listed<AlbumRecord>, PlayerError> {
        let n = page_size(size)?;
        let artist = (!artist_id.is_empty()).then_some(artist_id);
        if let Some(id) = artist {
            self.artist(id).await?;
        }
        let listing = format!("albums/{artist_id}");
        let keyed = Keyed::Albums(artist.map(str::to_owned));
        let Resume::After(after) = self.resume(&listing, token, offset, &keyed).await? else {
            let total = self.store.list_albums(artist, None, 1).await?.total;
            return Ok((Vec::new(), String::new(), total));
        };
        let page = self.store.list_albums(artist, after.as_ref(), n).await?;
        Ok(listed(&listing, page))
    }

    /// One artist, or NOT_FOUND.
    pub async fn artist(&self, id: &str) -> Result<ArtistRecord, PlayerError> {
        check_id("artist_id", id)?;
        let found = self.store.artists(&[id.to_owned()]).await?;
        found
            .into_iter()
            .next()
            .ok_or_else(|| PlayerError::not_found("artist", id))
    }

    /// Artists by id in request order, and the ids not found.
    pub async fn batch_artists(
        &self,
        ids: &[String],
    ) -> Result<(Vec<ArtistRecord>, Vec<String>), PlayerError> {
        check_batch("artist_ids", ids)?;
        let found = self.store.artists(ids).await?;
        Ok(in_request_order(ids, found, |a| &a.id))
    }

    /// A page of artists by sort name.
    pub async fn list_artists(
        &self,
        size: i32,
        token: &str,
        offset: i32,
    ) -> Result<Listed<ArtistRecord>, PlayerError> {
        let n = page_size(size)?;
        let Resume::After(after) = self
            .resume("artists", token, offset, &Keyed::Artists)
            .await?
        else {
            let total = self.store.list_artists(None, 1).await?.total;
            return Ok((Vec::new(), String::new(), total));
        };
        let page = self.store.list_artists(after.as_ref(), n).await?;
        Ok(listed("artists", page))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_default_cap_and_refuse_negatives() {
        assert_eq!(page_size(0).ok(), Some(DEFAULT_PAGE));
        assert_eq!(page_size(10_000).ok(), Some(MAX_PAGE));
        assert!(page_size(-1).is_err());
    }

    #[test]
    fn tokens_only_work_for_their_own_listing() {
        let token = encode_token("albums/x", SortKey(1, "a".into(), 0, 0, "id".into()));
        assert!(decode_token("albums/x", &token).is_ok_and(|k| k.is_some()));
        assert!(decode_token("albums/y", &token).is_err());
        assert!(decode_token("albums/x", "garbage!").is_err());
    }

    /// Before, a crafted token carried a NUL into the SQL parameters: an internal error from
    /// PostgreSQL instead of INVALID_ARGUMENT (the playlist service had the same hole).
    #[test]
    fn a_token_with_a_nul_in_its_key_is_refused() {
        for key in [
            SortKey(1, "a\0b".into(), 0, 0, "id".into()),
            SortKey(1, "a".into(), 0, 0, "i\0d".into()),
        ] {
            let token = encode_token("albums/x", key);
            assert!(decode_token("albums/x", &token).is_err());
        }
    }
}

//! Idempotency keys of additions (`AddPlaylistItemsRequest.request_id`), shared by both
//! adapters: how long a key holds, and how a first answer is kept and given back.

use crate::error::PlaylistError;
use crate::model::{Edited, Item, Playlist};
use crate::store::rules::internal;

/// How long a key holds: a repeat after this adds again.
pub const RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

/// A stored first answer, as a row holds it.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The playlist the addition was for.
    pub playlist_id: String,
    /// The playlist's version after it.
    pub version: i64,
    /// The added items as JSON.
    pub items: String,
}

impl Stored {
    /// The first answer again, for a repeat on `playlist` (locked, current); a key used for
    /// another playlist is the caller's mistake.
    pub fn replay(self, playlist: &Playlist) -> Result<Edited, PlaylistError> {
        if self.playlist_id != playlist.id {
            return Err(PlaylistError::invalid(
                "request_id was already used for another playlist",
            ));
        }
        let items: Vec<Item> = serde_json::from_str(&self.items).map_err(internal)?;
        Ok(Edited {
            version: u64::try_from(self.version).map_err(internal)?,
            items,
            playlist: Some(playlist.clone()),
        })
    }
}

/// The items of a first answer, as stored.
pub fn items_json(items: &[Item]) -> Result<String, PlaylistError> {
    serde_json::to_string(items).map_err(internal)
}

//! Generated playlists ("Made for you"): who may write them, and `PutGeneratedPlaylist`.
//!
//! A generated playlist is owned by the system account and made for one listener; users
//! only read, play and follow it (every edit is refused by `Edit::guard`). Its content comes
//! from a service, whole, through [`PlaylistDomain::put_generated`].

use tunemesh_proto::playlist::v1 as pb;
use tunemesh_runtime::identity::Caller;

use super::PlaylistDomain;
use crate::convert;
use crate::error::PlaylistError;
use crate::model::{Generated, GeneratedPut, new_id};
use crate::validate;

/// The services whose identities may write generated playlists.
const GENERATORS: &[&str] = &["reco"];

/// Longest kind of generated playlist, in characters.
const MAX_KIND: usize = 32;

/// The one rule of who may write generated playlists: a generator service calling for itself
/// (no assertion; its mesh certificate names it), never a user (admins included).
pub(crate) fn may_write_generated(caller: &Caller) -> Result<(), PlaylistError> {
    match caller.service_name() {
        Some(service) if GENERATORS.contains(&service) => Ok(()),
        _ => Err(PlaylistError::PermissionDenied(
            "only the recommendation service writes generated playlists".to_owned(),
        )),
    }
}

/// A kind: 1 to 32 of `a-z`, `0-9`, `-`.
fn check_kind(kind: &str) -> Result<(), PlaylistError> {
    let valid = !kind.is_empty()
        && kind.len() <= MAX_KIND
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(PlaylistError::invalid(format!(
            "kind must be 1 to {MAX_KIND} characters of a-z, 0-9 and -"
        )))
    }
}

impl PlaylistDomain {
    /// PutGeneratedPlaylist: creates or replaces a listener's generated playlist of a kind.
    pub(super) async fn put_generated(
        &self,
        caller: &Caller,
        req: pb::PutGeneratedPlaylistRequest,
    ) -> Result<pb::PutGeneratedPlaylistResponse, PlaylistError> {
        may_write_generated(caller)?;
        validate::id("for_user_id", &req.for_user_id)?;
        check_kind(&req.kind)?;
        validate::name(&req.name)?;
        validate::description(&req.description)?;
        validate::ids("track_ids", &req.track_ids, 1)?;
        let durations = self.check_tracks(caller, &req.track_ids).await?;
        let put = GeneratedPut {
            id: new_id(),
            generated: Generated {
                for_user: req.for_user_id,
                kind: req.kind,
            },
            name: req.name,
            description: req.description,
            track_ids: req.track_ids,
            durations,
        };
        let (playlist, changed) = self.bounded(self.store.put_generated(put)).await?;
        if changed {
            self.reads
                .cache()
                .invalidate(&playlist.id, playlist.revision)
                .await;
        }
        Ok(pb::PutGeneratedPlaylistResponse {
            playlist: Some(convert::playlist(&playlist)),
            changed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_generator_service_may_write_generated_playlists() {
        assert!(may_write_generated(&Caller::service("reco")).is_ok());
        assert!(may_write_generated(&Caller::service("search")).is_err());
        let admin = Caller::new("ann".to_owned(), vec!["admin".to_owned()]);
        assert!(may_write_generated(&admin).is_err());
    }

    #[test]
    fn kinds_are_short_lowercase_words() {
        assert!(check_kind("daily-mix").is_ok());
        assert!(check_kind("").is_err());
        assert!(check_kind("Daily Mix").is_err());
        assert!(check_kind(&"a".repeat(33)).is_err());
    }
}

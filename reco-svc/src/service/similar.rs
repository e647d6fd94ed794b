//! `SimilarTracks`: a track's neighbours by co-listening and by playlists, and its artist's
//! other tracks; not personalised.

use std::collections::HashSet;

use tunemesh_proto::reco::v1::{SimilarTracksRequest, SimilarTracksResponse};

use super::{ModelRecommender, SAME_ARTIST, check_track_id, explain, flat, limit};
use crate::error::RecoError;
use crate::model::rank::{self, Reason, Scores};
use crate::store::SetKey;

impl ModelRecommender {
    /// The tracks most similar to the one in `request`.
    pub(super) async fn similar_tracks(
        &self,
        request: SimilarTracksRequest,
    ) -> Result<SimilarTracksResponse, RecoError> {
        let track = request.track_id.as_str();
        check_track_id(track)?;
        let n = limit(request.limit, 20, 100)?;
        self.check_ready()?;
        let info = self.infos(vec![track.to_owned()]).await?.remove(track);
        if !self.known(track, info.as_ref()).await? {
            return Err(RecoError::TrackNotFound(track.to_owned()));
        }
        let mut keys = vec![
            SetKey::Neighbours(track.to_owned()),
            SetKey::Related(track.to_owned()),
        ];
        if let Some(info) = &info {
            keys.push(SetKey::ArtistTracks(info.artist_id.clone()));
        }
        let depth = self
            .params
            .neighbours
            .max(self.params.related_size)
            .max(n + 1);
        let mut lists = self.store.top(&keys, depth).await?.into_iter();
        let mut next = || lists.next().unwrap_or_default().entries;
        let mut scores = Scores::default();
        let reason = Reason::ListenersAlsoPlayed(track.to_owned());
        scores.add_normalised(&next(), 1.0, &reason);
        let reason = Reason::InSamePlaylists(track.to_owned());
        scores.add_normalised(&next(), self.params.playlist_mix, &reason);
        if let Some(info) = &info {
            let reason = Reason::SameArtist(info.artist_id.clone());
            scores.add_normalised(&flat(next()), SAME_ARTIST, &reason);
        }
        let mut candidates = scores.into_candidates(&HashSet::from([track]));
        candidates.truncate(n);
        let mut ids: Vec<String> = candidates.iter().map(|c| c.track_id.clone()).collect();
        ids.push(track.to_owned());
        let infos = self.infos(ids).await?;
        rank::normalise(&mut candidates);
        Ok(SimilarTracksResponse {
            tracks: explain::all(candidates, &infos),
        })
    }
}

//! Turns ranked candidates into the contract's recommendations with a reason to show.

use std::collections::HashMap;

use tunemesh_proto::reco::v1::{Recommendation, RecommendationReason, RecommendationReasonKind};

use crate::model::rank::{Candidate, Reason};
use crate::store::TrackInfo;

/// Each candidate as a recommendation, in order; `infos` names the tracks reasons refer to.
pub(super) fn all(
    candidates: Vec<Candidate>,
    infos: &HashMap<String, TrackInfo>,
) -> Vec<Recommendation> {
    candidates
        .into_iter()
        .map(|c| {
            // a score in [0, 1]
            let score = c.score as f32;
            Recommendation {
                track_id: c.track_id,
                score,
                reason: Some(reason(&c.reason, infos)),
            }
        })
        .collect()
}

fn reason(reason: &Reason, infos: &HashMap<String, TrackInfo>) -> RecommendationReason {
    let title = |track: &str| {
        infos
            .get(track)
            .map_or_else(|| "a track".to_owned(), |i| i.title.clone())
    };
    let (kind, related_id, text) = match reason {
        Reason::BecauseYouPlayed(track) => (
            RecommendationReasonKind::BecauseYouPlayed,
            track.clone(),
            format!("Because you played {}", title(track)),
        ),
        Reason::ListenersAlsoPlayed(track) => (
            RecommendationReasonKind::ListenersAlsoPlayed,
            track.clone(),
            format!("Listeners of {} also played this", title(track)),
        ),
        Reason::InSamePlaylists(track) => (
            RecommendationReasonKind::InSamePlaylists,
            track.clone(),
            format!("Often in playlists with {}", title(track)),
        ),
        Reason::SameArtist(artist) => {
            let name = infos
                .values()
                .find(|i| &i.artist_id == artist)
                .map_or_else(|| "the same artist".to_owned(), |i| i.artist_name.clone());
            (
                RecommendationReasonKind::SameArtist,
                artist.clone(),
                format!("More by {name}"),
            )
        }
        Reason::Popular => (
            RecommendationReasonKind::Popular,
            String::new(),
            "Popular with listeners".to_owned(),
        ),
        Reason::RadioSeed(track) => (
            RecommendationReasonKind::RadioSeed,
            track.clone(),
            format!("Your station starts from {}", title(track)),
        ),
    };
    RecommendationReason {
        kind: kind as i32,
        related_id,
        text,
    }
}

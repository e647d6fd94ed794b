//! The recommendation model in plain Rust: what a listen changes ([`update`]), what likes
//! and playlist edits change ([`playlist`]), how stored scores age ([`decay`]) and how
//! answers are ranked ([`rank`]). No I/O here: the service
//! reads state through the store port, hands it to these functions and writes their plans.
//!
//! All time is *event* time (`occurred_at` of the play), never the wall clock, so replaying
//! the same stream into a fresh state gives the same state and the same answers.

pub mod decay;
pub mod playlist;
pub mod rank;
pub mod sequence;
pub mod update;

use std::time::Duration;

use serde::Deserialize;
use tunemesh_proto::events::v1::PlayEvent;
use tunemesh_proto::player::v1::PlaybackEndReason;

/// One more taste event of `user`'s (a counted play, a like or unlike, an item added to or
/// removed from their playlist), for the mixer to tell how much their taste changed.
pub fn taste_changed(user: &str) -> crate::store::Op {
    crate::store::Op::Add {
        key: crate::store::SetKey::TasteChanges,
        member: user.to_owned(),
        weight: 1.0,
    }
}

/// What one play event says about a listener's taste.
#[derive(Debug, Clone, PartialEq)]
pub struct Listen {
    /// The event id (deduplication key).
    pub event_id: String,
    /// The listener.
    pub user_id: String,
    /// The track.
    pub track_id: String,
    /// When the play ended, in milliseconds since the epoch (event time).
    pub at_ms: i64,
    /// A play or a skip.
    pub kind: ListenKind,
}

/// The two signals a play session can carry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ListenKind {
    /// A counted play, weighted by the share heard (0.5 for a bare 30 s, 1 for the whole).
    Play {
        /// Weight of the play in (0, 1].
        weight: f64,
    },
    /// Skipped before it counted: a negative signal.
    Skip,
}

impl Listen {
    /// Reads a play event; `None` when it carries no signal (stopped or failed early, or
    /// missing ids), which the consumer acknowledges and ignores.
    pub fn from_event(event: &PlayEvent, event_id: &str, fallback_ms: i64) -> Option<Self> {
        if event.user_id.is_empty() || event.track_id.is_empty() {
            return None;
        }
        let at_ms = event
            .meta
            .as_ref()
            .and_then(|m| m.occurred_at)
            .map_or(fallback_ms, |t| {
                t.seconds.saturating_mul(1000) + i64::from(t.nanos / 1_000_000)
            });
        let kind = if event.counted {
            ListenKind::Play {
                weight: play_weight(event),
            }
        } else if event.end_reason == PlaybackEndReason::Skipped as i32 {
            ListenKind::Skip
        } else {
            return None;
        };
        Some(Self {
            event_id: event_id.to_owned(),
            user_id: event.user_id.clone(),
            track_id: event.track_id.clone(),
            at_ms,
            kind,
        })
    }
}

/// 0.5 plus half the share of the track heard: a counted play is always worth something,
/// a whole one twice a bare 30 s.
fn play_weight(event: &PlayEvent) -> f64 {
    let seconds = |d: Option<&tunemesh_proto::prost_types::Duration>| {
        d.map_or(0.0, |d| d.seconds as f64 + f64::from(d.nanos) / 1e9)
    };
    let (played, total) = (
        seconds(event.played.as_ref()),
        seconds(event.track_duration.as_ref()),
    );
    let share = if total > 0.0 {
        (played / total).clamp(0.0, 1.0)
    } else {
        1.0
    };
    0.5 + 0.5 * share
}

/// The model's knobs (`[reco.model]`); defaults suit listening sessions of a music service.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelParams {
    /// Two plays of one listener this close in time were listened to together.
    #[serde(with = "humantime_serde")]
    pub session_gap: Duration,
    /// Half-life of co-listening weights.
    #[serde(with = "humantime_serde")]
    pub co_half_life: Duration,
    /// Half-life of a listener's taste (recent plays weigh more).
    #[serde(with = "humantime_serde")]
    pub taste_half_life: Duration,
    /// Half-life of global popularity.
    #[serde(with = "humantime_serde")]
    pub popularity_half_life: Duration,
    /// Earlier plays of the session a new play is paired with, at most (bounds the writes).
    pub max_pairs: usize,
    /// Neighbours kept per track, strongest first.
    pub neighbours: usize,
    /// Tracks kept in a listener's taste, strongest first.
    pub taste_size: usize,
    /// A listener's recent plays (and skips) remembered; never recommended back.
    pub recent_size: usize,
    /// Weight of a skip against the listener's taste (a full play is 1).
    pub skip_weight: f64,
    /// Taste tracks used as seeds of a recommendation.
    pub seeds: usize,
    /// The listener's latest plays (the session in progress) that steer a recommendation
    /// more than their taste alone: seeds with a boost, and sources of what comes next.
    pub session_plays: usize,
    /// The boost of the latest play as a seed, against the strongest taste track (1); the
    /// i-th latest gets it over `1 + i`.
    pub session_boost: f64,
    /// Share of popularity mixed into personal scores (breaks ties, fills gaps).
    pub popularity_mix: f64,
    /// Each further pick of the same artist in one answer is worth this much less.
    pub artist_penalty: f64,
    /// Weight of a like in the listener's taste (a full play is 1): a deliberate "more of
    /// this" says more than any one play.
    pub like_weight: f64,
    /// Weight in the owner's taste of a track being in one of their playlists.
    pub playlist_weight: f64,
    /// Latest members of a playlist a track added to it is paired with (bounds the writes
    /// of an edit and the pairs one playlist gives any track to twice this).
    pub playlist_window: usize,
    /// Tracks kept per track in its playlist co-occurrence (`related`), strongest first.
    pub related_size: usize,
    /// Weight of playlist co-occurrence against co-listening (1) in radio and similar
    /// tracks, where a track's playlists are a main hint.
    pub playlist_mix: f64,
    /// The same in personal recommendations, where the listener's session and what
    /// listeners played next already say more.
    pub recommend_playlist_mix: f64,
    /// Weight of the listener's own taste in their radio: candidates they like move up.
    pub radio_taste: f64,
    /// Earlier plays of the session a new play is recorded as coming after, latest first,
    /// the nearer the stronger (0: no transitions); bounds the writes of a play.
    pub transition_window: usize,
    /// Weight of what listeners played next after the listener's latest plays (against
    /// co-listening, 1): the strongest hint of what comes next.
    pub transition_mix: f64,
    /// Half-life of a listener's play counts behind their most-played albums.
    #[serde(with = "humantime_serde")]
    pub history_half_life: Duration,
    /// Tracks whose decayed play counts are kept per listener, most played first (the
    /// most-played albums are summed from these).
    pub history_size: usize,
}

impl Default for ModelParams {
    fn default() -> Self {
        Self {
            session_gap: Duration::from_secs(30 * 60),
            co_half_life: Duration::from_secs(90 * 24 * 3600),
            taste_half_life: Duration::from_secs(7 * 24 * 3600),
            popularity_half_life: Duration::from_secs(7 * 24 * 3600),
            max_pairs: 20,
            neighbours: 100,
            taste_size: 200,
            recent_size: 200,
            skip_weight: 1.0,
            seeds: 10,
            session_plays: 5,
            session_boost: 10.0,
            popularity_mix: 0.05,
            artist_penalty: 0.5,
            like_weight: 2.0,
            playlist_weight: 1.0,
            playlist_window: 10,
            related_size: 200,
            playlist_mix: 0.5,
            recommend_playlist_mix: 0.2,
            radio_taste: 0.5,
            transition_window: 3,
            transition_mix: 8.0,
            history_half_life: Duration::from_secs(30 * 24 * 3600),
            history_size: 500,
        }
    }
}

/// A duration in whole milliseconds (at least 1), as the stores and the math use them.
pub fn ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis())
        .unwrap_or(i64::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use tunemesh_proto::events::v1::EventMeta;
    use tunemesh_proto::prost_types::{Duration as ProtoDuration, Timestamp};

    use super::*;

    fn event(counted: bool, reason: PlaybackEndReason, played: i64) -> PlayEvent {
        PlayEvent {
            meta: Some(EventMeta {
                event_id: "e1".into(),
                occurred_at: Some(Timestamp {
                    seconds: 100,
                    nanos: 5_000_000,
                }),
                ..EventMeta::default()
            }),
            user_id: "u".into(),
            track_id: "t".into(),
            played: Some(ProtoDuration {
                seconds: played,
                nanos: 0,
            }),
            track_duration: Some(ProtoDuration {
                seconds: 200,
                nanos: 0,
            }),
            end_reason: reason as i32,
            counted,
            ..PlayEvent::default()
        }
    }

    #[test]
    fn a_counted_play_is_weighted_by_the_share_heard() {
        let whole = Listen::from_event(&event(true, PlaybackEndReason::Completed, 200), "e1", 0);
        let whole = whole.expect("a play");
        assert_eq!(whole.at_ms, 100_005);
        assert_eq!(whole.kind, ListenKind::Play { weight: 1.0 });
        let half = Listen::from_event(&event(true, PlaybackEndReason::Stopped, 100), "e1", 0);
        assert_eq!(
            half.map(|l| l.kind),
            Some(ListenKind::Play { weight: 0.75 })
        );
    }

    #[test]
    fn an_early_skip_is_a_skip_and_an_early_stop_says_nothing() {
        let skip = Listen::from_event(&event(false, PlaybackEndReason::Skipped, 5), "e1", 0);
        assert_eq!(skip.map(|l| l.kind), Some(ListenKind::Skip));
        let stop = Listen::from_event(&event(false, PlaybackEndReason::Stopped, 5), "e1", 0);
        assert_eq!(stop, None);
    }

    #[test]
    fn events_without_ids_carry_no_signal() {
        let mut anonymous = event(true, PlaybackEndReason::Completed, 200);
        anonymous.user_id.clear();
        assert_eq!(Listen::from_event(&anonymous, "e1", 0), None);
    }
}

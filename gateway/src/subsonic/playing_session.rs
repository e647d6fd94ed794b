//! One play session of `super`'s entries: its id, sequence and heard time, and the
//! `ReportPlayback`s it makes.

use std::time::Duration;

use tokio::time::Instant;
use tunemesh_proto::player::v1::{self as pb, PlaybackEndReason, PlaybackState};

/// The play session of an entry.
#[derive(Debug, Clone)]
pub(super) struct Session {
    pub(super) id: String,
    /// When it opened.
    pub(super) opened: Instant,
    /// The track's length: positions and heard time never pass it (player-svc refuses a
    /// position past the end).
    pub(super) duration: Duration,
    /// Opened by `scrobble submission=false`: only a scrobble may end it with heard time (an
    /// app that scrobbles nothing must count nothing), so it is left to player-svc's timeout
    /// otherwise.
    pub(super) scrobble_only: bool,
    pub(super) next_sequence: u32,
    /// Heard time up to `running`'s start.
    pub(super) played: Duration,
    /// Since when, and how fast, it has been playing; `None` while it is not.
    pub(super) running: Option<(Instant, f64)>,
    /// The final report, once the session ended, and the scrobble time that ended it.
    pub(super) ended: Option<(pb::ReportPlaybackRequest, Option<i64>)>,
}

impl Session {
    pub(super) fn open(
        track_id: &str,
        duration: Duration,
        scrobble_only: bool,
        now: Instant,
    ) -> (Self, pb::ReportPlaybackRequest) {
        // A scrobble's session runs from the start; `starting` waits for `playing`.
        let running = scrobble_only;
        let mut session = Self {
            id: uuid::Uuid::new_v4().to_string(),
            opened: now,
            duration,
            scrobble_only,
            next_sequence: 0,
            played: Duration::ZERO,
            running: running.then_some((now, 1.0)),
            ended: None,
        };
        let first = session.report(track_id, PlaybackState::Playing, None, None, now);
        (session, first)
    }

    /// Heard time at `now`.
    pub(super) fn heard(&self, now: Instant) -> Duration {
        let running = self.running.map_or(Duration::ZERO, |(since, rate)| {
            now.saturating_duration_since(since).mul_f64(rate)
        });
        self.played + running
    }

    /// The next report: `state` at `position` (the heard time when unknown).
    pub(super) fn report(
        &mut self,
        track_id: &str,
        state: PlaybackState,
        end: Option<PlaybackEndReason>,
        position: Option<Duration>,
        now: Instant,
    ) -> pb::ReportPlaybackRequest {
        let played = self.heard(now).min(self.duration);
        let position = position.unwrap_or(played).min(self.duration);
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        pb::ReportPlaybackRequest {
            play_session_id: self.id.clone(),
            sequence,
            track_id: track_id.to_owned(),
            position: Some(proto_duration(position)),
            played: Some(proto_duration(played)),
            state: state.into(),
            end_reason: end.map_or(0, Into::into),
            ..Default::default()
        }
    }

    /// Ends the session at `now`: the final report, kept for re-sent scrobbles.
    pub(super) fn end(
        &mut self,
        track_id: &str,
        reason: PlaybackEndReason,
        position: Option<Duration>,
        scrobble: Option<i64>,
        now: Instant,
    ) -> pb::ReportPlaybackRequest {
        let state = if reason == PlaybackEndReason::Completed {
            PlaybackState::Ended
        } else {
            PlaybackState::Stopped
        };
        let last = self.report(track_id, state, Some(reason), position, now);
        self.running = None;
        self.ended = Some((last.clone(), scrobble));
        last
    }
}

/// A `google.protobuf.Duration` of `d`.
pub(crate) fn proto_duration(d: Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

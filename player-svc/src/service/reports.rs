//! Play reports: a report checked against the contract and the catalogue, then applied to
//! its session by the rules of [`play_sessions`] inside the session store's transaction.

use tunemesh_proto::player::v1::{self as pb, PlayContextType, PlaybackEndReason, PlaybackState};
use tunemesh_runtime::identity::Caller;

use super::PlaybackDomain;
use crate::convert::{duration_us, to_ms, to_us};
use crate::error::PlayerError;
use crate::play_sessions::{self, Report};

/// Longest `context.id` a report may carry (the REST contract's limit).
const MAX_CONTEXT_ID: usize = 256;

impl PlaybackDomain {
    /// Applies `caller`'s report to its session; wakes the relay when it wrote an event.
    pub(super) async fn apply_report(
        &self,
        caller: &Caller,
        r: pb::ReportPlaybackRequest,
    ) -> Result<pb::ReportPlaybackResponse, PlayerError> {
        let report = self.validate(caller.user_id.clone(), r).await?;
        let session_id = report.session_id.clone();
        let rules = self.rules.clone();
        // The clock is read under the session's lock, so concurrent reports see time in order.
        let update = Box::new(move |current| {
            play_sessions::apply(current, &report, &rules, tunemesh_runtime::clock::now_ms())
        });
        let decision = self.sessions.update_session(&session_id, update).await?;
        if decision.event.is_some() {
            self.waker.wake();
        }
        Ok(pb::ReportPlaybackResponse {
            play_counted: decision.session.counted,
            played: Some(duration_us(decision.session.played_us)),
        })
    }

    /// Checks a report against the contract and the catalogue.
    async fn validate(
        &self,
        user_id: String,
        r: pb::ReportPlaybackRequest,
    ) -> Result<Report, PlayerError> {
        if !crate::ids::valid(&r.play_session_id) {
            return Err(PlayerError::invalid(
                "play_session_id",
                tunemesh_runtime::ids::RULE,
            ));
        }
        let state = match PlaybackState::try_from(r.state) {
            Ok(PlaybackState::Unspecified) | Err(_) => {
                return Err(PlayerError::invalid("state", "required"));
            }
            Ok(state) => state,
        };
        let end_reason = PlaybackEndReason::try_from(r.end_reason)
            .map_err(|_| PlayerError::invalid("end_reason", "unknown value"))?;
        let ends = matches!(state, PlaybackState::Stopped | PlaybackState::Ended);
        if ends && end_reason == PlaybackEndReason::Unspecified {
            return Err(PlayerError::invalid(
                "end_reason",
                "required when the session ends",
            ));
        }
        if end_reason == PlaybackEndReason::TimedOut {
            return Err(PlayerError::invalid(
                "end_reason",
                "timed out is set by the server only",
            ));
        }
        let played = match r.played.as_ref() {
            None => 0,
            Some(d) => {
                to_us(d).ok_or_else(|| PlayerError::invalid("played", "must not be negative"))?
            }
        };
        let track = self.catalog.track(&r.track_id).await?;
        let duration = u64::try_from(track.duration_us).unwrap_or(0);
        if let Some(p) = r.position.as_ref() {
            let p =
                to_us(p).ok_or_else(|| PlayerError::invalid("position", "must not be negative"))?;
            if p > duration + 1_000_000 {
                return Err(PlayerError::invalid(
                    "position",
                    "past the end of the track",
                ));
            }
        }
        // The limits the REST route had alone, here so every path (REST, native gRPC and
        // gRPC-web through the gateway) gets them.
        if let Some(context) = &r.context {
            if PlayContextType::try_from(context.r#type).is_err() {
                return Err(PlayerError::invalid("context.type", "unknown value"));
            }
            if context.id.len() > MAX_CONTEXT_ID {
                return Err(PlayerError::invalid(
                    "context.id",
                    "must be at most 256 characters",
                ));
            }
        }
        if r.quality != 0 && crate::media::Quality::from_request(r.quality).is_none() {
            return Err(PlayerError::invalid("quality", "unknown value"));
        }
        // `client_time` is not read: sessions are timed by the server's clock only; a past
        // play by its claimed start, held to the rules of `past_plays`.
        let past_started_ms = match r.past_play_started_at.as_ref() {
            None => None,
            Some(t) => {
                if r.sequence != 0 || !ends {
                    return Err(PlayerError::invalid(
                        "past_play_started_at",
                        "a past play is one report, sequence 0, of an ended session",
                    ));
                }
                Some(to_ms(t).ok_or_else(|| {
                    PlayerError::invalid("past_play_started_at", "not a valid time")
                })?)
            }
        };
        Ok(Report {
            user_id,
            session_id: r.play_session_id,
            sequence: r.sequence,
            track_id: track.id,
            track_duration_us: track.duration_us,
            played_us: i64::try_from(played).unwrap_or(i64::MAX),
            state,
            end_reason,
            context: r.context,
            quality: r.quality,
            past_started_ms,
        })
    }
}

//! Play sessions: the rules of `ReportPlayback` as a pure function over the stored session,
//! applied by the store inside one transaction together with the outbox write, and the
//! sweeper that closes sessions whose client vanished.
//!
//! A session counts once 30 s are heard (or the whole of a shorter track). Every session
//! emits exactly one `PlayEvent`, when it ends or times out; its event id is derived from
//! the session id (UUID v5), so even a duplicate append is one event downstream.
//!
//! Heard time is the client's claim, so it is held to the server's clock: a session is
//! credited at most the time it has been open (since its first report, by the server's
//! clock) plus a small slack, and a play counts only if the user's play budget
//! ([`PlayBudget`]) still holds the listening it took. Re-sent reports change nothing.
//! Counted plays hold the listener's time ([`Listening`]), against which plays reported
//! after the fact are checked ([`crate::past_plays`]).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tunemesh_events::Envelope;
use tunemesh_events::outbox::OutboxWaker;
use tunemesh_proto::events::v1::{EventMeta, PlayEvent};
use tunemesh_proto::player::v1::{PlayContext, PlaybackEndReason, PlaybackState};
use tunemesh_runtime::clock::now_ms;
use uuid::Uuid;

use crate::convert::{duration_us, timestamp_ms};
use crate::error::PlayerError;
use crate::listening::Listening;
use crate::play_budget::PlayBudget;
use crate::store::{PlaySession, PlaySessionStore, SessionDecision};

/// Heard time that makes a play.
pub(crate) const PLAY_THRESHOLD_US: i64 = 30_000_000;
/// Slack for clients whose played time of a whole short track falls a frame short.
const END_SLACK_US: i64 = 1_000_000;

/// One validated report.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    /// The verified caller.
    pub(crate) user_id: String,
    /// Client session id.
    pub(crate) session_id: String,
    /// Report number within the session.
    pub(crate) sequence: u32,
    /// The track.
    pub(crate) track_id: String,
    /// The track's duration, µs (from the catalogue).
    pub(crate) track_duration_us: i64,
    /// Heard time so far, µs.
    pub(crate) played_us: i64,
    /// The player's state.
    pub(crate) state: PlaybackState,
    /// Why it ended, when it did.
    pub(crate) end_reason: PlaybackEndReason,
    /// Where the play started from, when sent.
    pub(crate) context: Option<PlayContext>,
    /// `AudioQuality`.
    pub(crate) quality: i32,
    /// When a whole play reported after the fact started (client clock, ms since the epoch).
    pub(crate) past_started_ms: Option<i64>,
}

/// What makes a claimed play believable, checked on the server's clock.
#[derive(Debug, Clone)]
pub(crate) struct PlayRules {
    /// Heard time a session may claim beyond how long it has been open (report latency).
    pub(crate) clock_slack_us: i64,
    /// Counted play time left per user.
    pub(crate) budget: PlayBudget,
    /// When each user was listening to a counted play.
    pub(crate) listening: Listening,
}

/// Why a claim was not taken as sent: a label of `tunemesh_player_plays_held_back_total`.
pub(crate) fn held_back(reason: &'static str, r: &Report) {
    tracing::debug!(session = %r.session_id, user = %r.user_id, reason, "play report held back");
    metrics::counter!("tunemesh_player_plays_held_back_total", "reason" => reason).increment(1);
}

/// Listening a play needs before it counts: 30 s, or the whole of a shorter track.
pub(crate) fn needed_us(duration_us: i64) -> i64 {
    PLAY_THRESHOLD_US.min((duration_us - END_SLACK_US).max(0))
}

/// The id of a session's one `PlayEvent`.
pub(crate) fn event_id(session_id: &str) -> String {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("tunemesh:play:{session_id}").as_bytes(),
    )
    .to_string()
}

pub(crate) fn counts(played_us: i64, duration_us: i64) -> bool {
    played_us >= needed_us(duration_us)
}

/// The `PlayEvent` of an ended session.
pub(crate) fn play_event(s: &PlaySession, ended_ms: i64) -> Result<Envelope, PlayerError> {
    let event = PlayEvent {
        meta: Some(EventMeta {
            event_id: event_id(&s.session_id),
            occurred_at: Some(timestamp_ms(ended_ms)),
            producer: "player-svc".to_owned(),
            // trace_context is deprecated: the trace travels in the message headers
            ..EventMeta::default()
        }),
        user_id: s.user_id.clone(),
        track_id: s.track_id.clone(),
        play_session_id: s.session_id.clone(),
        played: Some(duration_us(s.played_us)),
        track_duration: Some(duration_us(s.track_duration_us)),
        end_reason: s.end_reason,
        counted: s.counted,
        context: Some(PlayContext {
            r#type: s.context_type,
            id: s.context_id.clone(),
        }),
        quality: s.quality,
        started_at: Some(timestamp_ms(s.started_ms)),
    };
    Envelope::from_event(&event).map_err(|e| PlayerError::Unexpected(e.into()))
}

/// Applies `report` to the stored session at `now` (ms since the epoch, server clock).
pub(crate) fn apply(
    current: Option<PlaySession>,
    r: &Report,
    rules: &PlayRules,
    now: i64,
) -> Result<SessionDecision, PlayerError> {
    let sequence = i64::from(r.sequence);
    if let (None, Some(started_ms)) = (&current, r.past_started_ms) {
        return crate::past_plays::apply_past(r, started_ms, rules, now);
    }
    let mut s = match current {
        Some(s) => {
            if s.user_id != r.user_id || s.track_id != r.track_id {
                return Err(PlayerError::invalid(
                    "play_session_id",
                    "already used for another track or listener",
                ));
            }
            if sequence <= s.last_sequence {
                // A retry or a late report: acknowledged, changes nothing.
                return Ok(SessionDecision {
                    session: s,
                    changed: false,
                    event: None,
                });
            }
            if s.ended {
                return Err(PlayerError::FailedPrecondition(
                    "the play session has already ended".to_owned(),
                ));
            }
            s
        }
        None => PlaySession {
            session_id: r.session_id.clone(),
            user_id: r.user_id.clone(),
            track_id: r.track_id.clone(),
            track_duration_us: r.track_duration_us,
            last_sequence: -1,
            played_us: 0,
            counted: false,
            ended: false,
            end_reason: 0,
            context_type: 0,
            context_id: String::new(),
            quality: r.quality,
            // The server's clock: a client's own time would let it open sessions in the past.
            started_ms: now,
            updated_ms: now,
        },
    };
    s.last_sequence = sequence;
    let open_us = (now - s.started_ms).max(0).saturating_mul(1000);
    let credible = open_us.saturating_add(rules.clock_slack_us);
    if r.played_us > credible {
        held_back("ahead_of_session", r);
    }
    s.played_us = s.played_us.max(r.played_us.min(credible));
    if !s.counted && counts(s.played_us, s.track_duration_us) {
        if rules
            .budget
            .take(&s.user_id, needed_us(s.track_duration_us))
        {
            s.counted = true;
            let needed_ms = needed_us(s.track_duration_us) / 1000;
            (rules.listening).record(&s.user_id, &s.session_id, now, needed_ms);
        } else {
            // Not counted yet: a later report counts it once the budget has refilled.
            held_back("user_budget", r);
        }
    }
    s.quality = r.quality;
    s.updated_ms = now;
    if let Some(context) = &r.context {
        s.context_type = context.r#type;
        s.context_id.clone_from(&context.id);
    }
    let ends = matches!(r.state, PlaybackState::Stopped | PlaybackState::Ended);
    let event = if ends {
        s.ended = true;
        s.end_reason = r.end_reason as i32;
        Some(play_event(&s, now)?)
    } else {
        None
    };
    Ok(SessionDecision {
        session: s,
        changed: true,
        event,
    })
}

/// Closes sessions without a report for `timeout`, every `every`, until cancelled; forgets
/// the play budgets of users who have been idle long enough to have a full one, and held
/// listening too old for any past play to clash with.
pub(crate) async fn sweep_stale_sessions(
    store: Arc<dyn PlaySessionStore>,
    waker: OutboxWaker,
    (timeout, every): (Duration, Duration),
    rules: PlayRules,
    shutdown: CancellationToken,
) {
    let timeout_ms = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        rules.budget.prune();
        let max_age_ms = i64::try_from(crate::past_plays::MAX_AGE.as_millis()).unwrap_or(0);
        rules.listening.prune(now_ms() - max_age_ms);
        let stale = match store.stale_sessions(now_ms() - timeout_ms, 100).await {
            Ok(stale) => stale,
            Err(error) => {
                tracing::warn!(error = %tunemesh_runtime::error::DisplayChain(&error), "cannot read stale sessions");
                continue;
            }
        };
        for session in stale {
            let id = session.session_id.clone();
            let update = Box::new(move |current: Option<PlaySession>| {
                // Re-checked under the lock: a report may have arrived meanwhile.
                let Some(mut s) =
                    current.filter(|s| !s.ended && s.updated_ms <= session.updated_ms)
                else {
                    return Ok(SessionDecision {
                        session,
                        changed: false,
                        event: None,
                    });
                };
                s.ended = true;
                s.end_reason = PlaybackEndReason::TimedOut as i32;
                let event = play_event(&s, s.updated_ms + timeout_ms)?;
                Ok(SessionDecision {
                    session: s,
                    changed: true,
                    event: Some(event),
                })
            });
            match store.update_session(&id, update).await {
                Ok(_) => waker.wake(),
                Err(error) => {
                    tracing::warn!(session = %id, error = %tunemesh_runtime::error::DisplayChain(&error), "cannot time out session")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(sequence: u32, played_s: i64, state: PlaybackState) -> Report {
        Report {
            user_id: "u".into(),
            session_id: "s".into(),
            sequence,
            track_id: "t".into(),
            track_duration_us: 200_000_000,
            played_us: played_s * 1_000_000,
            state,
            end_reason: if state == PlaybackState::Ended {
                PlaybackEndReason::Completed
            } else {
                PlaybackEndReason::Unspecified
            },
            context: None,
            quality: 2,
            past_started_ms: None,
        }
    }

    const T0: i64 = 1_800_000_000_000;

    fn rules() -> PlayRules {
        PlayRules {
            clock_slack_us: 5_000_000,
            budget: PlayBudget::new(Duration::from_secs(45)),
            listening: Listening::new(5000),
        }
    }

    #[test]
    fn thirty_seconds_count_and_the_end_emits_one_event() -> Result<(), PlayerError> {
        let rules = rules();
        let first = apply(None, &report(0, 10, PlaybackState::Playing), &rules, T0)?;
        assert!(!first.session.counted && first.event.is_none());
        let at = |s: i64| T0 + s * 1000;
        let second = apply(
            Some(first.session),
            &report(1, 31, PlaybackState::Playing),
            &rules,
            at(31),
        )?;
        assert!(second.session.counted && second.event.is_none());
        let end = apply(
            Some(second.session),
            &report(2, 200, PlaybackState::Ended),
            &rules,
            at(200),
        )?;
        assert!(end.event.is_some());
        let retry = apply(
            Some(end.session.clone()),
            &report(2, 200, PlaybackState::Ended),
            &rules,
            at(201),
        )?;
        assert!(!retry.changed && retry.event.is_none());
        let late = report(3, 200, PlaybackState::Playing);
        assert!(apply(Some(end.session), &late, &rules, at(202)).is_err());
        Ok(())
    }

    #[test]
    fn heard_time_beyond_the_session_s_open_time_is_not_credited() -> Result<(), PlayerError> {
        let rules = rules();
        let opened = apply(None, &report(0, 0, PlaybackState::Playing), &rules, T0)?;
        let claimed = apply(
            Some(opened.session),
            &report(1, 180, PlaybackState::Ended),
            &rules,
            T0 + 1000,
        )?;
        assert!(!claimed.session.counted);
        assert_eq!(
            claimed.session.played_us, 6_000_000,
            "1 s open plus the slack"
        );
        Ok(())
    }

    #[test]
    fn parallel_sessions_of_one_user_count_at_the_pace_of_real_time() -> Result<(), PlayerError> {
        let rules = rules();
        let mut counted = 0;
        for i in 0..20 {
            let mut r = report(0, 0, PlaybackState::Playing);
            r.session_id = format!("s{i}");
            let opened = apply(None, &r, &rules, T0)?;
            r.sequence = 1;
            r.played_us = 35_000_000;
            let later = apply(Some(opened.session), &r, &rules, T0 + 35_000)?;
            counted += usize::from(later.session.counted);
        }
        assert_eq!(counted, 1, "35 s of wall clock hold one 30-second play");
        Ok(())
    }

    #[test]
    fn a_short_track_counts_when_heard_whole() {
        assert!(counts(9_500_000, 10_000_000));
        assert!(!counts(5_000_000, 10_000_000));
        assert!(counts(30_000_000, 300_000_000));
    }
}

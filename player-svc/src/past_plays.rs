//! Plays reported after they happened (`ReportPlaybackRequest.past_play_started_at`): an
//! app that played offline sends its plays later, each a whole play in one report.
//!
//! The server's clock cannot have watched such a play, so it is believed by where it lies in
//! time instead: what counting it needs must be over by now (plus the clock slack), it must
//! have started at most [`MAX_AGE`] ago (Last.fm's bound for scrobbles), and it must not
//! clash with another counted play of the listener's, past or live ([`Listening`]). A claim
//! that fails is stored as an uncounted session and acknowledged, never refused: an app
//! would retry a refused one forever. Re-sent, it is the stored session (reports are
//! idempotent per session and sequence), so it counts once.
//!
//! [`Listening`]: crate::listening::Listening

use std::time::Duration;

use crate::error::PlayerError;
use crate::play_sessions::{PlayRules, Report, counts, held_back, needed_us, play_event};
use crate::store::{PlaySession, SessionDecision};

/// Oldest past play accepted.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(14 * 24 * 3600);
/// Overlap tolerated between two counted plays of one listener (apps' clocks drift).
pub(crate) const OVERLAP_TOLERANCE: Duration = Duration::from_secs(5);

/// The one report of a past play's session, `r.past_started_ms` set, at `now` (server
/// clock, ms since the epoch); the session is new.
pub(crate) fn apply_past(
    r: &Report,
    started_ms: i64,
    rules: &PlayRules,
    now: i64,
) -> Result<SessionDecision, PlayerError> {
    let needed_ms = needed_us(r.track_duration_us) / 1000;
    // One play, heard at most whole.
    let played_us = r.played_us.min(r.track_duration_us);
    let ended_ms = started_ms.saturating_add(played_us / 1000);
    let max_age_ms = i64::try_from(MAX_AGE.as_millis()).unwrap_or(i64::MAX);
    let counted = if !counts(r.played_us, r.track_duration_us) {
        false
    } else if started_ms < now.saturating_sub(max_age_ms) {
        held_back("past_too_old", r);
        false
    } else if started_ms.saturating_add(needed_ms) > now.saturating_add(rules.clock_slack_us / 1000)
    {
        held_back("past_in_future", r);
        false
    } else if let Err(clash) =
        (rules.listening).claim(&r.user_id, &r.session_id, started_ms, needed_ms)
    {
        held_back(clash.reason(), r);
        false
    } else {
        true
    };
    let session = PlaySession {
        session_id: r.session_id.clone(),
        user_id: r.user_id.clone(),
        track_id: r.track_id.clone(),
        track_duration_us: r.track_duration_us,
        last_sequence: i64::from(r.sequence),
        played_us,
        counted,
        ended: true,
        end_reason: r.end_reason as i32,
        context_type: r.context.as_ref().map_or(0, |c| c.r#type),
        context_id: r.context.as_ref().map(|c| c.id.clone()).unwrap_or_default(),
        quality: r.quality,
        started_ms,
        updated_ms: now,
    };
    // Timed when it happened, so the listening history puts it where it belongs; a claimed
    // end past the server's clock is not believed.
    let event = play_event(&session, ended_ms.min(now))?;
    Ok(SessionDecision {
        session,
        changed: true,
        event: Some(event),
    })
}

#[cfg(test)]
mod tests {
    use tunemesh_proto::player::v1::{PlaybackEndReason, PlaybackState};

    use super::*;
    use crate::listening::Listening;
    use crate::play_budget::PlayBudget;
    use crate::play_sessions::apply;

    const NOW: i64 = 1_800_000_000_000;
    const MINUTE: i64 = 60_000;

    fn rules() -> PlayRules {
        PlayRules {
            clock_slack_us: 5_000_000,
            budget: PlayBudget::new(Duration::from_secs(45)),
            listening: Listening::new(5000),
        }
    }

    fn past(session: &str, track: &str, started_ms: i64) -> Report {
        Report {
            user_id: "u".into(),
            session_id: session.into(),
            sequence: 0,
            track_id: track.into(),
            track_duration_us: 200_000_000,
            played_us: 200_000_000,
            state: PlaybackState::Ended,
            end_reason: PlaybackEndReason::Completed,
            context: None,
            quality: 2,
            past_started_ms: Some(started_ms),
        }
    }

    fn counted(r: &Report, rules: &PlayRules, now: i64) -> Result<bool, PlayerError> {
        Ok(apply(None, r, rules, now)?.session.counted)
    }

    #[test]
    fn an_offline_batch_counts_each_play_at_its_time() -> Result<(), PlayerError> {
        let rules = rules();
        for i in 0..3 {
            let r = past(
                &format!("s{i}"),
                &format!("t{i}"),
                NOW - 60 * MINUTE + i * 200_000,
            );
            let decision = apply(None, &r, &rules, NOW)?;
            assert!(decision.session.counted, "play {i}");
            assert!(decision.session.ended && decision.event.is_some());
            assert_eq!(decision.session.started_ms, r.past_started_ms.unwrap_or(0));
        }
        Ok(())
    }

    #[test]
    fn overlapping_claims_count_once() -> Result<(), PlayerError> {
        let rules = rules();
        assert!(counted(&past("a", "t1", NOW - 10 * MINUTE), &rules, NOW)?);
        assert!(!counted(
            &past("b", "t2", NOW - 10 * MINUTE + 10_000),
            &rules,
            NOW
        )?);
        assert!(!counted(&past("c", "t1", NOW - 10 * MINUTE), &rules, NOW)?);
        assert!(
            counted(&past("d", "t2", NOW - 10 * MINUTE + 40_000), &rules, NOW)?,
            "after the first's 30 s: it may have been skipped"
        );
        Ok(())
    }

    #[test]
    fn a_resent_claim_is_the_stored_session() -> Result<(), PlayerError> {
        let rules = rules();
        let r = past("a", "t1", NOW - 10 * MINUTE);
        let first = apply(None, &r, &rules, NOW)?;
        assert!(first.session.counted);
        let again = apply(Some(first.session), &r, &rules, NOW + MINUTE)?;
        assert!(again.session.counted && !again.changed && again.event.is_none());
        Ok(())
    }

    #[test]
    fn plays_in_the_future_or_too_old_do_not_count() -> Result<(), PlayerError> {
        let rules = rules();
        assert!(
            !counted(&past("a", "t", NOW), &rules, NOW)?,
            "not heard yet"
        );
        assert!(!counted(&past("b", "t", NOW + MINUTE), &rules, NOW)?);
        assert!(
            counted(&past("c", "t", NOW - 30_000), &rules, NOW)?,
            "its 30 s are over, the rest is being heard"
        );
        let old = NOW - i64::try_from(MAX_AGE.as_millis()).unwrap_or(0) - MINUTE;
        assert!(!counted(&past("d", "t", old), &rules, NOW)?);
        let mut short = past("e", "t", NOW - 20 * MINUTE);
        short.played_us = 10_000_000;
        assert!(!counted(&short, &rules, NOW)?, "10 s heard");
        Ok(())
    }

    #[test]
    fn a_past_play_may_not_overlap_a_live_one() -> Result<(), PlayerError> {
        let rules = rules();
        let mut live = past("live", "t", 0);
        live.past_started_ms = None;
        live.state = PlaybackState::Playing;
        live.played_us = 0;
        let opened = apply(None, &live, &rules, NOW - 60_000)?;
        live.sequence = 1;
        live.played_us = 35_000_000;
        assert!(
            apply(Some(opened.session), &live, &rules, NOW - 25_000)?
                .session
                .counted
        );
        assert!(!counted(&past("p", "t2", NOW - 50_000), &rules, NOW)?);
        assert!(counted(&past("q", "t2", NOW - 100_000), &rules, NOW)?);
        Ok(())
    }

    #[test]
    fn the_event_is_timed_when_the_play_happened() -> Result<(), PlayerError> {
        let rules = rules();
        let started = NOW - 60 * MINUTE;
        let decision = apply(None, &past("a", "t", started), &rules, NOW)?;
        let envelope = decision
            .event
            .ok_or_else(|| PlayerError::invalid("event", "none"))?;
        assert_eq!(envelope.occurred_at_millis(), started + 200_000);
        let mut twice = past("b", "t", started - 10 * MINUTE);
        twice.played_us = 400_000_000;
        let decision = apply(None, &twice, &rules, NOW)?;
        assert_eq!(
            decision.session.played_us, 200_000_000,
            "one play, heard whole"
        );
        Ok(())
    }
}

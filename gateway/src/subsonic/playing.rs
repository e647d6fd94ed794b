//! What each app is playing now, and the play session behind it: the state of `getNowPlaying`,
//! `scrobble` and `reportPlayback`.
//!
//! One entry per (account, app `c`): the track it plays, since when, and the player-svc play
//! session its reports go to. Turning reports into `ReportPlayback`s happens here, as pure
//! steps that return the requests to send, so the rules can be tested without a network:
//! - a session opens when an app says it starts a track (`scrobble submission=false`,
//!   `reportPlayback state=starting|playing`); its heard time then runs on this gateway's
//!   clock while it plays (times `playbackRate`), as OpenSubsonic asks, so player-svc, which
//!   credits no more than the session has been open, counts real listening;
//! - the app's next track, or `stopped`, ends it (skipped, stopped or completed);
//! - a scrobble of the session's track ends it as completed, and a re-sent scrobble of the
//!   same time repeats the same final report, which player-svc acknowledges without effect.
//!
//! Entries live in this gateway replica's memory: another replica does not see them (apps keep
//! one connection, so their reports mostly reach one replica), and they go after
//! [`EXPIRY`] without a word from the app, at most [`MAX_ENTRIES`] of them (the least recently
//! heard from go first). player-svc closes sessions left open by itself after 10 minutes.

use std::collections::HashMap;
use std::hash::{Hash as _, Hasher as _};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;
use tunemesh_proto::player::v1::{self as pb, PlaybackEndReason, PlaybackState};

#[path = "playing_session.rs"]
mod session;

use session::Session;
pub(crate) use session::proto_duration;

/// How long an entry is shown without a word from its app.
pub(crate) const EXPIRY: Duration = Duration::from_secs(600);
/// Most entries kept.
pub(crate) const MAX_ENTRIES: usize = 10_000;
/// Fastest `playbackRate` credited.
const MAX_RATE: f64 = 4.0;
/// How long before its session opened a scrobble's `time` may lie and still be that play's
/// (apps stamp the start of the play, by their own clock): an older one is another play, from
/// an offline batch.
const SCROBBLE_SKEW_MS: i64 = 120_000;

/// Who reports: the account, its name, and the app (`c`).
#[derive(Debug, Clone)]
pub(crate) struct Player<'a> {
    pub(crate) user_id: &'a str,
    pub(crate) username: &'a str,
    pub(crate) client: &'a str,
}

/// One app's track now.
#[derive(Debug, Clone)]
struct Entry {
    username: String,
    track_id: String,
    /// When the track started (`minutesAgo`).
    since: Instant,
    /// Last word from the app (expiry).
    touched: Instant,
    /// Set by the app's own reports: a stream then no longer moves the entry.
    reported: bool,
    session: Option<Session>,
}

/// An entry as `getNowPlaying` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shown {
    pub(crate) track_id: String,
    pub(crate) username: String,
    pub(crate) minutes_ago: i32,
    pub(crate) player_id: i32,
    pub(crate) player_name: String,
}

/// What a `reportPlayback` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Starting,
    Playing,
    Paused,
    /// Stopped; `true` when at the end of the track.
    Stopped(bool),
}

/// Every app's track now, on this replica; cheap to clone.
#[derive(Debug, Clone, Default)]
pub(crate) struct NowPlaying {
    entries: Arc<Mutex<HashMap<(String, String), Entry>>>,
}

impl NowPlaying {
    fn lock(&self) -> MutexGuard<'_, HashMap<(String, String), Entry>> {
        // Plain values: a poisoned lock still holds usable ones.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live entry of `who`, made for `track_id` when there is none (or another track):
    /// the session of a replaced entry, if open, ends as skipped into `out`.
    fn entry<'m>(
        entries: &'m mut HashMap<(String, String), Entry>,
        who: &Player<'_>,
        track_id: &str,
        now: Instant,
        out: &mut Vec<pb::ReportPlaybackRequest>,
    ) -> &'m mut Entry {
        let key = (who.user_id.to_owned(), who.client.to_owned());
        if !entries.contains_key(&key) && entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| now.saturating_duration_since(e.touched) < EXPIRY);
            let oldest = entries
                .iter()
                .min_by_key(|(_, e)| e.touched)
                .map(|(k, _)| k.clone());
            if entries.len() >= MAX_ENTRIES {
                oldest.map(|k| entries.remove(&k));
            }
        }
        let entry = entries.entry(key).or_insert_with(|| Entry {
            username: who.username.to_owned(),
            track_id: track_id.to_owned(),
            since: now,
            touched: now,
            reported: false,
            session: None,
        });
        let stale = now.saturating_duration_since(entry.touched) >= EXPIRY;
        if entry.track_id != track_id || stale {
            let open = entry.session.as_mut();
            if let Some(session) = open.filter(|s| s.ended.is_none() && !s.scrobble_only) {
                out.push(session.end(&entry.track_id, PlaybackEndReason::Skipped, None, None, now));
            }
            *entry = Entry {
                username: who.username.to_owned(),
                track_id: track_id.to_owned(),
                since: now,
                touched: now,
                reported: false,
                session: None,
            };
        }
        entry.touched = now;
        entry
    }

    /// A stream of `track_id` from its start: shown for apps that report nothing themselves.
    pub(crate) fn streamed(&self, who: &Player<'_>, track_id: &str, now: Instant) {
        let mut entries = self.lock();
        let key = (who.user_id.to_owned(), who.client.to_owned());
        let reporting = entries
            .get(&key)
            .is_some_and(|e| e.reported && now.saturating_duration_since(e.touched) < EXPIRY);
        if !reporting {
            // A stream opens no session, so nothing can end: the reports are dropped.
            Self::entry(&mut entries, who, track_id, now, &mut Vec::new());
        }
    }

    /// `scrobble submission=false`: `track_id` now plays, a session opens (if not open).
    pub(crate) fn started(
        &self,
        who: &Player<'_>,
        track_id: &str,
        duration: Duration,
        now: Instant,
    ) -> Vec<pb::ReportPlaybackRequest> {
        let mut out = Vec::new();
        let mut entries = self.lock();
        let entry = Self::entry(&mut entries, who, track_id, now, &mut out);
        entry.reported = true;
        if entry.session.as_ref().is_none_or(|s| s.ended.is_some()) {
            entry.since = now;
            let (session, first) = Session::open(track_id, duration, true, now);
            entry.session = Some(session);
            out.push(first);
        }
        out
    }

    /// `scrobble submission=true` of `track_id` at `time`: the final report of the app's open
    /// session of that track (again, for a re-sent scrobble of the same time); `None` when
    /// there is no such session here, or `time` is from before it (an offline play).
    /// `now_ms` is the wall clock at `now`.
    pub(crate) fn scrobbled(
        &self,
        who: &Player<'_>,
        track_id: &str,
        time: i64,
        (now, now_ms): (Instant, i64),
    ) -> Option<pb::ReportPlaybackRequest> {
        let mut entries = self.lock();
        let key = (who.user_id.to_owned(), who.client.to_owned());
        let entry = entries.get_mut(&key).filter(|e| e.track_id == track_id)?;
        let session = entry.session.as_mut()?;
        match &session.ended {
            Some((last, Some(ended_by))) if *ended_by == time => Some(last.clone()),
            Some(_) => None,
            None if time < opened_ms(session.opened, now, now_ms) - SCROBBLE_SKEW_MS => None,
            None => {
                entry.touched = now;
                let (reason, end) = (PlaybackEndReason::Completed, Some(session.duration));
                Some(session.end(track_id, reason, end, Some(time), now))
            }
        }
    }

    /// `reportPlayback`: the reports `step` makes (none with `ignore_scrobble`, which only
    /// shows the track). `position` is where the app is; `rate` its playback speed.
    pub(crate) fn report(
        &self,
        who: &Player<'_>,
        (track_id, duration): (&str, Duration),
        (step, position, rate): (Step, Duration, f64),
        ignore_scrobble: bool,
        now: Instant,
    ) -> Vec<pb::ReportPlaybackRequest> {
        let mut out = Vec::new();
        let mut entries = self.lock();
        let key = (who.user_id.to_owned(), who.client.to_owned());
        let entry = Self::entry(&mut entries, who, track_id, now, &mut out);
        entry.reported = true;
        if ignore_scrobble {
            if matches!(step, Step::Stopped(_)) {
                entries.remove(&key);
            }
            return out;
        }
        let open = entry.session.as_ref().is_some_and(|s| s.ended.is_none());
        // `starting` is a new play even of the same track; any report opens one if needed.
        if step == Step::Starting || !open {
            let open = entry.session.as_mut();
            if let Some(session) = open.filter(|s| s.ended.is_none() && !s.scrobble_only) {
                out.push(session.end(track_id, PlaybackEndReason::Skipped, None, None, now));
            }
            entry.since = now;
            let (session, first) = Session::open(track_id, duration, false, now);
            entry.session = Some(session);
            out.push(first);
        }
        let Some(session) = entry.session.as_mut() else {
            return out;
        };
        let rate = if rate.is_finite() {
            rate.clamp(0.0, MAX_RATE)
        } else {
            1.0
        };
        session.played = session.heard(now);
        session.running = None;
        match step {
            Step::Starting => {}
            Step::Playing => {
                session.running = Some((now, rate));
                let state = PlaybackState::Playing;
                out.push(session.report(track_id, state, None, Some(position), now));
            }
            Step::Paused => {
                let state = PlaybackState::Paused;
                out.push(session.report(track_id, state, None, Some(position), now));
            }
            Step::Stopped(at_end) => {
                let reason = if at_end {
                    PlaybackEndReason::Completed
                } else {
                    PlaybackEndReason::Stopped
                };
                out.push(session.end(track_id, reason, Some(position), None, now));
                entries.remove(&key);
            }
        }
        out
    }

    /// Every live entry, the latest first, at most `limit`.
    pub(crate) fn shown(&self, limit: usize, now: Instant) -> Vec<Shown> {
        let mut entries = self.lock();
        entries.retain(|_, e| now.saturating_duration_since(e.touched) < EXPIRY);
        let mut live: Vec<_> = entries.iter().collect();
        live.sort_by_key(|(_, e)| std::cmp::Reverse(e.since));
        live.into_iter()
            .take(limit)
            .map(|((user_id, client), e)| Shown {
                track_id: e.track_id.clone(),
                username: e.username.clone(),
                minutes_ago: i32::try_from(now.saturating_duration_since(e.since).as_secs() / 60)
                    .unwrap_or(i32::MAX),
                player_id: player_id(user_id, client),
                player_name: client.clone(),
            })
            .collect()
    }
}

/// The wall clock, in ms, at `then`, given it is `now_ms` at `now`.
fn opened_ms(then: Instant, now: Instant, now_ms: i64) -> i64 {
    let ago = i64::try_from(now.saturating_duration_since(then).as_millis()).unwrap_or(i64::MAX);
    now_ms.saturating_sub(ago)
}

/// A stable 31-bit number for (account, app): `playerId` is an int in the XSD.
fn player_id(user_id: &str, client: &str) -> i32 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (user_id, client).hash(&mut hasher);
    i32::try_from(hasher.finish() & 0x7fff_ffff).unwrap_or(0)
}

#[cfg(test)]
#[path = "playing_tests.rs"]
mod tests;

//! Playback reporting: `scrobble`, `getNowPlaying` and `reportPlayback` (OpenSubsonic
//! `playbackReport`), onto `PlayerService.ReportPlayback` so a play from an app reaches
//! reco-svc (history, top tracks, recommendations) exactly as a web-player play does.
//!
//! - `scrobble submission=false` is now playing: shown, and a session is opened so that the
//!   scrobble that follows is credited with the time it really took ([`super::playing`]);
//!   it never counts a play by itself.
//! - `scrobble submission=true` counts each `id` once per (user, track, `time`): it ends the
//!   app's open session of that track, or else makes a one-report session whose id is derived
//!   from (user, track, time), so a re-sent scrobble is the same report and player-svc, whose
//!   reports are idempotent per (session, sequence), acknowledges it without counting again.
//!   `time` defaults to now (a re-sent scrobble without one cannot be told from a new play).
//!   Offline batches with old times are accepted: player-svc does not read `client_time` and
//!   times sessions by its own clock, so it holds a one-report session's heard time to what
//!   its clock allows (`play_clock_slack`): such a scrobble is recorded but counted only if
//!   the deployment's slack allows a whole play at once.
//! - `reportPlayback` maps states onto one session per play; `ignoreScrobble` only shows it.
//!
//! `getNowPlaying` lists every listener's entries held by this gateway replica
//! ([`super::playing`]): per replica, not across replicas.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;
use tunemesh_proto::catalog::v1 as catalog;
use tunemesh_proto::player::v1::{self as pb, PlaybackEndReason, PlaybackState};
use tunemesh_runtime::ErrorCode;

use super::error::SubsonicError;
use super::methods::{Ctx, Method, handler};
use super::model::Child;
use super::playing::{Player, Step, proto_duration};
use super::response::Payload;
use crate::error::ApiError;
use crate::extract::check_id;

/// This area's methods.
pub(crate) const TABLE: &[(&str, Method)] = &[
    ("scrobble", handler!(scrobble)),
    ("getNowPlaying", handler!(get_now_playing)),
    ("reportPlayback", handler!(report_playback)),
];

/// Most scrobbles one call takes (an offline batch sends many).
const MAX_SCROBBLES: usize = 500;
/// Most entries `getNowPlaying` lists.
const MAX_SHOWN: usize = 100;
/// Most ids one `BatchGetTracks` takes (the contract's limit).
const BATCH: usize = 100;
/// Longest app name kept (`c`).
const MAX_CLIENT: usize = 64;
/// How near its end a stopped track counts as played to the end.
const END_SLACK: Duration = Duration::from_secs(2);

/// `nowPlaying`
#[derive(Debug, Serialize)]
pub(crate) struct NowPlayingList {
    pub(crate) entry: Vec<NowPlayingEntry>,
}

/// One `entry` of `nowPlaying`: the song and who plays it where.
#[derive(Debug, Serialize)]
pub(crate) struct NowPlayingEntry {
    #[serde(flatten)]
    pub(crate) child: Child,
    #[serde(rename = "@username")]
    pub(crate) username: String,
    #[serde(rename = "@minutesAgo")]
    pub(crate) minutes_ago: i32,
    #[serde(rename = "@playerId")]
    pub(crate) player_id: i32,
    #[serde(rename = "@playerName")]
    pub(crate) player_name: String,
}

/// The app calling (`c`), bounded; apps that send none share one name.
pub(crate) fn client(ctx: &Ctx<'_>) -> String {
    let name = ctx.call.params.get("c").unwrap_or_default().trim();
    let name = if name.is_empty() { "subsonic" } else { name };
    name.chars().take(MAX_CLIENT).collect()
}

/// Who is reporting, from which app.
pub(crate) fn player<'a>(ctx: &'a Ctx<'_>, client: &'a str) -> Player<'a> {
    Player {
        user_id: &ctx.identity().user_id,
        username: &ctx.caller.username,
        client,
    }
}

fn unknown() -> SubsonicError {
    SubsonicError::NotFound("song not found".into())
}

/// The tracks of `ids` the catalogue knows, by id (as the caller sees it).
async fn tracks(
    ctx: &Ctx<'_>,
    ids: &[&str],
) -> Result<HashMap<String, catalog::Track>, SubsonicError> {
    let mut found = HashMap::new();
    for chunk in ids.chunks(BATCH) {
        let request = catalog::BatchGetTracksRequest {
            track_ids: chunk.iter().map(|&id| id.to_owned()).collect(),
        };
        let answer = (ctx.state.catalog())
            .call(ctx.identity(), request, async |c, r| {
                c.batch_get_tracks(r).await
            })
            .await?;
        found.extend(answer.tracks.into_iter().map(|t| (t.id.clone(), t)));
    }
    Ok(found)
}

fn length(track: &catalog::Track) -> Duration {
    track.duration.as_ref().map_or(Duration::ZERO, |d| {
        Duration::new(
            u64::try_from(d.seconds).unwrap_or(0),
            u32::try_from(d.nanos).unwrap_or(0),
        )
    })
}

/// Sends `reports` in order; the first failure is returned (after logging it).
async fn send(ctx: &Ctx<'_>, reports: Vec<pb::ReportPlaybackRequest>) -> Result<(), ApiError> {
    for report in reports {
        let session = report.play_session_id.clone();
        let sent = (ctx.state.player())
            .call(ctx.identity(), report, async |c, r| {
                c.report_playback(r).await
            })
            .await;
        if let Err(error) = sent {
            tracing::warn!(%session, code = ?error.code(), message = error.message(), "subsonic play report failed");
            return Err(error);
        }
    }
    Ok(())
}

async fn scrobble(ctx: &Ctx<'_>) -> Result<(), SubsonicError> {
    let params = &ctx.call.params;
    let ids: Vec<&str> = params.all("id").collect();
    if ids.is_empty() || ids.iter().any(|id| id.is_empty()) {
        return Err(SubsonicError::missing("id"));
    }
    if ids.len() > MAX_SCROBBLES {
        return Err(SubsonicError::MissingParameter(
            format!("at most {MAX_SCROBBLES} ids per call").into(),
        ));
    }
    if ids.iter().any(|id| check_id("id", id).is_err()) {
        return Err(unknown());
    }
    let times = params
        .all("time")
        .map(|t| t.trim().parse::<i64>().ok().filter(|t| *t >= 0))
        .collect::<Option<Vec<i64>>>()
        .ok_or_else(|| SubsonicError::MissingParameter("time must be milliseconds".into()))?;
    if !times.is_empty() && times.len() != ids.len() {
        return Err(SubsonicError::MissingParameter(
            "time must be given once per id, or not at all".into(),
        ));
    }
    let submission = params.bool("submission", true)?;
    let found = tracks(ctx, &ids).await?;
    if found.is_empty() {
        return Err(unknown());
    }
    let client = client(ctx);
    let who = player(ctx, &client);
    let playing = ctx.state.subsonic().playing();
    if !submission {
        // Now playing: the last song named is the one playing. Best effort: an app does not
        // retry it, and the scrobble that matters comes later.
        let Some(track) = ids.last().and_then(|id| found.get(*id)) else {
            return Err(unknown());
        };
        let reports = playing.started(&who, &track.id, length(track), Instant::now());
        let _logged = send(ctx, reports).await;
        return Ok(());
    }
    let now_ms = tunemesh_runtime::clock::now_ms();
    for (i, id) in ids.iter().enumerate() {
        let Some(track) = found.get(*id) else {
            tracing::debug!(track = id, "scrobble of an unknown song skipped");
            continue;
        };
        let time = times.get(i).copied().unwrap_or(now_ms);
        let report = playing
            .scrobbled(&who, id, time, (Instant::now(), now_ms))
            .unwrap_or_else(|| one_shot(&who, track, time));
        match send(ctx, vec![report]).await {
            Ok(()) => {}
            // Gone since it was looked up, or refused as sent: retrying cannot help.
            Err(error)
                if matches!(
                    error.code(),
                    ErrorCode::NotFound
                        | ErrorCode::InvalidArgument
                        | ErrorCode::FailedPrecondition
                ) => {}
            // The app keeps the scrobble and sends it again: being idempotent, it counts once.
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}

/// The one report of a scrobble without an open session: a whole play, ended, in a session
/// whose id is derived from (user, track, time).
fn one_shot(who: &Player<'_>, track: &catalog::Track, time: i64) -> pb::ReportPlaybackRequest {
    let name = format!(
        "tunemesh:subsonic:scrobble:{}:{}:{time}",
        who.user_id, track.id
    );
    let session = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes());
    let whole = proto_duration(length(track));
    pb::ReportPlaybackRequest {
        play_session_id: session.to_string(),
        sequence: 0,
        track_id: track.id.clone(),
        position: Some(whole),
        played: Some(whole),
        state: PlaybackState::Ended.into(),
        end_reason: PlaybackEndReason::Completed.into(),
        client_time: Some(prost_types::Timestamp {
            seconds: time.div_euclid(1000),
            nanos: i32::try_from(time.rem_euclid(1000) * 1_000_000).unwrap_or(0),
        }),
        ..Default::default()
    }
}

async fn get_now_playing(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    let shown = ctx
        .state
        .subsonic()
        .playing()
        .shown(MAX_SHOWN, Instant::now());
    let mut ids: Vec<&str> = shown.iter().map(|s| s.track_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let found = if ids.is_empty() {
        HashMap::new()
    } else {
        tracks(ctx, &ids).await?
    };
    let entry = shown
        .iter()
        .filter_map(|s| {
            let track = found.get(&s.track_id)?;
            Some(NowPlayingEntry {
                child: Child::from(track),
                username: s.username.clone(),
                minutes_ago: s.minutes_ago,
                player_id: s.player_id,
                player_name: s.player_name.clone(),
            })
        })
        .collect();
    Ok(Payload::NowPlaying(NowPlayingList { entry }))
}

async fn report_playback(ctx: &Ctx<'_>) -> Result<(), SubsonicError> {
    let params = &ctx.call.params;
    let id = params.required("mediaId")?;
    if !params.required("mediaType")?.eq_ignore_ascii_case("song") || check_id("id", id).is_err() {
        // Podcasts do not exist here, nor does an id of another shape.
        return Err(unknown());
    }
    let bad = |what: &'static str| SubsonicError::MissingParameter(what.into());
    let position = params
        .required("positionMs")?
        .trim()
        .parse::<u64>()
        .map_err(|_| bad("positionMs must be milliseconds"))?;
    let position = Duration::from_millis(position);
    let rate = match params.get("playbackRate").map(str::trim) {
        None | Some("") => 1.0,
        Some(text) => text
            .parse::<f64>()
            .ok()
            .filter(|r| r.is_finite() && *r >= 0.0)
            .ok_or_else(|| bad("playbackRate must be a number"))?,
    };
    let ignore = params.bool("ignoreScrobble", false)?;
    let request = catalog::GetTrackRequest {
        track_id: id.to_owned(),
    };
    let track = (ctx.state.catalog())
        .call(ctx.identity(), request, async |c, r| c.get_track(r).await)
        .await?
        .track
        .ok_or_else(unknown)?;
    let duration = length(&track);
    let step = match params.required("state")? {
        "starting" => Step::Starting,
        "playing" => Step::Playing,
        "paused" => Step::Paused,
        "stopped" => Step::Stopped(position + END_SLACK >= duration),
        _ => return Err(bad("state must be starting, playing, paused or stopped")),
    };
    let client = client(ctx);
    let who = player(ctx, &client);
    let reports = ctx.state.subsonic().playing().report(
        &who,
        (&track.id, duration),
        (step, position.min(duration), rate),
        ignore,
        Instant::now(),
    );
    match send(ctx, reports).await {
        Err(error) if error.code() == ErrorCode::NotFound => Err(unknown()),
        // Progress is reported again in seconds: a lost report only delays it.
        _ => Ok(()),
    }
}

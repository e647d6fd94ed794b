//! Audio for Subsonic apps: `stream` and `download`, answered by the gateway's one audio path
//! (`crate::media`): the stored Ogg Opus file of a rung, with its exact length, `Range`/206,
//! `If-Range` and `ETag` (HEAD too, as axum answers it from GET), the edge cache and the
//! per-account cap on open streams.
//!
//! Every rung is a stored file, so nothing is transcoded on the fly:
//! - `maxBitRate` (kbit/s; absent or 0: no limit) picks the highest rung at or under it, or
//!   the lowest rung when none is;
//! - `format`: `raw` is the best rung whatever `maxBitRate` says (tunemesh keeps no original
//!   file); `opus`, `ogg`, `oga` or none is Ogg Opus; anything else (`mp3`, `aac`…) cannot be
//!   made here, so it is Ogg Opus too, with its honest `Content-Type`, never a failure;
//! - `timeOffset` (seconds) starts at the Ogg page at or before it, with an exact
//!   `Content-Length` (`crate::media::offset`; the `transcodeOffset` extension);
//! - `estimateContentLength` is accepted: lengths are always exact.
//!
//! Neither call counts as a play: plays come from `scrobble` and `reportPlayback` only. A
//! stream from the start shows on `getNowPlaying` for apps that report nothing else.

use std::time::Duration;

use http::HeaderValue;
use http::header::{CONTENT_DISPOSITION, RANGE};
use tunemesh_proto::catalog::v1 as pb;
use tunemesh_proto::quality::Quality as Rung;

use super::error::SubsonicError;
use super::methods::{Ctx, Method, Reply, handler};
use crate::extract::check_id;
use crate::model::catalog::Quality;

/// This area's methods.
pub(crate) const TABLE: &[(&str, Method)] = &[
    ("stream", handler!(stream)),
    ("download", handler!(download)),
];

/// `format` values answered with exactly what was asked: Ogg Opus.
const OPUS_FORMATS: [&str; 3] = ["opus", "ogg", "oga"];

/// Latest `timeOffset` taken, in seconds: a day is longer than any track.
const MAX_OFFSET_SECONDS: f64 = 86_400.0;

/// Longest file name offered by `download`, in characters (before the suffix).
const MAX_NAME_CHARS: usize = 120;

/// The `id` of a binary call as a track id: an id of another shape is no track of ours (70),
/// as apps expect of ids left over from another server.
pub(crate) fn track_id<'a>(ctx: &'a Ctx<'_>) -> Result<&'a str, SubsonicError> {
    let id = ctx.call.params.required("id")?;
    check_id("id", id).map_err(|_| not_found())?;
    Ok(id)
}

fn not_found() -> SubsonicError {
    SubsonicError::NotFound("song not found".into())
}

async fn stream(ctx: &Ctx<'_>) -> Result<Reply, SubsonicError> {
    let id = track_id(ctx)?;
    let params = &ctx.call.params;
    let format = params.get("format").unwrap_or_default();
    let raw = format.eq_ignore_ascii_case("raw");
    if !(format.is_empty() || raw || OPUS_FORMATS.iter().any(|f| f.eq_ignore_ascii_case(format))) {
        tracing::debug!(format, "stream: no such rendition, serving Ogg Opus");
    }
    let max_kbps = number(params.get("maxBitRate"), "maxBitRate")?;
    let offset = offset(params.get("timeOffset"))?;
    params.bool("estimateContentLength", false)?;
    let rungs = ctx.state.media().qualities(ctx.identity(), id).await?;
    let rung = pick(&rungs, if raw { 0 } else { max_kbps }).ok_or_else(not_found)?;
    let media = ctx.state.media();
    let response = match offset {
        Some(start) => {
            crate::media::offset::from_offset(media, ctx.identity(), id, Quality(rung), start)
                .await?
        }
        None => {
            crate::media::audio::file(media, ctx.identity(), id, Quality(rung), ctx.headers).await?
        }
    };
    if response.status().is_success() && starts_the_track(ctx, offset) {
        let client = super::scrobble::client(ctx);
        let who = super::scrobble::player(ctx, &client);
        let now = tokio::time::Instant::now();
        ctx.state.subsonic().playing().streamed(&who, id, now);
    }
    Ok(Reply::Binary(response))
}

/// Whether this request starts playing the track (not a later range of it).
fn starts_the_track(ctx: &Ctx<'_>, offset: Option<Duration>) -> bool {
    offset.is_none()
        && ctx
            .headers
            .get(RANGE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|range| range.trim().starts_with("bytes=0-"))
}

/// The rung for a limit of `max_kbps` (0: none): the highest at or under it, or the lowest
/// when every rung is above it. `rungs` are lowest first.
fn pick(rungs: &[Rung], max_kbps: u32) -> Option<Rung> {
    if max_kbps == 0 {
        return rungs.last().copied();
    }
    rungs
        .iter()
        .rev()
        .find(|rung| rung.bitrate() / 1000 <= max_kbps)
        .or(rungs.first())
        .copied()
}

/// A whole number parameter; absent or empty is 0.
fn number(value: Option<&str>, name: &'static str) -> Result<u32, SubsonicError> {
    match value.map(str::trim) {
        None | Some("") => Ok(0),
        Some(text) => text.parse().map_err(|_| {
            SubsonicError::MissingParameter(format!("{name} must be a whole number").into())
        }),
    }
}

/// `timeOffset` in seconds (fractions accepted); `None` for absent or 0.
fn offset(value: Option<&str>) -> Result<Option<Duration>, SubsonicError> {
    let Some(text) = value.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let seconds: f64 = text
        .parse()
        .ok()
        .filter(|s: &f64| s.is_finite() && (0.0..=MAX_OFFSET_SECONDS).contains(s))
        .ok_or_else(|| {
            SubsonicError::MissingParameter("timeOffset must be a number of seconds".into())
        })?;
    Ok((seconds > 0.0).then(|| Duration::from_secs_f64(seconds)))
}

async fn download(ctx: &Ctx<'_>) -> Result<Reply, SubsonicError> {
    let id = track_id(ctx)?;
    let request = pb::GetTrackRequest {
        track_id: id.to_owned(),
    };
    let track = (ctx.state.catalog())
        .call(ctx.identity(), request, async |c, r| c.get_track(r).await)
        .await?
        .track
        .ok_or_else(not_found)?;
    let rungs = ctx.state.media().qualities(ctx.identity(), id).await?;
    let best = rungs.last().copied().ok_or_else(not_found)?;
    let media = ctx.state.media();
    let mut response =
        crate::media::audio::file(media, ctx.identity(), id, Quality(best), ctx.headers).await?;
    if let Ok(value) = HeaderValue::from_str(&disposition(&track)) {
        response.headers_mut().insert(CONTENT_DISPOSITION, value);
    }
    Ok(Reply::Binary(response))
}

/// `attachment` named "Artist - Title.opus": an ASCII `filename` for old clients and the
/// UTF-8 one (RFC 6266) for the others, both without path separators or quotes.
fn disposition(track: &pb::Track) -> String {
    let title = match track.artists.first() {
        Some(artist) if !artist.name.is_empty() => format!("{} - {}", artist.name, track.title),
        _ => track.title.clone(),
    };
    let mut name: String = title
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .take(MAX_NAME_CHARS)
        .collect();
    name = name.trim().trim_start_matches('.').to_owned();
    if name.is_empty() {
        name.clone_from(&track.id);
    }
    let name = format!("{name}.opus");
    let ascii: String = name
        .chars()
        .map(|c| if c.is_ascii() { c } else { '_' })
        .collect();
    format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        encode(&name)
    )
}

/// RFC 8187 encoding: `attr-char`s as they are, every other byte as `%XX`.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_bit_rate_picks_the_highest_rung_under_it_or_the_lowest() {
        let all = Rung::ALL;
        assert_eq!(pick(&all, 0), Some(Rung::VeryHigh));
        assert_eq!(pick(&all, 320), Some(Rung::VeryHigh));
        assert_eq!(pick(&all, 160), Some(Rung::VeryHigh));
        assert_eq!(pick(&all, 128), Some(Rung::High));
        assert_eq!(pick(&all, 64), Some(Rung::Normal));
        assert_eq!(pick(&all, 32), Some(Rung::Low));
        assert_eq!(
            pick(&all, 8),
            Some(Rung::Low),
            "below every rung: the lowest"
        );
        assert_eq!(pick(&[Rung::Normal, Rung::High], 32), Some(Rung::Normal));
        assert_eq!(pick(&[], 64), None);
    }

    #[test]
    fn offsets_are_seconds_and_numbers_are_checked() {
        assert_eq!(offset(None), Ok(None));
        assert_eq!(offset(Some("0")), Ok(None));
        assert_eq!(offset(Some("90")), Ok(Some(Duration::from_secs(90))));
        assert_eq!(offset(Some("1.5")), Ok(Some(Duration::from_millis(1500))));
        for bad in ["-1", "NaN", "inf", "x", "1e9"] {
            assert_eq!(offset(Some(bad)).map_err(|e| e.code()), Err(10), "{bad}");
        }
        assert_eq!(number(Some("128"), "maxBitRate"), Ok(128));
        assert_eq!(number(None, "maxBitRate"), Ok(0));
        assert!(number(Some("-5"), "maxBitRate").is_err());
    }

    #[test]
    fn download_names_are_safe_in_both_forms() {
        let track = pb::Track {
            id: "tr_1".into(),
            title: "Ünïcode / \"quoted\"\r\n".into(),
            artists: vec![pb::ArtistRef {
                id: "ar_1".into(),
                name: "AC/DC".into(),
            }],
            ..Default::default()
        };
        let value = disposition(&track);
        assert_eq!(
            value,
            "attachment; filename=\"AC_DC - _n_code _ _quoted___.opus\"; \
             filename*=UTF-8''AC_DC%20-%20%C3%9Cn%C3%AFcode%20_%20_quoted___.opus"
        );
        assert!(HeaderValue::from_str(&value).is_ok());
        let nameless = pb::Track {
            id: "tr_2".into(),
            title: "..".into(),
            ..Default::default()
        };
        assert!(disposition(&nameless).contains("filename=\"tr_2.opus\""));
    }
}

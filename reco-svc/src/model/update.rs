//! What one event writes: the plan is computed here from the event and the listener's
//! recent plays; the store applies it atomically, once per event id.

use tunemesh_proto::catalog::v1::Track;

use super::{Listen, ListenKind, ModelParams, ms, sequence};
use crate::store::{CLOCK, Listener, Op, SetKey, TrackInfo, Versioned, WriteBatch};

/// The writes of a listen, planned from `listener` as read just before.
///
/// A play adds to the track's popularity and the listener's taste, pairs the track with the
/// listener's plays within `session_gap` (the closer in time, the stronger), records it as
/// coming after the latest of them ([`sequence`]), marks it recently played and counts it in
/// the listening history ([`history`]). A skip subtracts from taste and marks the track
/// skipped; it is no part of the history.
pub fn plan_listen(listen: &Listen, listener: &Listener, params: &ModelParams) -> WriteBatch {
    let (user, track, at) = (&listen.user_id, &listen.track_id, listen.at_ms);
    let taste = SetKey::Taste(user.clone());
    let decay = |key: SetKey, member: &str, weight: f64, half_life| Op::Decay {
        key,
        member: member.to_owned(),
        weight,
        at_ms: at,
        half_life_ms: ms(half_life),
    };
    let mut ops = Vec::new();
    // event times in ms stay below 2^53
    let at_score = at as f64;
    match listen.kind {
        ListenKind::Play { weight } => {
            ops.push(decay(
                SetKey::Popularity,
                track,
                weight,
                params.popularity_half_life,
            ));
            ops.push(decay(taste.clone(), track, weight, params.taste_half_life));
            for (other, pair_weight) in session_partners(listen, listener, params) {
                ops.push(decay(
                    SetKey::Neighbours(track.clone()),
                    &other,
                    weight * pair_weight,
                    params.co_half_life,
                ));
                ops.push(decay(
                    SetKey::Neighbours(other.clone()),
                    track,
                    weight * pair_weight,
                    params.co_half_life,
                ));
                ops.push(Op::Trim {
                    key: SetKey::Neighbours(other),
                    keep: params.neighbours,
                });
            }
            ops.push(Op::Trim {
                key: SetKey::Neighbours(track.clone()),
                keep: params.neighbours,
            });
            ops.extend(sequence::plan_transitions(listen, listener, params, weight));
            let recent = SetKey::Recent(user.clone());
            ops.push(max(recent.clone(), track, at_score));
            ops.push(Op::Trim {
                key: recent,
                keep: params.recent_size,
            });
            ops.extend(history(user, track, at, params));
            ops.push(super::taste_changed(user));
        }
        ListenKind::Skip => {
            ops.push(decay(
                taste.clone(),
                track,
                -params.skip_weight,
                params.taste_half_life,
            ));
            let skips = SetKey::Skips(user.clone());
            ops.push(max(skips.clone(), track, at_score));
            ops.push(Op::Trim {
                key: skips,
                keep: params.recent_size,
            });
        }
    }
    ops.push(Op::Trim {
        key: taste,
        keep: params.taste_size,
    });
    ops.push(max(SetKey::Meta, CLOCK, at_score));
    WriteBatch {
        event_id: listen.event_id.clone(),
        guard: Some((Versioned::Listener(user.clone()), listener.version)),
        ops,
    }
}

/// The listening-history writes of a counted play of `track` by `user` at `at_ms`: one more
/// play in the listener's decayed play counts (bounded to `history_size` tracks) and in the
/// track's all-time count over every listener.
///
/// Only track ids are written: a play event names no album or artist, and the catalogue's
/// facts arrive on another stream, in any order relative to the plays. Albums and artists are
/// joined at read time from the catalogue facts ([`TrackInfo`]), so a replay that applies the
/// plays before the catalogue rebuilds the same answers.
pub fn history(user: &str, track: &str, at_ms: i64, params: &ModelParams) -> [Op; 3] {
    let plays = SetKey::Plays(user.to_owned());
    [
        Op::Decay {
            key: plays.clone(),
            member: track.to_owned(),
            weight: 1.0,
            at_ms,
            half_life_ms: ms(params.history_half_life),
        },
        Op::Trim {
            key: plays,
            keep: params.history_size,
        },
        Op::Count {
            key: SetKey::PlayCounts,
            member: track.to_owned(),
            delta: 1,
        },
    ]
}

/// Popularity a track gets when it enters the catalogue, in plays: enough to rank new tracks
/// for a listener of a catalogue nobody has played yet, far too little to outrank one real play.
pub const NEW_TRACK_WEIGHT: f64 = 0.01;

/// The writes of a catalogue event about `track` (the main artist is the one that counts). A
/// track just `added` also gets [`NEW_TRACK_WEIGHT`] of popularity at the time it was added.
pub fn plan_track(
    event_id: &str,
    track: &Track,
    added: bool,
    params: &ModelParams,
) -> Option<WriteBatch> {
    let artist = track.artists.first()?;
    if track.id.is_empty() || artist.id.is_empty() {
        return None;
    }
    let updated_ms = track.update_time.or(track.create_time).map_or(0, |t| {
        t.seconds.saturating_mul(1000) + i64::from(t.nanos / 1_000_000)
    });
    let mut ops = vec![Op::Track(TrackInfo {
        track_id: track.id.clone(),
        artist_id: artist.id.clone(),
        artist_name: artist.name.clone(),
        title: track.title.clone(),
        album_id: track
            .album
            .as_ref()
            .map(|a| a.id.clone())
            .unwrap_or_default(),
        updated_ms,
    })];
    // Without a time the share could not be placed on the decay clock: skip it.
    if added && updated_ms > 0 {
        ops.push(Op::Decay {
            key: SetKey::Popularity,
            member: track.id.clone(),
            weight: NEW_TRACK_WEIGHT,
            at_ms: updated_ms,
            half_life_ms: ms(params.popularity_half_life),
        });
    }
    Some(WriteBatch {
        event_id: event_id.to_owned(),
        guard: None,
        ops,
    })
}

/// The listener's other plays within the session gap of this one, closest first, at most
/// `max_pairs`, each with a weight falling from 1 (same instant) to 1/e (a whole gap away).
/// Pairs are symmetric in time, so events applied out of order find the same partners.
fn session_partners(
    listen: &Listen,
    listener: &Listener,
    params: &ModelParams,
) -> Vec<(String, f64)> {
    let gap = ms(params.session_gap);
    let mut partners: Vec<(String, i64)> = listener
        .recent
        .iter()
        .filter(|(track, at)| *track != listen.track_id && (at - listen.at_ms).abs() <= gap)
        .map(|(track, at)| (track.clone(), (at - listen.at_ms).abs()))
        .collect();
    partners.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    partners.truncate(params.max_pairs);
    partners
        .into_iter()
        .map(|(track, distance)| (track, (-(distance as f64) / gap as f64).exp()))
        .collect()
}

fn max(key: SetKey, member: &str, score: f64) -> Op {
    Op::Max {
        key,
        member: member.to_owned(),
        score,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn play(track: &str, at_ms: i64) -> Listen {
        Listen {
            event_id: format!("e-{track}-{at_ms}"),
            user_id: "u".into(),
            track_id: track.into(),
            at_ms,
            kind: ListenKind::Play { weight: 1.0 },
        }
    }

    /// The co-listening writes of a batch: (track, neighbour, weight).
    fn weighted_pairs(batch: &WriteBatch) -> Vec<(String, String, f64)> {
        batch
            .ops
            .iter()
            .filter_map(|op| match op {
                Op::Decay {
                    key: SetKey::Neighbours(of),
                    member,
                    weight,
                    ..
                } => Some((of.clone(), member.clone(), *weight)),
                _ => None,
            })
            .collect()
    }

    fn pairs(batch: &WriteBatch) -> Vec<(String, String)> {
        weighted_pairs(batch)
            .into_iter()
            .map(|(of, member, _)| (of, member))
            .collect()
    }

    #[test]
    fn a_new_track_gets_a_small_share_of_popularity_and_an_update_none() {
        let track = Track {
            id: "t1".to_owned(),
            title: "Song".to_owned(),
            artists: vec![tunemesh_proto::catalog::v1::ArtistRef {
                id: "a1".to_owned(),
                name: "Artist".to_owned(),
            }],
            create_time: Some(tunemesh_proto::prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            ..Track::default()
        };
        let params = ModelParams::default();
        let popularity = |batch: WriteBatch| -> Vec<f64> {
            batch
                .ops
                .into_iter()
                .filter_map(|op| match op {
                    Op::Decay {
                        key: SetKey::Popularity,
                        weight,
                        ..
                    } => Some(weight),
                    _ => None,
                })
                .collect()
        };
        let added = plan_track("e1", &track, true, &params).expect("a valid track");
        assert_eq!(popularity(added), vec![NEW_TRACK_WEIGHT]);
        let updated = plan_track("e2", &track, false, &params).expect("a valid track");
        assert!(popularity(updated).is_empty());
    }

    #[test]
    fn a_play_pairs_with_the_session_only() {
        let listener = Listener {
            version: 3,
            recent: vec![("a".into(), 100 * MIN), ("old".into(), 10 * MIN)],
        };
        let batch = plan_listen(&play("b", 110 * MIN), &listener, &ModelParams::default());
        assert_eq!(
            pairs(&batch),
            [("b".to_owned(), "a".to_owned()), ("a".into(), "b".into())]
        );
        assert_eq!(batch.guard, Some((Versioned::Listener("u".to_owned()), 3)));
    }

    #[test]
    fn closer_plays_pair_more_strongly_and_replays_do_not_pair_with_themselves() {
        let listener = Listener {
            version: 0,
            recent: vec![
                ("b".into(), 100 * MIN),
                ("near".into(), 99 * MIN),
                ("far".into(), 75 * MIN),
            ],
        };
        let batch = plan_listen(&play("b", 100 * MIN), &listener, &ModelParams::default());
        let weights: Vec<(String, f64)> = weighted_pairs(&batch)
            .into_iter()
            .filter(|(of, _, _)| of == "b")
            .map(|(_, member, weight)| (member, weight))
            .collect();
        assert_eq!(weights.len(), 2);
        assert_eq!(weights[0].0, "near");
        assert!(weights[0].1 > weights[1].1);
    }

    #[test]
    fn a_skip_counts_against_taste_and_pairs_with_nothing() {
        let listen = Listen {
            kind: ListenKind::Skip,
            ..play("b", MIN)
        };
        let listener = Listener {
            version: 0,
            recent: vec![("a".into(), MIN)],
        };
        let batch = plan_listen(&listen, &listener, &ModelParams::default());
        assert!(pairs(&batch).is_empty());
        assert!(batch.ops.iter().any(|op| matches!(
            op,
            Op::Decay { key: SetKey::Taste(_), weight, .. } if *weight < 0.0
        )));
        assert!(batch.ops.iter().any(|op| matches!(
            op,
            Op::Max { key: SetKey::Skips(_), member, .. } if member == "b"
        )));
    }

    /// The history writes of a batch: (set, member).
    fn history_writes(batch: &WriteBatch) -> Vec<(SetKey, String)> {
        batch
            .ops
            .iter()
            .filter_map(|op| match op {
                Op::Decay { key, member, .. } | Op::Count { key, member, .. }
                    if matches!(key, SetKey::Plays(_) | SetKey::PlayCounts) =>
                {
                    Some((key.clone(), member.clone()))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_play_is_history_and_a_skip_is_not() {
        let params = ModelParams::default();
        let played = plan_listen(&play("b", MIN), &Listener::default(), &params);
        assert_eq!(
            history_writes(&played),
            [
                (SetKey::Plays("u".to_owned()), "b".to_owned()),
                (SetKey::PlayCounts, "b".to_owned())
            ]
        );
        assert!(played.ops.iter().any(|op| matches!(
            op,
            Op::Trim { key: SetKey::Plays(_), keep } if *keep == params.history_size
        )));
        let skipped = Listen {
            kind: ListenKind::Skip,
            ..play("b", MIN)
        };
        let skipped = plan_listen(&skipped, &Listener::default(), &params);
        assert!(history_writes(&skipped).is_empty());
    }

    #[test]
    fn pairs_per_play_are_bounded() {
        let params = ModelParams {
            max_pairs: 3,
            ..ModelParams::default()
        };
        let listener = Listener {
            version: 0,
            recent: (0..50).map(|i| (format!("t{i}"), i * 1000)).collect(),
        };
        let batch = plan_listen(&play("x", 50_000), &listener, &params);
        assert_eq!(pairs(&batch).len(), 6);
    }
}

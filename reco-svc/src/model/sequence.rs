//! Sequences: what listeners play next. Each play is recorded as coming after the listener's
//! [`ModelParams::transition_window`] latest earlier plays of the same session (within
//! `session_gap`), the j-th latest (from 0) with weight `1 / (1 + j)`, in
//! [`SetKey::Next`] of each of them: decayed like co-listening, trimmed like it to
//! `neighbours`. `Recommend` reads the lists of the listener's latest plays, the latest
//! weighing most ([`follow_weights`]): after this, listeners played that.
//!
//! Co-listening is symmetric and blind to order; on next-item prediction the order is the
//! stronger signal (on MovieLens-100K, `BENCHMARKS.md`). Earlier means an earlier time, or
//! the same time applied before; a play delivered after later plays of its session follows
//! only the plays before it, so an out-of-order stream can record fewer transitions, never
//! wrong ones.

use super::{Listen, ModelParams, ms};
use crate::store::{Listener, Op, SetKey};

/// The plays `listen` comes after, each with its weight: the latest earlier plays of its
/// session, at most `transition_window`, nearest first.
pub fn predecessors(
    listen: &Listen,
    listener: &Listener,
    params: &ModelParams,
) -> Vec<(String, f64)> {
    let gap = ms(params.session_gap);
    let mut earlier: Vec<&(String, i64)> = listener
        .recent
        .iter()
        .filter(|(track, at)| {
            *track != listen.track_id && *at <= listen.at_ms && listen.at_ms - at <= gap
        })
        .collect();
    // The stores' order (time, then id, both descending), whichever order they gave.
    earlier.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
    earlier
        .into_iter()
        .take(params.transition_window)
        .enumerate()
        // positions are small
        .map(|(j, (track, _))| (track.clone(), 1.0 / (1.0 + j as f64)))
        .collect()
}

/// The writes recording that `listen` (a play of `weight`) came after its predecessors.
pub fn plan_transitions(
    listen: &Listen,
    listener: &Listener,
    params: &ModelParams,
    weight: f64,
) -> Vec<Op> {
    let mut ops = Vec::new();
    for (before, position) in predecessors(listen, listener, params) {
        let key = SetKey::Next(before);
        ops.push(Op::Decay {
            key: key.clone(),
            member: listen.track_id.clone(),
            weight: weight * position,
            at_ms: listen.at_ms,
            half_life_ms: ms(params.co_half_life),
        });
        ops.push(Op::Trim {
            key,
            keep: params.neighbours,
        });
    }
    ops
}

/// How much what followed each of the listener's latest plays counts in a recommendation:
/// `transition_mix / (1 + i)` for the i-th latest, over the latest `plays`.
pub fn follow_weights(
    recent_latest_first: &[String],
    plays: usize,
    params: &ModelParams,
) -> Vec<(String, f64)> {
    if params.transition_mix <= 0.0 || !params.transition_mix.is_finite() {
        return Vec::new();
    }
    recent_latest_first
        .iter()
        .take(plays)
        .enumerate()
        // positions are small
        .map(|(i, track)| (track.clone(), params.transition_mix / (1.0 + i as f64)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ListenKind;

    const MIN: i64 = 60_000;

    fn play(track: &str, at_ms: i64) -> Listen {
        Listen {
            event_id: format!("e-{track}"),
            user_id: "u".into(),
            track_id: track.into(),
            at_ms,
            kind: ListenKind::Play { weight: 1.0 },
        }
    }

    fn listener(recent: &[(&str, i64)]) -> Listener {
        Listener {
            version: 0,
            recent: recent
                .iter()
                .map(|(t, at)| ((*t).to_owned(), *at))
                .collect(),
        }
    }

    #[test]
    fn a_play_follows_the_latest_earlier_plays_of_its_session_nearest_strongest() {
        let params = ModelParams {
            transition_window: 2,
            ..ModelParams::default()
        };
        let before = listener(&[
            ("later", 101 * MIN),
            ("c", 99 * MIN),
            ("b", 98 * MIN),
            ("a", 97 * MIN),
            ("old", 10 * MIN),
        ]);
        let found = predecessors(&play("x", 100 * MIN), &before, &params);
        assert_eq!(found, [("c".to_owned(), 1.0), ("b".to_owned(), 0.5)]);
        let ops = plan_transitions(&play("x", 100 * MIN), &before, &params, 0.5);
        assert!(ops.contains(&Op::Decay {
            key: SetKey::Next("b".into()),
            member: "x".into(),
            weight: 0.25,
            at_ms: 100 * MIN,
            half_life_ms: ms(params.co_half_life),
        }));
    }

    #[test]
    fn nothing_follows_across_sessions_itself_or_with_transitions_off() {
        let before = listener(&[("x", 99 * MIN), ("old", 10 * MIN)]);
        let params = ModelParams::default();
        assert!(predecessors(&play("x", 100 * MIN), &before, &params).is_empty());
        let off = ModelParams {
            transition_window: 0,
            ..params
        };
        let near = listener(&[("a", 99 * MIN)]);
        assert!(plan_transitions(&play("x", 100 * MIN), &near, &off, 1.0).is_empty());
    }

    #[test]
    fn the_latest_play_steers_most() {
        let recent = vec!["now".to_owned(), "before".to_owned(), "long ago".to_owned()];
        let params = ModelParams {
            transition_mix: 4.0,
            ..ModelParams::default()
        };
        let weights = follow_weights(&recent, 2, &params);
        assert_eq!(
            weights,
            [("now".to_owned(), 4.0), ("before".to_owned(), 2.0)]
        );
        let off = ModelParams {
            transition_mix: 0.0,
            ..params
        };
        assert!(follow_weights(&recent, 2, &off).is_empty());
    }
}

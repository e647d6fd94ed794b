//! Ranking: candidate scores from the listener's seeds, their neighbours and popularity, then
//! a re-rank for variety across artists. Inputs are decayed values at the model clock.

use std::collections::{HashMap, HashSet};

/// Why a track is recommended; the service turns it into the contract's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Listened together with this track, which the listener played.
    BecauseYouPlayed(String),
    /// Listened together with this track by listeners in general.
    ListenersAlsoPlayed(String),
    /// Often in the same playlists as this track.
    InSamePlaylists(String),
    /// By this artist.
    SameArtist(String),
    /// Popular overall.
    Popular,
    /// The station's seed.
    RadioSeed(String),
}

/// A scored track.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The track.
    pub track_id: String,
    /// Its score (higher is better).
    pub score: f64,
    /// The reason that contributed most.
    pub reason: Reason,
}

/// Scores being summed per track, remembering each track's strongest reason.
#[derive(Debug, Default)]
pub struct Scores {
    by_track: HashMap<String, (f64, f64, Reason)>,
}

impl Scores {
    /// Adds `contribution` to `track` for `reason`.
    pub fn add(&mut self, track: &str, contribution: f64, reason: &Reason) {
        if !contribution.is_finite() || contribution == 0.0 {
            return;
        }
        match self.by_track.get_mut(track) {
            Some((score, best, best_reason)) => {
                *score += contribution;
                if contribution > *best {
                    *best = contribution;
                    *best_reason = reason.clone();
                }
            }
            None => {
                self.by_track.insert(
                    track.to_owned(),
                    (contribution, contribution, reason.clone()),
                );
            }
        }
    }

    /// Adds a list of weighted neighbours, each scaled by `weight` over the list's largest
    /// value, so seeds with many listeners do not drown the others.
    pub fn add_normalised(&mut self, entries: &[(String, f64)], weight: f64, reason: &Reason) {
        let top = entries.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
        if top <= 0.0 {
            return;
        }
        for (track, value) in entries {
            if *value > 0.0 {
                self.add(track, weight * value / top, reason);
            }
        }
    }

    /// Adds to tracks that are candidates already, each `weight` times its value over the
    /// list's largest, keeping their reasons: a nudge among candidates (the listener's own
    /// taste in a radio), never a way in for a track nothing else proposed.
    pub fn boost_present(&mut self, entries: &[(String, f64)], weight: f64) {
        let top = entries.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
        if top <= 0.0 || !weight.is_finite() {
            return;
        }
        for (track, value) in entries {
            if let Some((score, _, _)) = self.by_track.get_mut(track)
                && *score > 0.0
                && *value > 0.0
            {
                *score += weight * value / top;
            }
        }
    }

    /// The positive candidates not in `exclude`, best first (ties by id, for stable answers).
    pub fn into_candidates(self, exclude: &HashSet<&str>) -> Vec<Candidate> {
        let mut candidates: Vec<Candidate> = self
            .by_track
            .into_iter()
            .filter(|(track, (score, _, _))| *score > 0.0 && !exclude.contains(track.as_str()))
            .map(|(track_id, (score, _, reason))| Candidate {
                track_id,
                score,
                reason,
            })
            .collect();
        candidates.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.track_id.cmp(&b.track_id))
        });
        candidates
    }
}

/// A listener's seeds: taste tracks (signed, normalised to the strongest) plus a boost for
/// the latest plays (`session`: how many, and the latest one's boost; the i-th latest gets
/// it over `1 + i`), so the session in progress steers more than last week.
pub fn seeds(
    taste: &[(String, f64)],
    recent_latest_first: &[String],
    session: (usize, f64),
    limit: usize,
) -> Vec<(String, f64)> {
    let (session_seeds, session_boost) = session;
    let top = taste.iter().map(|(_, v)| v.abs()).fold(0.0_f64, f64::max);
    let mut weights: HashMap<&str, f64> = HashMap::new();
    if top > 0.0 {
        for (track, value) in taste {
            *weights.entry(track).or_default() += value / top;
        }
    }
    for (i, track) in recent_latest_first.iter().take(session_seeds).enumerate() {
        let boost = session_boost / (1.0 + i as f64);
        *weights.entry(track).or_default() += boost;
    }
    let mut seeds: Vec<(String, f64)> = weights
        .into_iter()
        .filter(|(_, w)| *w != 0.0)
        .map(|(t, w)| (t.to_owned(), w))
        .collect();
    seeds.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then_with(|| a.0.cmp(&b.0)));
    seeds.truncate(limit);
    seeds
}

/// Picks `n` candidates, best adjusted score first, where each earlier pick of the same
/// artist multiplies a candidate's score by `penalty` (MMR-style variety). Tracks with no
/// known artist count as their own artist.
pub fn diversify<'a>(
    mut candidates: Vec<Candidate>,
    artist_of: impl Fn(&str) -> Option<&'a str>,
    n: usize,
    penalty: f64,
) -> Vec<Candidate> {
    let mut picked: Vec<Candidate> = Vec::with_capacity(n.min(candidates.len()));
    let mut per_artist: HashMap<String, i32> = HashMap::new();
    while picked.len() < n && !candidates.is_empty() {
        let adjusted = |c: &Candidate| {
            let artist = artist_of(&c.track_id).unwrap_or(&c.track_id);
            c.score * penalty.powi(per_artist.get(artist).copied().unwrap_or(0))
        };
        // Candidates are sorted by raw score, which bounds the adjusted one: stop scanning
        // once no later candidate can beat the best found.
        let mut best = 0;
        let mut best_score = f64::NEG_INFINITY;
        for (i, candidate) in candidates.iter().enumerate() {
            if candidate.score <= best_score {
                break;
            }
            let score = adjusted(candidate);
            if score > best_score {
                (best, best_score) = (i, score);
            }
        }
        let chosen = candidates.remove(best);
        let artist = artist_of(&chosen.track_id).unwrap_or(&chosen.track_id);
        *per_artist.entry(artist.to_owned()).or_default() += 1;
        picked.push(chosen);
    }
    picked
}

/// Scales scores so the first (best) is 1, as the contract's `score` asks.
pub fn normalise(candidates: &mut [Candidate]) {
    let top = candidates.iter().map(|c| c.score).fold(0.0_f64, f64::max);
    for candidate in candidates.iter_mut() {
        candidate.score = if top > 0.0 {
            (candidate.score / top).clamp(0.0, 1.0)
        } else {
            0.0
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(list: &[(&str, f64)]) -> Vec<(String, f64)> {
        list.iter().map(|(t, v)| ((*t).to_owned(), *v)).collect()
    }

    #[test]
    fn contributions_sum_and_the_strongest_reason_wins() {
        let mut scores = Scores::default();
        let a = Reason::BecauseYouPlayed("a".into());
        let b = Reason::BecauseYouPlayed("b".into());
        scores.add_normalised(&entries(&[("x", 2.0), ("y", 1.0)]), 1.0, &a);
        scores.add_normalised(&entries(&[("y", 4.0)]), 2.0, &b);
        let ranked = scores.into_candidates(&HashSet::new());
        assert_eq!(ranked[0].track_id, "y");
        assert!((ranked[0].score - 2.5).abs() < 1e-12);
        assert_eq!(ranked[0].reason, b);
        assert_eq!(ranked[1].reason, a);
    }

    #[test]
    fn excluded_and_negative_candidates_are_dropped() {
        let mut scores = Scores::default();
        scores.add("played", 1.0, &Reason::Popular);
        scores.add("disliked", 1.0, &Reason::Popular);
        scores.add("disliked", -2.0, &Reason::Popular);
        scores.add("fresh", 0.5, &Reason::Popular);
        let ranked = scores.into_candidates(&HashSet::from(["played"]));
        let ids: Vec<&str> = ranked.iter().map(|c| c.track_id.as_str()).collect();
        assert_eq!(ids, ["fresh"]);
    }

    #[test]
    fn skipped_seeds_pull_down_and_the_session_steers() {
        let taste = entries(&[("liked", 2.0), ("skipped", -1.0)]);
        let recent = vec!["now".to_owned(), "liked".to_owned()];
        let seeds = seeds(&taste, &recent, (5, 1.0), 10);
        let weight = |t: &str| seeds.iter().find(|(s, _)| s == t).map(|(_, w)| *w);
        assert_eq!(weight("liked"), Some(1.5));
        assert_eq!(weight("skipped"), Some(-0.5));
        assert_eq!(weight("now"), Some(1.0));
    }

    #[test]
    fn variety_spreads_picks_across_artists() {
        let candidates: Vec<Candidate> = [("a1", 1.0), ("a2", 0.95), ("a3", 0.9), ("b1", 0.6)]
            .iter()
            .map(|(t, s)| Candidate {
                track_id: (*t).to_owned(),
                score: *s,
                reason: Reason::Popular,
            })
            .collect();
        let artist = |t: &str| Some(if t.starts_with('a') { "A" } else { "B" });
        let picked = diversify(candidates, artist, 3, 0.5);
        let ids: Vec<&str> = picked.iter().map(|c| c.track_id.as_str()).collect();
        assert_eq!(ids, ["a1", "b1", "a2"]);
    }

    #[test]
    fn a_boost_moves_candidates_up_but_brings_in_nothing() {
        let mut scores = Scores::default();
        let seed = Reason::ListenersAlsoPlayed("s".into());
        scores.add_normalised(&entries(&[("a", 1.0), ("b", 0.9)]), 1.0, &seed);
        scores.boost_present(&entries(&[("b", 2.0), ("elsewhere", 4.0)]), 0.5);
        let ranked = scores.into_candidates(&HashSet::new());
        let ids: Vec<&str> = ranked.iter().map(|c| c.track_id.as_str()).collect();
        assert_eq!(ids, ["b", "a"]);
        assert_eq!(ranked[0].reason, seed);
    }

    #[test]
    fn scores_are_scaled_to_one() {
        let mut list = vec![
            Candidate {
                track_id: "a".into(),
                score: 4.0,
                reason: Reason::Popular,
            },
            Candidate {
                track_id: "b".into(),
                score: 1.0,
                reason: Reason::Popular,
            },
        ];
        normalise(&mut list);
        assert_eq!(list[0].score, 1.0);
        assert_eq!(list[1].score, 0.25);
    }
}

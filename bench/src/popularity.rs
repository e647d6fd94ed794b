//! Which track each listener plays: round robin, or drawn from a Zipf curve (rank k played in
//! proportion to 1/k^s), the shape of real catalogues' play counts. The draw is a hash of the
//! listener's number, so every target of a run hears the same assignment.

/// Track choice for listeners.
#[derive(Debug, Clone)]
pub struct Popularity {
    tracks: usize,
    /// Cumulative shares by rank, when Zipf.
    cdf: Option<Vec<f64>>,
}

impl Popularity {
    /// Over `tracks` tracks; `zipf` is the exponent s, or round robin when `None`.
    pub fn new(tracks: usize, zipf: Option<f64>) -> Self {
        let cdf = zipf.map(|s| {
            let weights: Vec<f64> = (1..=tracks).map(|k| 1.0 / (k as f64).powf(s)).collect();
            let total: f64 = weights.iter().sum();
            let mut sum = 0.0;
            weights
                .iter()
                .map(|w| {
                    sum += w / total;
                    sum
                })
                .collect()
        });
        Self {
            tracks: tracks.max(1),
            cdf,
        }
    }

    /// The track (0-based rank) listener `i` plays.
    pub fn track(&self, i: usize) -> usize {
        match &self.cdf {
            None => i % self.tracks,
            Some(cdf) => cdf
                .partition_point(|&c| c < unit(i as u64))
                .min(self.tracks - 1),
        }
    }
}

/// A uniform number in [0, 1) from `i` (splitmix64): the same for the same `i`.
pub fn unit(i: u64) -> f64 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_and_zipf_shares() {
        let even = Popularity::new(4, None);
        assert_eq!(
            (0..8).map(|i| even.track(i)).collect::<Vec<_>>(),
            [0, 1, 2, 3, 0, 1, 2, 3]
        );

        let zipf = Popularity::new(16, Some(1.0));
        let mut plays = [0usize; 16];
        for i in 0..100_000 {
            plays[zipf.track(i)] += 1;
        }
        // Rank 1 takes 1/H(16) = 29.4 % of plays, rank 2 half of that, rank 16 1.8 %.
        let share = |k: usize| plays[k] as f64 / 100_000.0;
        assert!((share(0) - 0.294).abs() < 0.01, "{plays:?}");
        assert!((share(1) - 0.147).abs() < 0.01, "{plays:?}");
        assert!((share(15) - 0.018).abs() < 0.005, "{plays:?}");
    }
}

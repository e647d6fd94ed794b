//! Exponential time decay that needs no rewrite as time passes ("forward decay").
//!
//! A weight `w` added at time `t` to a key with landmark `L` is stored as `w · 2^((t−L)/h)`;
//! the key's value at any time `now` is the stored sum times `2^((L−now)/h)`. Every member
//! of a key shares `L` and `h`, so ranking by the stored number ranks by the decayed value at
//! any time, a sorted set answers "top N" directly, and adding events in any order gives the
//! same sum. When an exponent grows past [`REBASE_EXPONENT`] the key is rescaled onto a newer
//! landmark (both stores do it identically), long before `f64` could overflow.

/// Exponent past which a key moves its landmark forward (2^256 is far from f64's 2^1023).
pub const REBASE_EXPONENT: f64 = 256.0;

/// `2^((at − landmark) / half_life)`: what a unit weight at `at` is stored as.
pub fn growth(at_ms: i64, landmark_ms: i64, half_life_ms: i64) -> f64 {
    // millisecond differences stay far below 2^53
    let exponent = (at_ms - landmark_ms) as f64 / half_life_ms.max(1) as f64;
    // `powf` (C `pow`) rather than `exp2`, so Lua's `2^x` in Redis computes the same bits.
    2f64.powf(exponent)
}

/// The value at `now_ms` of a sum stored against `landmark_ms`.
pub fn value_at(stored: f64, landmark_ms: i64, now_ms: i64, half_life_ms: i64) -> f64 {
    stored * growth(landmark_ms, now_ms, half_life_ms)
}

/// True when a weight at `at_ms` would be stored with an exponent past [`REBASE_EXPONENT`].
pub fn needs_rebase(at_ms: i64, landmark_ms: i64, half_life_ms: i64) -> bool {
    let exponent = (at_ms - landmark_ms) as f64 / half_life_ms.max(1) as f64;
    exponent > REBASE_EXPONENT
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    #[test]
    fn a_weight_halves_every_half_life() {
        let stored = growth(0, 0, DAY);
        assert!((value_at(stored, 0, DAY, DAY) - 0.5).abs() < 1e-12);
        assert!((value_at(stored, 0, 3 * DAY, DAY) - 0.125).abs() < 1e-12);
    }

    #[test]
    fn the_landmark_does_not_change_the_value() {
        let at = 10 * DAY;
        let a = value_at(growth(at, 0, DAY), 0, 12 * DAY, DAY);
        let b = value_at(growth(at, 9 * DAY, DAY), 9 * DAY, 12 * DAY, DAY);
        assert!((a - b).abs() < 1e-12);
        assert!((a - 0.25).abs() < 1e-12);
    }

    #[test]
    fn newer_events_outrank_older_equal_ones_forever() {
        let (old, new) = (growth(DAY, 0, DAY), growth(2 * DAY, 0, DAY));
        assert!(new > old);
        assert!(needs_rebase(300 * DAY, 0, DAY));
        assert!(!needs_rebase(200 * DAY, 0, DAY));
    }
}

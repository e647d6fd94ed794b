//! Retry pacing and error formatting shared by the relay and the consumer loop.

use std::time::Duration;

use rand::Rng as _;

/// The delay before retry number `failures` (1-based), between half and all of the capped
/// exponential value.
pub(crate) fn backoff(min: Duration, max: Duration, failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(16);
    let capped = min.saturating_mul(1 << exponent).min(max);
    let half = capped / 2;
    half + half.mul_f64(rand::rng().random::<f64>())
}

/// An error and its causes on one line, for logs.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let (min, max) = (Duration::from_millis(100), Duration::from_secs(1));
        for _ in 0..100 {
            let first = backoff(min, max, 1);
            assert!(first >= min / 2 && first <= min, "{first:?}");
            let late = backoff(min, max, 30);
            assert!(late >= max / 2 && late <= max, "{late:?}");
        }
    }
}

//! The quality ladder, once: each rung's word (`low` … `very_high`, in URLs, JSON, settings and
//! stored manifests), its contract value ([`AudioQuality`]) and its Opus bitrate. player-svc
//! encodes and serves with it and the gateway names it to clients, so the two cannot disagree.

use crate::catalog::v1::AudioQuality;

/// One rung of the Opus ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Quality {
    /// 24 kbit/s: mobile data savers.
    Low,
    /// 64 kbit/s: the default.
    Normal,
    /// 96 kbit/s.
    High,
    /// 160 kbit/s: premium.
    VeryHigh,
}

impl Quality {
    /// Every quality, lowest first.
    pub const ALL: [Quality; 4] = [
        Quality::Low,
        Quality::Normal,
        Quality::High,
        Quality::VeryHigh,
    ];

    /// Every quality's word (as in [`Quality::as_str`]), lowest first.
    pub const WORDS: [&'static str; 4] = {
        let mut words = [""; 4];
        let mut i = 0;
        while i < words.len() {
            words[i] = Self::ALL[i].as_str();
            i += 1;
        }
        words
    };

    /// Target bitrate in bits per second.
    pub const fn bitrate(self) -> u32 {
        match self {
            Quality::Low => 24_000,
            Quality::Normal => 64_000,
            Quality::High => 96_000,
            Quality::VeryHigh => 160_000,
        }
    }

    /// The stable lowercase word for storage keys, URLs and JSON (`low`, `normal`, `high`,
    /// `very_high`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Quality::Low => "low",
            Quality::Normal => "normal",
            Quality::High => "high",
            Quality::VeryHigh => "very_high",
        }
    }

    /// The quality named `word` (as in [`Quality::as_str`]); `None` for any other word.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|q| q.as_str() == word)
    }

    /// The contract's value of this rung.
    pub const fn to_proto(self) -> AudioQuality {
        match self {
            Quality::Low => AudioQuality::Low,
            Quality::Normal => AudioQuality::Normal,
            Quality::High => AudioQuality::High,
            Quality::VeryHigh => AudioQuality::VeryHigh,
        }
    }

    /// The rung a contract value names; `None` for unspecified and unknown values.
    pub fn from_proto(raw: i32) -> Option<Self> {
        match AudioQuality::try_from(raw).ok()? {
            AudioQuality::Unspecified => None,
            AudioQuality::Low => Some(Quality::Low),
            AudioQuality::Normal => Some(Quality::Normal),
            AudioQuality::High => Some(Quality::High),
            AudioQuality::VeryHigh => Some(Quality::VeryHigh),
        }
    }

    /// The rung a request asks for: unspecified means [`Quality::Normal`] (as the contract
    /// says); unknown values are `None`, to be refused.
    pub fn from_request(raw: i32) -> Option<Self> {
        if raw == AudioQuality::Unspecified as i32 {
            return Some(Quality::Normal);
        }
        Self::from_proto(raw)
    }
}

impl std::fmt::Display for Quality {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rung_round_trips_through_its_word_and_its_contract_value() {
        for q in Quality::ALL {
            assert_eq!(Quality::parse(q.as_str()), Some(q));
            assert_eq!(Quality::from_proto(q.to_proto() as i32), Some(q));
            assert_eq!(Quality::from_request(q.to_proto() as i32), Some(q));
            assert_eq!(q.to_string(), q.as_str());
        }
        assert_eq!(Quality::WORDS, ["low", "normal", "high", "very_high"]);
    }

    #[test]
    fn the_ladder_climbs_in_bitrate() {
        let rates: Vec<u32> = Quality::ALL.into_iter().map(Quality::bitrate).collect();
        assert!(rates.windows(2).all(|w| w[0] < w[1]), "{rates:?}");
    }

    #[test]
    fn unspecified_requests_mean_normal_and_unknown_values_nothing() {
        assert_eq!(Quality::from_request(0), Some(Quality::Normal));
        assert_eq!(Quality::from_proto(0), None);
        assert_eq!(Quality::from_request(99), None);
        assert_eq!(Quality::from_proto(-1), None);
        assert_eq!(Quality::parse("Very_High"), None);
        assert_eq!(Quality::parse(""), None);
    }
}

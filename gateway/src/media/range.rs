//! HTTP Range requests (RFC 9110 §14) over a resource of known size: which bytes to send.

/// What to answer for a `Range` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeAnswer {
    /// 200 with the whole resource: no range, an unparseable one, or several (serving the
    /// whole file once beats building a multipart body that `<audio>` never asks for).
    Full,
    /// 206 with bytes `start..=end`.
    Partial {
        /// First byte.
        start: u64,
        /// Last byte, inclusive.
        end: u64,
    },
    /// 416: no byte of the range exists.
    Unsatisfiable,
}

/// Longest `Range` header looked at; a longer one is ignored (served as a full response).
const MAX_HEADER: usize = 256;

/// The answer to `header` (the `Range` value) for a resource of `size` bytes.
pub fn resolve(header: Option<&str>, size: u64) -> RangeAnswer {
    let Some(spec) = header
        .filter(|h| h.len() <= MAX_HEADER)
        .and_then(|h| h.trim().strip_prefix("bytes="))
    else {
        return RangeAnswer::Full;
    };
    if spec.contains(',') {
        return RangeAnswer::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeAnswer::Full;
    };
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // bytes=-N: the last N bytes.
        return match number(last) {
            None => RangeAnswer::Full,
            Some(0) => RangeAnswer::Unsatisfiable,
            Some(_) if size == 0 => RangeAnswer::Unsatisfiable,
            Some(suffix) => RangeAnswer::Partial {
                start: size.saturating_sub(suffix),
                end: size - 1,
            },
        };
    }
    let Some(start) = number(first) else {
        return RangeAnswer::Full;
    };
    // bytes=A- is open; in bytes=A-B, a B past the end is shortened to the end.
    let end = match (last.is_empty(), number(last)) {
        (true, _) => None,
        (false, Some(end)) if end >= start => Some(end),
        (false, _) => return RangeAnswer::Full,
    };
    if start >= size {
        return RangeAnswer::Unsatisfiable;
    }
    RangeAnswer::Partial {
        start,
        end: end.map_or(size - 1, |end| end.min(size - 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::RangeAnswer::{Full, Partial, Unsatisfiable};
    use super::*;

    #[test]
    fn single_ranges_resolve_against_the_size() {
        assert_eq!(
            resolve(Some("bytes=0-99"), 1000),
            Partial { start: 0, end: 99 }
        );
        assert_eq!(
            resolve(Some("bytes=900-"), 1000),
            Partial {
                start: 900,
                end: 999
            }
        );
        assert_eq!(
            resolve(Some("bytes=900-5000"), 1000),
            Partial {
                start: 900,
                end: 999
            }
        );
        assert_eq!(
            resolve(Some("bytes=-100"), 1000),
            Partial {
                start: 900,
                end: 999
            }
        );
        assert_eq!(
            resolve(Some("bytes=-5000"), 1000),
            Partial { start: 0, end: 999 }
        );
    }

    #[test]
    fn ranges_outside_the_resource_are_unsatisfiable() {
        assert_eq!(resolve(Some("bytes=1000-"), 1000), Unsatisfiable);
        assert_eq!(resolve(Some("bytes=1000-2000"), 1000), Unsatisfiable);
        assert_eq!(resolve(Some("bytes=-0"), 1000), Unsatisfiable);
        assert_eq!(resolve(Some("bytes=0-"), 0), Unsatisfiable);
    }

    #[test]
    fn absent_malformed_and_multiple_ranges_get_the_whole_resource() {
        for header in [
            None,
            Some("bytes=5-1"),
            Some("bytes=a-b"),
            Some("bytes=-"),
            Some("items=0-1"),
            Some("bytes=0-1,5-9"),
            Some("bytes=+1-2"),
        ] {
            assert_eq!(resolve(header, 1000), Full, "{header:?}");
        }
        let huge = format!("bytes={}", "0".repeat(300));
        assert_eq!(resolve(Some(&huge), 1000), Full);
    }
}

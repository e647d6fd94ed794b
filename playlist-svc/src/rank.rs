//! Lexicographic ranks (fractional indexing) that order a playlist's items.
//!
//! An item's position is the number of items whose rank sorts before its own (byte order,
//! `COLLATE "C"` in PostgreSQL). Inserting or moving writes new ranks only for the items that
//! move, so concurrent edits never renumber the rest of the playlist.
//!
//! A key is an "integer" part, whose first character encodes its length (`a`..`z` for
//! 2..27 characters, `A`..`Z` for negative ones), then an optional fraction that never ends
//! in `0`. Appending increments the integer, so a playlist of 10,000 appended items still
//! has 4-character ranks; inserting between two neighbours grows the fraction instead.
//! This is the algorithm of `rocicorp/fractional-indexing`, base 62.

/// The digits, in ASCII (hence byte) order.
const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BASE: usize = DIGITS.len();
/// The key of the first item ever placed.
const ZERO: &str = "a0";

/// A rank that is not a valid key, or bounds in the wrong order: a bug or corrupt data.
#[derive(Debug, thiserror::Error)]
#[error("invalid rank bounds {low:?}..{high:?}")]
pub(crate) struct RankError {
    low: Option<String>,
    high: Option<String>,
}

fn digit(c: u8) -> Option<usize> {
    DIGITS.iter().position(|&d| d == c)
}

/// Length of the integer part announced by its head character.
fn integer_len(head: u8) -> Option<usize> {
    match head {
        b'a'..=b'z' => Some(usize::from(head - b'a') + 2),
        b'A'..=b'Z' => Some(usize::from(b'Z' - head) + 2),
        _ => None,
    }
}

fn integer_part(key: &str) -> Option<&str> {
    let len = integer_len(*key.as_bytes().first()?)?;
    key.get(..len)
}

/// The string between `a` and `b` (digits only, no trailing `0`); `b = None` is "1.0".
fn midpoint(a: &[u8], b: Option<&[u8]>) -> Option<Vec<u8>> {
    if let Some(b) = b {
        let mut n = 0;
        while n < b.len() && a.get(n).copied().unwrap_or(b'0') == b[n] {
            n += 1;
        }
        if n > 0 {
            let mut out = b[..n].to_vec();
            out.extend(midpoint(a.get(n..).unwrap_or_default(), Some(&b[n..]))?);
            return Some(out);
        }
    }
    let digit_a = match a.first() {
        Some(&c) => digit(c)?,
        None => 0,
    };
    let digit_b = match b {
        Some(b) => digit(*b.first()?)?,
        None => BASE,
    };
    if digit_b <= digit_a {
        return None;
    }
    if digit_b - digit_a > 1 {
        return Some(vec![DIGITS[(digit_a + digit_b).div_ceil(2)]]);
    }
    match b {
        Some(b) if b.len() > 1 => Some(b[..1].to_vec()),
        _ => {
            let mut out = vec![DIGITS[digit_a]];
            out.extend(midpoint(a.get(1..).unwrap_or_default(), None)?);
            Some(out)
        }
    }
}

/// The next integer, or `None` past the largest one.
fn increment(int: &str) -> Option<String> {
    let (&head, digits) = int.as_bytes().split_first()?;
    let mut digits = digits.to_vec();
    for d in digits.iter_mut().rev() {
        let next = digit(*d)? + 1;
        if next < BASE {
            *d = DIGITS[next];
            return String::from_utf8(std::iter::once(head).chain(digits).collect()).ok();
        }
        *d = b'0';
    }
    let head = match head {
        b'Z' => return Some(ZERO.to_owned()),
        b'z' => return None,
        h => h + 1,
    };
    if head > b'a' {
        digits.push(b'0');
    } else {
        digits.pop();
    }
    String::from_utf8(std::iter::once(head).chain(digits).collect()).ok()
}

/// The previous integer, or `None` below the smallest one.
fn decrement(int: &str) -> Option<String> {
    let (&head, digits) = int.as_bytes().split_first()?;
    let mut digits = digits.to_vec();
    let last = DIGITS[BASE - 1];
    for d in digits.iter_mut().rev() {
        match digit(*d)? {
            0 => *d = last,
            n => {
                *d = DIGITS[n - 1];
                return String::from_utf8(std::iter::once(head).chain(digits).collect()).ok();
            }
        }
    }
    let head = match head {
        b'a' => return Some(format!("Z{}", char::from(last))),
        b'A' => return None,
        h => h - 1,
    };
    if head < b'Z' {
        digits.push(last);
    } else {
        digits.pop();
    }
    String::from_utf8(std::iter::once(head).chain(digits).collect()).ok()
}

/// A key strictly between `low` and `high` (`None`: unbounded on that side).
pub(crate) fn between(low: Option<&str>, high: Option<&str>) -> Result<String, RankError> {
    let error = || RankError {
        low: low.map(str::to_owned),
        high: high.map(str::to_owned),
    };
    inner_between(low, high).ok_or_else(error)
}

fn inner_between(low: Option<&str>, high: Option<&str>) -> Option<String> {
    let with_fraction = |int: &str, frac: Vec<u8>| {
        let mut key = int.as_bytes().to_vec();
        key.extend(frac);
        String::from_utf8(key).ok()
    };
    match (low, high) {
        (None, None) => Some(ZERO.to_owned()),
        (None, Some(b)) => {
            let int = integer_part(b)?;
            let frac = &b.as_bytes()[int.len()..];
            if int.starts_with('A') && int[1..].bytes().all(|c| c == b'0') {
                return with_fraction(int, midpoint(b"", Some(frac))?);
            }
            if int.len() < b.len() {
                return Some(int.to_owned());
            }
            decrement(int)
        }
        (Some(a), None) => {
            let int = integer_part(a)?;
            let frac = &a.as_bytes()[int.len()..];
            match increment(int) {
                Some(next) => Some(next),
                None => with_fraction(int, midpoint(frac, None)?),
            }
        }
        (Some(a), Some(b)) => {
            if a >= b {
                return None;
            }
            let (int_a, int_b) = (integer_part(a)?, integer_part(b)?);
            let (frac_a, frac_b) = (&a.as_bytes()[int_a.len()..], &b.as_bytes()[int_b.len()..]);
            if int_a == int_b {
                return with_fraction(int_a, midpoint(frac_a, Some(frac_b))?);
            }
            let next = increment(int_a)?;
            if next.as_str() < b {
                return Some(next);
            }
            with_fraction(int_a, midpoint(frac_a, None)?)
        }
    }
}

/// `n` ascending keys strictly between `low` and `high`, spread so none gets needlessly long.
pub(crate) fn n_between(
    low: Option<&str>,
    high: Option<&str>,
    n: usize,
) -> Result<Vec<String>, RankError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if high.is_none() {
        // Appending: successive increments keep keys short.
        let mut keys = Vec::with_capacity(n);
        let mut last = between(low, None)?;
        keys.push(last.clone());
        for _ in 1..n {
            last = between(Some(&last), None)?;
            keys.push(last.clone());
        }
        return Ok(keys);
    }
    if low.is_none() {
        let mut keys = Vec::with_capacity(n);
        let mut first = between(None, high)?;
        keys.push(first.clone());
        for _ in 1..n {
            first = between(None, Some(&first))?;
            keys.push(first.clone());
        }
        keys.reverse();
        return Ok(keys);
    }
    let mid = n / 2;
    let pivot = between(low, high)?;
    let mut keys = n_between(low, Some(&pivot), mid)?;
    keys.push(pivot.clone());
    keys.extend(n_between(Some(&pivot), high, n - mid - 1)?);
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_stay_short_and_ordered() -> Result<(), RankError> {
        let keys = n_between(None, None, 10_000)?;
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        assert!(keys.iter().all(|k| k.len() <= 4), "{:?}", keys.last());
        Ok(())
    }

    #[test]
    fn inserting_between_neighbours_keeps_order() -> Result<(), RankError> {
        let (mut low, high) = ("a0".to_owned(), "a1".to_owned());
        for _ in 0..200 {
            let key = between(Some(&low), Some(&high))?;
            assert!(low < key && key < high, "{low} < {key} < {high}");
            low = key;
        }
        let mut high = "a0".to_owned();
        for _ in 0..200 {
            let key = between(None, Some(&high))?;
            assert!(key < high);
            high = key;
        }
        Ok(())
    }

    #[test]
    fn many_keys_fit_between_two() -> Result<(), RankError> {
        let keys = n_between(Some("a0"), Some("a1"), 100)?;
        assert_eq!(keys.len(), 100);
        assert!("a0" < keys[0].as_str() && keys[99].as_str() < "a1");
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        Ok(())
    }

    #[test]
    fn bad_bounds_are_errors_not_panics() {
        assert!(between(Some("a1"), Some("a0")).is_err());
        assert!(between(Some("!!"), None).is_err());
        assert!(between(Some(""), Some("")).is_err());
    }
}

//! Request checks shared by the RPCs, with messages a person can act on, and opaque page
//! tokens.

use crate::error::PlaylistError;
use crate::model::{MAX_BATCH, MAX_DESCRIPTION_CHARS, MAX_ID_LEN, MAX_NAME_CHARS};

/// An id (playlist, item, track, user, image): 1 to 64 printable ASCII characters.
pub fn id(field: &str, value: &str) -> Result<(), PlaylistError> {
    if value.is_empty() {
        return Err(PlaylistError::invalid(format!("{field} is required")));
    }
    // The mesh-wide rule: printable ascii, and nothing that could climb a path.
    if value.len() > MAX_ID_LEN || !tunemesh_runtime::ids::is_valid(value) {
        return Err(PlaylistError::invalid(format!(
            "{field} {}",
            tunemesh_runtime::ids::RULE
        )));
    }
    Ok(())
}

/// A name: 1 to 100 characters, not only whitespace.
pub fn name(value: &str) -> Result<(), PlaylistError> {
    if value.trim().is_empty() {
        return Err(PlaylistError::invalid("name must not be empty"));
    }
    let chars = value.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(PlaylistError::invalid(format!(
            "name is {chars} characters long; at most {MAX_NAME_CHARS} are allowed"
        )));
    }
    Ok(())
}

/// A description: at most 300 characters.
pub fn description(value: &str) -> Result<(), PlaylistError> {
    let chars = value.chars().count();
    if chars > MAX_DESCRIPTION_CHARS {
        return Err(PlaylistError::invalid(format!(
            "description is {chars} characters long; at most {MAX_DESCRIPTION_CHARS} are allowed"
        )));
    }
    Ok(())
}

/// A list of ids: `min` to 100, each valid.
pub fn ids(field: &str, values: &[String], min: usize) -> Result<(), PlaylistError> {
    if values.len() < min {
        return Err(PlaylistError::invalid(format!(
            "{field} must name at least {min}"
        )));
    }
    if values.len() > MAX_BATCH {
        return Err(PlaylistError::invalid(format!(
            "{field} names {} ids; at most {MAX_BATCH} are allowed per request",
            values.len()
        )));
    }
    values.iter().try_for_each(|value| id(field, value))
}

/// The ids without repeats, first occurrence kept.
pub fn distinct(values: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    values
        .iter()
        .filter(|v| seen.insert(v.as_str()))
        .cloned()
        .collect()
}

/// `page_size`: 0 → `default`, above `max` → `max`, negative → INVALID_ARGUMENT.
pub fn page_size(value: i32, default: u32, max: u32) -> Result<u32, PlaylistError> {
    match u32::try_from(value) {
        Err(_) => Err(PlaylistError::invalid(format!(
            "page_size must not be negative, got {value}"
        ))),
        Ok(0) => Ok(default),
        Ok(size) => Ok(size.min(max)),
    }
}

/// Encodes token fields (`kind`, then values) as opaque hex.
pub fn encode_token(kind: &str, fields: &[&str]) -> String {
    let text = std::iter::once(kind)
        .chain(fields.iter().copied())
        .collect::<Vec<_>>()
        .join("\n");
    hex::encode(text)
}

/// Decodes a token of `kind` into its `n` fields; anything else is INVALID_ARGUMENT.
pub fn decode_token(kind: &str, token: &str, n: usize) -> Result<Vec<String>, PlaylistError> {
    let invalid = || {
        PlaylistError::invalid(
            "page_token was not issued for this request; start again with an empty page_token",
        )
    };
    if token.len() > 1024 {
        return Err(invalid());
    }
    let bytes = hex::decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    // Fields become SQL parameters, and PostgreSQL text cannot hold NUL: a token with one was
    // never issued, and would fail the query (an internal error) instead of being refused.
    if text.contains('\0') {
        return Err(invalid());
    }
    let mut fields = text.split('\n').map(str::to_owned);
    if fields.next().as_deref() != Some(kind) {
        return Err(invalid());
    }
    let fields: Vec<String> = fields.collect();
    if fields.len() != n {
        return Err(invalid());
    }
    Ok(fields)
}

/// Parses a numeric token field.
pub fn token_number<T: std::str::FromStr>(field: &str) -> Result<T, PlaylistError> {
    field.parse().map_err(|_| {
        PlaylistError::invalid(
            "page_token was not issued for this request; start again with an empty page_token",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_others() -> Result<(), PlaylistError> {
        let token = encode_token("g1", &["7", "100", "p1"]);
        assert_eq!(decode_token("g1", &token, 3)?, ["7", "100", "p1"]);
        assert!(decode_token("l1", &token, 3).is_err());
        assert!(decode_token("g1", "zz", 3).is_err());
        assert!(decode_token("g1", "abc", 3).is_err());
        // Found by the page_token_playlist fuzz target: a NUL reached the SQL parameters.
        let nul = encode_token("c1", &["5", "it\0em"]);
        assert!(decode_token("c1", &nul, 2).is_err());
        // Found by the same target: `u8::from_str_radix` takes a sign, so "+A+3" decoded as
        // "0a03"; only hex digits are hex.
        assert!(decode_token("", "+A+3", 1).is_err());
        assert_eq!(decode_token("", "0A03", 1)?, ["\u{3}"]);
        assert_eq!(
            decode_token("g1", &token.to_ascii_uppercase(), 3)?,
            ["7", "100", "p1"]
        );
        Ok(())
    }

    #[test]
    fn names_are_counted_in_characters() {
        assert!(name(&"é".repeat(100)).is_ok());
        assert!(name(&"é".repeat(101)).is_err());
        assert!(name("   ").is_err());
    }
}

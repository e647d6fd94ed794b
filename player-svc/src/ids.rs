//! Stable ids: derived from what identifies a thing, so re-ingesting the same library gives
//! the same ids, and short enough for the contract's 64-character limit.

use sha2::{Digest, Sha256};

/// Case, surrounding and repeated whitespace do not make a different artist or album.
pub fn normalise(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn digest(prefix: &str, parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        // A separator that cannot occur in text keeps ("ab", "c") apart from ("a", "bc").
        hash.update([0u8]);
    }
    format!("{prefix}_{}", hex::encode(&hash.finalize()[..12]))
}

/// The id of an artist named `name`.
pub fn artist_id(name: &str) -> String {
    digest("ar", &[&normalise(name)])
}

/// The id of the album `title` by `album_artist`.
pub fn album_id(album_artist: &str, title: &str) -> String {
    digest("al", &[&normalise(album_artist), &normalise(title)])
}

/// The id of the track ingested from `source`.
pub fn track_id(source: &str) -> String {
    digest("tr", &[source])
}

/// `The Beatles` sorts as `Beatles, The`.
pub fn sort_name(name: &str) -> String {
    for article in ["The ", "A ", "An "] {
        if let Some(rest) = name.strip_prefix(article)
            && !rest.trim().is_empty()
        {
            return format!("{}, {}", rest.trim(), article.trim());
        }
    }
    name.to_owned()
}

/// Accepts an id from a request: the mesh-wide rule ([`tunemesh_runtime::ids`]), so `..` or
/// a `/` never reaches a store key or a blob path.
pub fn valid(id: &str) -> bool {
    tunemesh_runtime::ids::is_valid(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_differ_only_in_case_and_spacing_share_an_id() {
        assert_eq!(artist_id("Singularity "), artist_id("singularity"));
        assert_eq!(album_id("A  B", "X"), album_id("a b", "x"));
        assert_ne!(album_id("ab", "c"), album_id("a", "bc"));
        assert!(valid(&track_id("file:/x")) && track_id("file:/x").len() < 64);
    }

    #[test]
    fn leading_articles_move_to_the_end() {
        assert_eq!(sort_name("The Beatles"), "Beatles, The");
        assert_eq!(sort_name("Theatre"), "Theatre");
        assert_eq!(sort_name("The "), "The ");
    }
}

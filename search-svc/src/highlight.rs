//! Highlights: which parts of a result's titles, names and description the query matched, as
//! code-point ranges (the contract's unit, so every client language slices the same way).
//!
//! Computed from the stored text with the index's own term rules, so `acdc` highlights all
//! of `AC/DC` and `beyonce` highlights `Beyoncé`.

use tunemesh_proto::search::v1::{
    Highlight, HighlightField, SearchResult, TextRange, search_result,
};

use crate::query::{ParsedQuery, is_match};
use crate::text;

/// Fills `result.highlights` for `parsed`.
pub fn highlight(result: &mut SearchResult, parsed: &ParsedQuery) {
    let mut texts: Vec<(HighlightField, &str)> = Vec::new();
    match &result.item {
        Some(search_result::Item::Track(track)) => {
            texts.push((HighlightField::TrackTitle, &track.title));
            for artist in &track.artists {
                texts.push((HighlightField::ArtistName, &artist.name));
            }
            if let Some(album) = &track.album {
                texts.push((HighlightField::AlbumTitle, &album.title));
            }
        }
        Some(search_result::Item::Album(album)) => {
            texts.push((HighlightField::AlbumTitle, &album.title));
            for artist in &album.artists {
                texts.push((HighlightField::ArtistName, &artist.name));
            }
        }
        Some(search_result::Item::Artist(artist)) => {
            texts.push((HighlightField::ArtistName, &artist.name));
        }
        Some(search_result::Item::Playlist(playlist)) => {
            texts.push((HighlightField::PlaylistName, &playlist.name));
            texts.push((HighlightField::PlaylistDescription, &playlist.description));
        }
        None => {}
    }
    let highlights = texts
        .into_iter()
        .filter_map(|(field, text)| {
            let ranges = matched_ranges(text, parsed);
            (!ranges.is_empty()).then(|| Highlight {
                field: field.into(),
                text: text.to_owned(),
                ranges,
            })
        })
        .collect();
    result.highlights = highlights;
}

/// The merged code-point ranges of `text`'s terms that some query word matches.
pub fn matched_ranges(text: &str, parsed: &ParsedQuery) -> Vec<TextRange> {
    let mut spans: Vec<(usize, usize)> = text::terms(text)
        .into_iter()
        .filter(|term| (0..parsed.words.len()).any(|i| is_match(parsed, i, &term.text)))
        .map(|term| (term.start, term.end))
        .collect();
    spans.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (start, end) in spans {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
        .into_iter()
        .map(|(start, end)| TextRange {
            start: code_points(&text[..start]),
            end: code_points(&text[..end]),
        })
        .collect()
}

fn code_points(text: &str) -> u32 {
    u32::try_from(text.chars().count()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(text: &str, query: &str) -> Vec<(u32, u32)> {
        matched_ranges(text, &ParsedQuery::parse(query))
            .into_iter()
            .map(|r| (r.start, r.end))
            .collect()
    }

    #[test]
    fn ranges_count_code_points_and_cover_what_matched() {
        assert_eq!(ranges("Beyoncé Halo", "beyonce"), [(0, 7)]);
        assert_eq!(ranges("Déjà Vu", "vu"), [(5, 7)]);
        assert_eq!(ranges("AC/DC", "acdc"), [(0, 5)]);
        assert_eq!(ranges("Highway to Hell", "hig"), [(0, 7)]);
        assert_eq!(ranges("Highway to Hell", "helll "), [(11, 15)]);
        assert!(ranges("Highway to Hell", "zzz").is_empty());
    }
}

//! Typo expansion: which indexed terms a mistyped word stands for, looked up in the term
//! dictionaries once per search, so the query itself is only term lookups.
//!
//! tantivy's `FuzzyTermQuery` walks the whole term dictionary with a Levenshtein automaton
//! and then marks every document of every matching term in a bitset the size of the
//! segment, for every field and every word: at a million tracks that was most of a search's
//! time. Here the walk is bounded the way Meilisearch and Typesense bound it: the first
//! character must match (typos there are rare, and it cuts the walk to one branch of the
//! dictionary), at most [`MAX_CANDIDATES`] terms are kept (nearest first, then the most
//! frequent), and callers only expand words that match nothing as typed.

use std::collections::HashMap;
use std::sync::LazyLock;

use levenshtein_automata::{DFA, Distance, LevenshteinAutomatonBuilder, SINK_STATE};
use tantivy::schema::Field;
use tantivy::{Searcher, Term};
use tantivy_fst::Automaton;

/// Terms kept per word and field at most: enough for the right correction to be among
/// them, few enough that the union over their postings stays small.
pub(crate) const MAX_CANDIDATES: usize = 8;

/// Automaton builders for distances 1 and 2 (transpositions cost one edit). Building one
/// is costly (it precomputes the parametric automaton); building a word's DFA from it is
/// cheap.
static BUILDERS: LazyLock<[LevenshteinAutomatonBuilder; 2]> = LazyLock::new(|| {
    [
        LevenshteinAutomatonBuilder::new(1, true),
        LevenshteinAutomatonBuilder::new(2, true),
    ]
});

/// A Levenshtein DFA as an automaton over the term dictionary's bytes.
struct Within<'a>(&'a DFA);

impl Automaton for Within<'_> {
    type State = u32;

    fn start(&self) -> u32 {
        self.0.initial_state()
    }

    fn is_match(&self, state: &u32) -> bool {
        matches!(self.0.distance(*state), Distance::Exact(_))
    }

    fn can_match(&self, state: &u32) -> bool {
        *state != SINK_STATE
    }

    fn accept(&self, state: &u32, byte: u8) -> u32 {
        self.0.transition(*state, byte)
    }
}

/// The terms of `field` within `distance` edits of `word` (1 or 2; 0 gives none) that start
/// with the same character, nearest first, then by how many documents have them; at most
/// [`MAX_CANDIDATES`].
pub(crate) fn near_terms(
    searcher: &Searcher,
    field: Field,
    word: &str,
    distance: u8,
) -> tantivy::Result<Vec<Term>> {
    let Some(builder) = distance
        .checked_sub(1)
        .and_then(|i| BUILDERS.get(usize::from(i)))
    else {
        return Ok(Vec::new());
    };
    let Some(first) = word.chars().next() else {
        return Ok(Vec::new());
    };
    let dfa = builder.build_dfa(word);
    let mut low = [0u8; 4];
    let low = first.encode_utf8(&mut low).as_bytes().to_vec();
    let high = next_prefix(&low);
    // Term -> documents, summed over segments.
    let mut found: HashMap<Vec<u8>, u64> = HashMap::new();
    for segment in searcher.segment_readers() {
        let inverted = segment.inverted_index(field)?;
        let mut stream = {
            let builder = inverted.terms().search(Within(&dfa)).ge(&low);
            match &high {
                Some(high) => builder.lt(high),
                None => builder,
            }
        }
        .into_stream()?;
        while stream.advance() {
            *found.entry(stream.key().to_vec()).or_default() += u64::from(stream.value().doc_freq);
        }
    }
    let mut ranked: Vec<(u8, u64, Vec<u8>)> = found
        .into_iter()
        .map(|(key, docs)| {
            let edits = match dfa.eval(&key) {
                Distance::Exact(d) | Distance::AtLeast(d) => d,
            };
            (edits, docs, key)
        })
        .collect();
    ranked.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    Ok(ranked
        .into_iter()
        .take(MAX_CANDIDATES)
        .filter_map(|(_, _, key)| {
            let text = String::from_utf8(key).ok()?;
            Some(Term::from_field_text(field, &text))
        })
        .collect())
}

/// The smallest byte string greater than every string starting with `prefix`, if any.
fn next_prefix(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_after_a_prefix_covers_exactly_its_extensions() {
        assert_eq!(next_prefix(b"m"), Some(b"n".to_vec()));
        assert_eq!(next_prefix(&[0xc3, 0xff]), Some(vec![0xc4]));
        assert_eq!(next_prefix(&[0xff]), None);
    }

    #[test]
    fn distances_count_transpositions_as_one_edit() {
        let dfa = BUILDERS[0].build_dfa("heavne");
        assert!(matches!(dfa.eval("heaven"), Distance::Exact(1)));
        let dfa = BUILDERS[1].build_dfa("metalicca");
        assert!(matches!(dfa.eval("metallica"), Distance::Exact(2)));
    }
}

//! Turns what a listener typed into a tantivy query, built term by term: user text never
//! reaches tantivy's query parser, so no character of it has a syntax meaning.
//!
//! Each typed word matches, in the name, artist and album fields (weighted in that order):
//! exactly (BM25), within its typo budget (one edit from 4 characters, two from 8), and,
//! for the last word while it is still being typed, as a prefix (an edge n-gram lookup, with
//! one typo allowed from 4 characters). Every word must match somewhere; when that finds
//! nothing, any word may (so one stray word does not empty the page).

use tantivy::Term;
use tantivy::query::{
    BooleanQuery, BoostQuery, DisjunctionMaxQuery, FuzzyTermQuery, Occur, Query, TermQuery,
};
use tantivy::schema::IndexRecordOption;
use tunemesh_proto::search::v1::SearchResultType;

use crate::schema::{Fields, kind_number};
use crate::text::{self, MAX_PREFIX_CHARS, typo_budget};

/// Words of a query used at most; the rest add little and cost a lot.
pub const MAX_WORDS: usize = 12;

/// Weights of the fields a word is looked for in.
const NAME_WEIGHT: f32 = 3.0;
const ARTIST_WEIGHT: f32 = 2.0;
const ALBUM_WEIGHT: f32 = 1.2;
const EXTRA_WEIGHT: f32 = 0.5;
/// A typo-tolerant match is worth this share of an exact one's field weight (its score is
/// constant, not BM25, so it also ranks below a good exact match).
const FUZZY_SHARE: f32 = 0.6;
/// A prefix match is worth this share (typed words are usually completed).
const PREFIX_SHARE: f32 = 0.7;
/// A prefix match with a typo.
const FUZZY_PREFIX_SHARE: f32 = 0.3;
/// What the fields other than the best-matching one add to a word's score.
const OTHER_FIELDS_SHARE: f32 = 0.2;

/// A query as the index sees it: its words, and whether the last one is still being typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedQuery {
    /// Folded words, at most [`MAX_WORDS`].
    pub words: Vec<String>,
    /// True when the last word also matches as a prefix.
    pub last_is_prefix: bool,
}

impl ParsedQuery {
    /// Parses typed text; a query with no words (only punctuation) gives an empty list.
    pub fn parse(typed: &str) -> Self {
        // Compounds are left out: `ac/dc` typed is the words `ac` and `dc`, which the index
        // has too; `acdc` typed is one word, which the index has as a compound.
        let words: Vec<String> = text::terms(typed)
            .into_iter()
            .filter(|t| !t.compound)
            .map(|t| t.text)
            .take(MAX_WORDS)
            .collect();
        let last_is_prefix = !typed.ends_with(char::is_whitespace);
        Self {
            words,
            last_is_prefix,
        }
    }

    /// True when nothing can be searched for.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Whether `word` (at `index`) matches as a prefix.
    pub fn is_prefix(&self, index: usize) -> bool {
        self.last_is_prefix && index + 1 == self.words.len()
    }
}

/// Builds the query: every word required (`all_words`) or any word enough, restricted to
/// `kinds` when not empty.
pub fn build(
    fields: &Fields,
    parsed: &ParsedQuery,
    kinds: &[SearchResultType],
    all_words: bool,
) -> Box<dyn Query> {
    let occur = if all_words {
        Occur::Must
    } else {
        Occur::Should
    };
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = parsed
        .words
        .iter()
        .enumerate()
        .map(|(i, word)| (occur, word_query(fields, word, parsed.is_prefix(i))))
        .collect();
    if !kinds.is_empty() {
        let kinds: Vec<(Occur, Box<dyn Query>)> = kinds
            .iter()
            .map(|kind| {
                let term = Term::from_field_u64(fields.kind, kind_number(*kind));
                let query: Box<dyn Query> =
                    Box::new(TermQuery::new(term, IndexRecordOption::Basic));
                (Occur::Should, query)
            })
            .collect();
        clauses.push((Occur::Must, Box::new(BooleanQuery::new(kinds))));
    }
    Box::new(BooleanQuery::new(clauses))
}

/// Everything one word may match. Within a field the ways of matching add up (exact beats
/// typo-tolerant alone); across fields the best one counts, plus a fraction of the others,
/// so an album named after its artist does not outrank the artist by matching twice.
fn word_query(fields: &Fields, word: &str, prefix: bool) -> Box<dyn Query> {
    let budget = typo_budget(word.chars().count());
    let searched = [
        (fields.name, fields.name_prefix, NAME_WEIGHT),
        (fields.artist, fields.artist_prefix, ARTIST_WEIGHT),
        (fields.album, fields.album_prefix, ALBUM_WEIGHT),
    ];
    let mut per_field: Vec<Box<dyn Query>> = Vec::new();
    for (field, prefix_field, weight) in searched {
        let mut ways: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut add = |query: Box<dyn Query>, weight: f32| {
            ways.push((Occur::Should, Box::new(BoostQuery::new(query, weight))));
        };
        let term = Term::from_field_text(field, word);
        add(exact(term.clone()), weight);
        if budget > 0 {
            add(
                Box::new(FuzzyTermQuery::new(term, budget, true)),
                weight * FUZZY_SHARE,
            );
        }
        if prefix {
            let head: String = word.chars().take(MAX_PREFIX_CHARS).collect();
            let term = Term::from_field_text(prefix_field, &head);
            add(exact(term.clone()), weight * PREFIX_SHARE);
            if budget > 0 {
                let fuzzy = FuzzyTermQuery::new(term, 1, true);
                add(Box::new(fuzzy), weight * FUZZY_PREFIX_SHARE);
            }
        }
        per_field.push(Box::new(BooleanQuery::new(ways)));
    }
    let extra = exact(Term::from_field_text(fields.extra, word));
    per_field.push(Box::new(BoostQuery::new(extra, EXTRA_WEIGHT)));
    Box::new(DisjunctionMaxQuery::with_tie_breaker(
        per_field,
        OTHER_FIELDS_SHARE,
    ))
}

fn exact(term: Term) -> Box<dyn Query> {
    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))
}

/// True when the query's word `word_index` matches the indexed term `candidate` the way the
/// query does (exactly, within its typo budget, or as a prefix), for highlighting.
pub fn is_match(parsed: &ParsedQuery, word_index: usize, candidate: &str) -> bool {
    let Some(word) = parsed.words.get(word_index) else {
        return false;
    };
    if candidate == word {
        return true;
    }
    let budget = typo_budget(word.chars().count());
    if budget > 0 && text::within_distance(word, candidate, budget) {
        return true;
    }
    if parsed.is_prefix(word_index) {
        let head: String = candidate.chars().take(word.chars().count()).collect();
        return head == *word || (budget > 0 && text::within_distance(word, &head, 1));
    }
    false
}

//! Turns what a listener typed into what the index looks up, term by term: user text never
//! reaches tantivy's query parser, so no character of it has a syntax meaning.
//!
//! A search runs in two steps (see [`crate::index`]). *Matching*: every typed word must be
//! found in the `all` field (the name, artists, album, genre and year words together) or,
//! for the last word while it is still being typed, in `all_prefix` (their edge n-grams).
//! That is one posting list per word, so matching is a plain intersection that skips
//! through postings, however common the words; the best candidates by a rough score and
//! popularity are kept. *Ranking* ([`crate::rank`]) then scores only those candidates the
//! fine way: each word in the name, artist and album fields weighted in that order, exact
//! (BM25) and prefix matches adding up within a field, the best field counting most.
//!
//! A word that matches nothing as typed matches its corrections instead: within its typo
//! budget (one edit from 4 characters, two from 8), and for the word being typed, prefixes
//! within one typo. When requiring every word finds nothing, any word may match (so one
//! stray word does not empty the page).

use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Searcher, Term};
use tunemesh_proto::search::v1::SearchResultType;

use crate::expand;
use crate::schema::{Fields, kind_number};
use crate::text::{self, MAX_PREFIX_CHARS, typo_budget};

/// Words of a query used at most; the rest add little and cost a lot.
pub const MAX_WORDS: usize = 12;

/// Weights of the fields a word is looked for in.
pub const NAME_WEIGHT: f32 = 3.0;
/// See [`NAME_WEIGHT`].
pub const ARTIST_WEIGHT: f32 = 2.0;
/// See [`NAME_WEIGHT`].
pub const ALBUM_WEIGHT: f32 = 1.2;
/// See [`NAME_WEIGHT`].
pub const EXTRA_WEIGHT: f32 = 0.5;
/// A typo-tolerant match is worth this share of an exact one's field weight (its score is
/// constant, not BM25, so it also ranks below a good exact match).
pub const FUZZY_SHARE: f32 = 0.6;
/// A prefix match is worth this share (typed words are usually completed).
pub const PREFIX_SHARE: f32 = 0.7;
/// A prefix match with a typo.
pub const FUZZY_PREFIX_SHARE: f32 = 0.3;
/// What the fields other than the best-matching one add to a word's score.
pub const OTHER_FIELDS_SHARE: f32 = 0.2;
/// Rough score of a word matched only through corrections, while matching.
const CORRECTED_SCORE: f32 = 1.0;

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

/// The terms one word stands for in one ranked field.
#[derive(Debug, Clone)]
pub struct FieldTerms {
    /// The word as typed.
    pub exact: Term,
    /// Corrections within the word's typo budget (only for a word that matches nothing).
    pub near: Vec<Term>,
    /// The typed head as an edge n-gram, for the word being typed.
    pub prefix: Option<Term>,
    /// Corrections of that head (one typo), for a head that matches nothing.
    pub near_prefix: Vec<Term>,
    /// The field's weight.
    pub weight: f32,
}

/// One word of a plan.
#[derive(Debug, Clone)]
pub struct WordPlan {
    /// What the word matches in the `all` fields: the typed word or head, or its corrections.
    pub matches: Vec<Term>,
    /// Whether `matches` are corrections (scored as a constant while matching).
    pub corrected: bool,
    /// The word in each ranked field.
    pub fields: Vec<FieldTerms>,
    /// The word in the genre and year field.
    pub extra: Term,
}

/// What a query's words stand for in the index, looked up once per search (see [`plan`]).
#[derive(Debug, Clone)]
pub struct Plan {
    /// The words, in typed order.
    pub words: Vec<WordPlan>,
}

/// Looks the words of `parsed` up in `searcher`'s term dictionaries.
///
/// A word (or, for the word being typed, its head) that exists in the index as typed is
/// taken as typed; only a word that matches nothing is expanded to its nearest corrections,
/// within its typo budget and with its first character kept (see [`crate::expand`]). This
/// is what keeps typo tolerance cheap: correctly typed words, the common case, cost one
/// lookup.
pub fn plan(fields: &Fields, searcher: &Searcher, parsed: &ParsedQuery) -> tantivy::Result<Plan> {
    let ranked = [
        (fields.name, fields.name_prefix, NAME_WEIGHT),
        (fields.artist, fields.artist_prefix, ARTIST_WEIGHT),
        (fields.album, fields.album_prefix, ALBUM_WEIGHT),
    ];
    let mut words = Vec::with_capacity(parsed.words.len());
    for (i, word) in parsed.words.iter().enumerate() {
        let typing = parsed.is_prefix(i);
        let head: String = word.chars().take(MAX_PREFIX_CHARS).collect();
        // Every word starts with its head, so while typing the head alone matches both.
        let typed = if typing {
            Term::from_field_text(fields.all_prefix, &head)
        } else {
            Term::from_field_text(fields.all, word)
        };
        let budget = typo_budget(word.chars().count());
        let (matches, near, near_prefix) = if budget == 0 || searcher.doc_freq(&typed)? > 0 {
            (vec![typed], Vec::new(), Vec::new())
        } else {
            let near = expand::near_terms(searcher, fields.all, word, budget)?;
            let near_prefix = if typing {
                expand::near_terms(searcher, fields.all_prefix, &head, 1)?
            } else {
                Vec::new()
            };
            let matches = near.iter().chain(&near_prefix).cloned().collect();
            (matches, near, near_prefix)
        };
        let corrected = !near.is_empty() || !near_prefix.is_empty();
        let field_terms = ranked
            .iter()
            .map(|&(field, prefix_field, weight)| FieldTerms {
                exact: Term::from_field_text(field, word),
                near: in_field(&near, field),
                prefix: typing.then(|| Term::from_field_text(prefix_field, &head)),
                near_prefix: in_field(&near_prefix, prefix_field),
                weight,
            })
            .collect();
        words.push(WordPlan {
            matches,
            corrected,
            fields: field_terms,
            extra: Term::from_field_text(fields.extra, word),
        });
    }
    Ok(Plan { words })
}

/// The same texts as `terms`, in `field`.
fn in_field(terms: &[Term], field: Field) -> Vec<Term> {
    terms
        .iter()
        .filter_map(|t| {
            t.value()
                .as_str()
                .map(|text| Term::from_field_text(field, text))
        })
        .collect()
}

impl Plan {
    /// The matching query: every word required (`all_words`) or any word enough,
    /// restricted to `kinds` when not empty. Scores roughly (BM25 over the `all` fields).
    pub fn matching(
        &self,
        fields: &Fields,
        kinds: &[SearchResultType],
        all_words: bool,
    ) -> Box<dyn Query> {
        let occur = if all_words {
            Occur::Must
        } else {
            Occur::Should
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = self
            .words
            .iter()
            .filter(|word| !word.matches.is_empty())
            .map(|word| (occur, word_matches(word)))
            .collect();
        if clauses.is_empty() || (all_words && clauses.len() < self.words.len()) {
            // A word that matches nothing, not even corrected: nothing has every word.
            return Box::new(tantivy::query::EmptyQuery);
        }
        if !all_words && !kinds.is_empty() {
            // Beside a required clause, optional ones would stop filtering: nest them.
            let any: Box<dyn Query> = Box::new(BooleanQuery::new(clauses));
            clauses = vec![(Occur::Must, any)];
        }
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
            let kinds = ConstScoreQuery::new(Box::new(BooleanQuery::new(kinds)), 0.0);
            clauses.push((Occur::Must, Box::new(kinds)));
        }
        if let [(_, _)] = clauses.as_slice() {
            // One word alone: its own query, so a single term gets Block-WAND pruning.
            if let Some((_, query)) = clauses.pop() {
                return query;
            }
        }
        Box::new(BooleanQuery::new(clauses))
    }
}

fn word_matches(word: &WordPlan) -> Box<dyn Query> {
    if let ([term], false) = (word.matches.as_slice(), word.corrected) {
        return Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs));
    }
    let any: Vec<(Occur, Box<dyn Query>)> = word
        .matches
        .iter()
        .map(|term| {
            let query: Box<dyn Query> =
                Box::new(TermQuery::new(term.clone(), IndexRecordOption::Basic));
            (Occur::Should, query)
        })
        .collect();
    Box::new(ConstScoreQuery::new(
        Box::new(BooleanQuery::new(any)),
        CORRECTED_SCORE,
    ))
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

//! Ranking: the fine score of the candidates the matching step kept, and popularity.
//!
//! Each word scores, in each of the name, artist and album fields, the sum of the ways it
//! matches there (exact BM25, corrections as a constant, the typed head's BM25, corrected
//! heads as a constant), times the field's weight; the best field counts whole and the
//! others, with the genre and year field, add [`OTHER_FIELDS_SHARE`] of theirs (so an album
//! named after its artist does not outrank the artist by matching twice). Word scores add
//! up, and the total is lifted by popularity.
//!
//! Only candidates are scored, by seeking each term's postings to them (skip lists), so a
//! common word costs a few seeks per candidate instead of a pass over its postings.

use std::sync::Arc;

use tantivy::columnar::ColumnValues;
use tantivy::query::{EnableScoring, Query as _, Scorer, TermQuery, Weight};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocAddress, DocId, DocSet as _, Score, Searcher, SegmentReader, Term};

use crate::query::{
    EXTRA_WEIGHT, FUZZY_PREFIX_SHARE, FUZZY_SHARE, OTHER_FIELDS_SHARE, PREFIX_SHARE, Plan,
};
use crate::schema::{PLAYS, TIEBREAK};

/// How much popularity weighs against text relevance: the score is multiplied by
/// `1 + POPULARITY_WEIGHT * ln(1 + plays)` (×1.7 at 1,000 plays, ×2.4 at 1,000,000), enough
/// to order equally good matches, not enough to put a popular near-miss over an exact hit.
const POPULARITY_WEIGHT: f32 = 0.1;

/// The popularity factor of a document played `plays` times.
pub(crate) fn popularity(plays: u64) -> f32 {
    // Plays fit an f32's range; precision loss is irrelevant here.
    let plays = plays as f32;
    1.0 + POPULARITY_WEIGHT * plays.ln_1p()
}

/// A fast column of a segment.
type Column = Arc<dyn ColumnValues<u64>>;

/// Reads a segment's popularity and tie-break columns (absent columns read as 0).
pub(crate) struct Columns {
    plays: Option<Column>,
    tiebreak: Option<Column>,
    max_plays: u64,
}

impl std::fmt::Debug for Columns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Columns").finish_non_exhaustive()
    }
}

impl Columns {
    /// The columns of `segment`.
    pub(crate) fn of(segment: &SegmentReader) -> Self {
        let column = |name: &str| segment.fast_fields().u64(name).ok();
        let plays = column(PLAYS);
        Self {
            max_plays: plays.as_ref().map_or(0, |c| c.max_value()),
            plays: plays.map(|c| c.first_or_default_col(0)),
            tiebreak: column(TIEBREAK).map(|c| c.first_or_default_col(0)),
        }
    }

    /// The largest popularity factor of the segment: no document is lifted more.
    pub(crate) fn max_popularity(&self) -> f32 {
        popularity(self.max_plays)
    }

    /// `score` lifted by the document's popularity, with its tie-break: equal scores (a
    /// whole discography matching an artist name) are ordered by key hash, not by where the
    /// documents happen to sit.
    pub(crate) fn rank(&self, doc: DocId, score: Score) -> (Score, u64) {
        let plays = self.plays.as_ref().map_or(0, |p| p.get_val(doc));
        let tiebreak = self.tiebreak.as_ref().map_or(0, |t| t.get_val(doc));
        (score * popularity(plays), tiebreak)
    }
}

/// One way a word matches in a field: one BM25-scored term, or any of several terms for a
/// constant.
struct Way {
    weights: Vec<Box<dyn Weight>>,
    /// Field weight times the way's share.
    factor: f32,
    bm25: bool,
}

/// The ways of one word in one field; the genre and year field is one more "field".
struct FieldWays(Vec<Way>);

/// Scores `candidates` the fine way and returns them best first, with their final score
/// and tie-break.
pub(crate) fn rerank(
    searcher: &Searcher,
    plan: &Plan,
    mut candidates: Vec<DocAddress>,
) -> tantivy::Result<Vec<((Score, u64), DocAddress)>> {
    let words = weights(searcher, plan)?;
    candidates.sort_unstable();
    let mut ranked = Vec::with_capacity(candidates.len());
    let mut start = 0;
    while start < candidates.len() {
        let ord = candidates[start].segment_ord;
        let end = start
            + candidates[start..]
                .iter()
                .take_while(|a| a.segment_ord == ord)
                .count();
        let segment = searcher.segment_reader(ord);
        let columns = Columns::of(segment);
        let mut scorers = scorers(&words, segment)?;
        for address in &candidates[start..end] {
            let doc = address.doc_id;
            let score: Score = scorers.iter_mut().map(|word| word_score(word, doc)).sum();
            ranked.push((columns.rank(doc, score), *address));
        }
        start = end;
    }
    ranked.sort_unstable_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
    Ok(ranked)
}

fn weights(searcher: &Searcher, plan: &Plan) -> tantivy::Result<Vec<Vec<FieldWays>>> {
    let scoring = EnableScoring::enabled_from_searcher(searcher);
    let weight = |term: &Term, option| TermQuery::new(term.clone(), option).weight(scoring);
    let mut words = Vec::with_capacity(plan.words.len());
    for word in &plan.words {
        let mut fields = Vec::with_capacity(word.fields.len() + 1);
        for terms in &word.fields {
            let mut ways = vec![Way {
                weights: vec![weight(&terms.exact, IndexRecordOption::WithFreqs)?],
                factor: terms.weight,
                bm25: true,
            }];
            let mut constant = |list: &[Term], share: f32| -> tantivy::Result<()> {
                if !list.is_empty() {
                    let weights = list
                        .iter()
                        .map(|t| weight(t, IndexRecordOption::Basic))
                        .collect::<tantivy::Result<_>>()?;
                    ways.push(Way {
                        weights,
                        factor: terms.weight * share,
                        bm25: false,
                    });
                }
                Ok(())
            };
            constant(&terms.near, FUZZY_SHARE)?;
            constant(&terms.near_prefix, FUZZY_PREFIX_SHARE)?;
            if let Some(prefix) = &terms.prefix {
                ways.push(Way {
                    weights: vec![weight(prefix, IndexRecordOption::WithFreqs)?],
                    factor: terms.weight * PREFIX_SHARE,
                    bm25: true,
                });
            }
            fields.push(FieldWays(ways));
        }
        fields.push(FieldWays(vec![Way {
            weights: vec![weight(&word.extra, IndexRecordOption::WithFreqs)?],
            factor: EXTRA_WEIGHT,
            bm25: true,
        }]));
        words.push(fields);
    }
    Ok(words)
}

/// One way's scorers in one segment, with its factor and whether it is BM25-scored; an
/// entry without scorers closes a field.
type WayScorers = (Vec<Box<dyn Scorer>>, f32, bool);

/// Per word, per field, per way: the scorers of one segment.
type WordScorers = Vec<Vec<WayScorers>>;

fn scorers(words: &[Vec<FieldWays>], segment: &SegmentReader) -> tantivy::Result<WordScorers> {
    let mut out = Vec::with_capacity(words.len());
    for fields in words {
        let mut word = Vec::new();
        for FieldWays(ways) in fields {
            for way in ways {
                let scorers = way
                    .weights
                    .iter()
                    .map(|w| w.scorer(segment, 1.0))
                    .collect::<tantivy::Result<_>>()?;
                word.push((scorers, way.factor, way.bm25));
            }
            // An empty entry closes the field (fields have a variable number of ways).
            word.push((Vec::new(), 0.0, false));
        }
        out.push(word);
    }
    Ok(out)
}

/// One word's score for `doc`: per field the sum of its ways, then the best field plus a
/// share of the others. Candidates come in increasing doc order, so scorers only move on.
fn word_score(word: &mut [WayScorers], doc: DocId) -> Score {
    let (mut best, mut sum, mut field) = (0.0_f32, 0.0_f32, 0.0_f32);
    for (scorers, factor, bm25) in word.iter_mut() {
        if scorers.is_empty() {
            best = best.max(field);
            sum += field;
            field = 0.0;
            continue;
        }
        for scorer in scorers.iter_mut() {
            if scorer.doc() < doc {
                scorer.seek(doc);
            }
            if scorer.doc() == doc {
                if *bm25 {
                    field += scorer.score() * *factor;
                } else {
                    field += *factor;
                    break;
                }
            }
        }
    }
    best + OTHER_FIELDS_SHARE * (sum - best)
}

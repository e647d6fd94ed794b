//! The matching step's collector: the best `k` matches by rough score times popularity,
//! letting tantivy skip whole blocks of postings that cannot make it.
//!
//! tantivy's `TopDocs::tweak_score` has to score every matching document, which for a
//! common word at a million tracks is most of a search. Popularity only multiplies a score
//! by at most the segment's largest factor, so a document whose text score is below the
//! `k`-th best final score divided by that factor can never enter: that bound goes to
//! `Weight::for_each_pruning`, and Block-WAND skips what falls under it. The result is the
//! same as scoring everything (ties included: the bound is kept just below the `k`-th score).

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use tantivy::query::{EnableScoring, Query};
use tantivy::{DocAddress, Score, Searcher};

use crate::rank::Columns;

/// A candidate: final score, tie-break, where it is.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry((Score, u64), DocAddress);

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        let ((score, tiebreak), address) = (self.0, self.1);
        let ((other_score, other_tiebreak), other_address) = (other.0, other.1);
        score
            .total_cmp(&other_score)
            .then(tiebreak.cmp(&other_tiebreak))
            // Earlier documents win the last ties, as in tantivy's own collectors.
            .then(other_address.cmp(&address))
    }
}

/// Matches seen, and the best `k` of them (unordered).
#[derive(Debug, Default)]
pub(crate) struct Candidates {
    /// Matching documents seen: exact when fewer than `k` matched, otherwise a lower bound
    /// (skipped blocks are not counted).
    pub seen: usize,
    /// The best matches.
    pub top: Vec<DocAddress>,
}

/// The best `k` documents matching `query` by text score times popularity.
pub(crate) fn top(searcher: &Searcher, query: &dyn Query, k: usize) -> tantivy::Result<Candidates> {
    let weight = query.weight(EnableScoring::enabled_from_searcher(searcher))?;
    let mut heap: BinaryHeap<Reverse<Entry>> = BinaryHeap::with_capacity(k + 1);
    let mut seen = 0;
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        let ord = u32::try_from(ord).unwrap_or(u32::MAX);
        let columns = Columns::of(segment);
        let lift = columns.max_popularity();
        let alive = segment.alive_bitset();
        // Text scores at or below this cannot beat the current k-th entry.
        let bound = |heap: &BinaryHeap<Reverse<Entry>>| match heap.peek() {
            Some(Reverse(Entry((score, _), _))) if heap.len() >= k => {
                // Just below: an equal final score may still win on its tie-break.
                (score / lift) * (1.0 - 1e-6) - f32::MIN_POSITIVE
            }
            _ => Score::MIN,
        };
        let start = bound(&heap);
        weight.for_each_pruning(start, segment, &mut |doc, score| {
            if alive.is_some_and(|a| a.is_deleted(doc)) {
                return bound(&heap);
            }
            seen += 1;
            let entry = Entry(columns.rank(doc, score), DocAddress::new(ord, doc));
            if heap.len() < k {
                heap.push(Reverse(entry));
            } else if heap.peek().is_some_and(|Reverse(worst)| entry > *worst) {
                heap.pop();
                heap.push(Reverse(entry));
            }
            bound(&heap)
        })?;
    }
    Ok(Candidates {
        seen,
        top: heap.into_iter().map(|Reverse(Entry(_, a))| a).collect(),
    })
}

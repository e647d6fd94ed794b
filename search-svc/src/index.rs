//! The tantivy index: one writer fed in batches, a reader reloaded after every commit.
//!
//! Every method blocks (tantivy does disk I/O and CPU work): async code calls them through
//! `spawn_blocking`. Searches never wait for writes: a searcher is a snapshot of the last
//! reloaded commit.

use std::path::Path;
use std::sync::{Mutex, PoisonError};

use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Score, TantivyDocument};
use tunemesh_proto::search::v1::{SearchResult, SearchResultType};

use crate::catalog::Change;
use crate::query::{self, ParsedQuery};
use crate::schema::{Fields, PLAYS, TIEBREAK};

/// How much popularity weighs against text relevance: the score is multiplied by
/// `1 + POPULARITY_WEIGHT * ln(1 + plays)` (×1.7 at 1,000 plays, ×2.4 at 1,000,000), enough
/// to order equally good matches, not enough to put a popular near-miss over an exact hit.
const POPULARITY_WEIGHT: f32 = 0.1;

/// Hits of one search, best first.
#[derive(Debug, Default)]
pub struct Hits {
    /// Number of matching documents.
    pub total: usize,
    /// The requested window of results, with their final scores.
    pub results: Vec<(Score, SearchResult)>,
}

/// The index, its writer and its reader.
pub struct SearchIndex {
    index: Index,
    fields: Fields,
    reader: IndexReader,
    // One writer per index (tantivy's rule); a std mutex since it is only taken on blocking
    // threads, never across an await.
    writer: Mutex<IndexWriter>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").finish_non_exhaustive()
    }
}

impl SearchIndex {
    /// A new, empty index in `dir` (whatever was there is removed: a replica rebuilds by
    /// replay), or in memory without one. `writer_memory` is the indexing buffer in bytes.
    pub fn create(dir: Option<&Path>, writer_memory: usize) -> tantivy::Result<Self> {
        let (schema, fields) = Fields::schema();
        let index = match dir {
            Some(dir) => {
                if dir.exists() {
                    std::fs::remove_dir_all(dir)?;
                }
                std::fs::create_dir_all(dir)?;
                Index::create(
                    MmapDirectory::open(dir)?,
                    schema,
                    tantivy::IndexSettings::default(),
                )?
            }
            None => Index::create_in_ram(schema),
        };
        Fields::register_analyzers(&index);
        // One indexing thread: indexing is bursty and small, and searches need the cores.
        let writer = index.writer_with_num_threads(1, writer_memory)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            index,
            fields,
            reader,
            writer: Mutex::new(writer),
        })
    }

    /// Applies `changes`, commits and makes them visible to searches.
    pub fn apply(&self, changes: &[Change]) -> tantivy::Result<()> {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        for change in changes {
            match change {
                Change::Upsert(doc) => {
                    writer.delete_term(tantivy::Term::from_field_text(self.fields.key, &doc.key));
                    writer.add_document(self.fields.document(doc))?;
                }
                Change::Delete(key) => {
                    writer.delete_term(tantivy::Term::from_field_text(self.fields.key, key));
                }
            }
        }
        writer.commit()?;
        drop(writer);
        self.reader.reload()
    }

    /// Number of searchable documents.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Runs `parsed` and returns hits `offset..offset + limit`.
    pub fn search(
        &self,
        parsed: &ParsedQuery,
        kinds: &[SearchResultType],
        offset: usize,
        limit: usize,
    ) -> tantivy::Result<Hits> {
        if parsed.is_empty() || limit == 0 {
            return Ok(Hits::default());
        }
        let searcher = self.reader.searcher();
        let run = |all_words: bool| -> tantivy::Result<(usize, Vec<(Score, DocAddress)>)> {
            let query = query::build(&self.fields, parsed, kinds, all_words);
            let top = TopDocs::with_limit(limit).and_offset(offset).tweak_score(
                |segment: &tantivy::SegmentReader| {
                    let column = |name: &str| {
                        let column = segment.fast_fields().u64(name).ok();
                        column.map(|c| c.first_or_default_col(0))
                    };
                    let (plays, tiebreak) = (column(PLAYS), column(TIEBREAK));
                    move |doc: tantivy::DocId, score: Score| {
                        let plays = plays.as_ref().map_or(0, |p| p.get_val(doc));
                        // Plays fit an f32's range; precision loss is irrelevant here.
                        #[allow(clippy::cast_precision_loss)]
                        let boost = 1.0 + POPULARITY_WEIGHT * (plays as f32).ln_1p();
                        // Equal scores (a whole discography matching an artist name) are
                        // ordered by key hash, not by where the documents happen to sit.
                        (
                            score * boost,
                            tiebreak.as_ref().map_or(0, |t| t.get_val(doc)),
                        )
                    }
                },
            );
            let (total, top) = searcher.search(query.as_ref(), &(Count, top))?;
            let top = top
                .into_iter()
                .map(|((score, _), address)| (score, address))
                .collect();
            Ok((total, top))
        };
        let (mut total, mut top) = run(true)?;
        if total == 0 && parsed.words.len() > 1 {
            (total, top) = run(false)?;
        }
        let mut results = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            if let Some(result) = self.fields.stored_result(&doc) {
                results.push((score, result));
            }
        }
        Ok(Hits { total, results })
    }

    /// The underlying index (for tests and tools).
    pub fn index(&self) -> &Index {
        &self.index
    }
}

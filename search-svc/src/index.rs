//! The tantivy index: one writer fed in batches, a reader reloaded after every commit.
//!
//! On disk the index outlives the process: each commit records the index format and the
//! feed (durable consumer names) that wrote it, and a restart with the same format and
//! consumers reopens it instead of rebuilding (see [`SearchIndex::open`]). Acknowledging
//! events only after the commit that contains them makes the consumers' positions and the
//! index agree.
//!
//! Every method blocks (tantivy does disk I/O and CPU work): async code calls them through
//! `spawn_blocking`. Searches never wait for writes: a searcher is a snapshot of the last
//! reloaded commit.

use std::path::Path;
use std::sync::{Mutex, PoisonError};

use tantivy::collector::DocSetCollector;
use tantivy::columnar::Column;
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Schema};
use tantivy::store::StoreReader;
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Score, Searcher, SegmentOrdinal,
    TantivyDocument, Term,
};
use tunemesh_proto::catalog::v1::Track;
use tunemesh_proto::events::v1::PlaylistChanged;
use tunemesh_proto::search::v1::{SearchResult, SearchResultType};

use crate::catalog::Change;
use crate::collect;
use crate::query::{self, ParsedQuery};
use crate::rank;
use crate::schema::{Fields, PLAYS, kind_number};

/// Matches ranked the fine way per search, at least: enough that the rough score of the
/// matching step (BM25 over all fields, and popularity) keeps the best results among them,
/// few enough that ranking stays a small share of a search.
pub const CANDIDATES: usize = 200;

/// Threads reading stored tracks at a warm start, at most (one per core below that).
const READERS: usize = 4;

/// Hits of one search, best first.
#[derive(Debug, Default)]
pub struct Hits {
    /// Number of matching documents (a lower bound past the candidates, see
    /// [`collect::Candidates::seen`]).
    pub total: usize,
    /// The requested window of results, with their final scores.
    pub results: Vec<(Score, SearchResult)>,
}

/// The index, its writer and its reader.
pub struct SearchIndex {
    fields: Fields,
    reader: IndexReader,
    // One writer per index (tantivy's rule); a std mutex since it is only taken on blocking
    // threads, never across an await.
    writer: Mutex<IndexWriter>,
    /// Written with every commit: the format and the feed that owns the index.
    payload: String,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").finish_non_exhaustive()
    }
}

/// How a persisted index was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// Nothing usable was there: the index is new and empty, and must be built by replay.
    Fresh,
    /// A committed index of the same format and consumers: resume from where it stopped.
    Resumed,
}

/// Index format: bump when the schema or the analyzers change, so old indexes are rebuilt.
const FORMAT: &str = "tunemesh-search/3";

impl SearchIndex {
    /// A new, empty index in `dir` (whatever was there is removed), or in memory without
    /// one. `writer_memory` is the indexing buffer in bytes.
    pub fn create(dir: Option<&Path>, writer_memory: usize) -> tantivy::Result<Self> {
        Ok(Self::open(dir, writer_memory, "")?.0)
    }

    /// The index in `dir` if it was last committed by this replica's feed (`owner`: its
    /// consumer names) in the current format, or else a new, empty one (whatever was there is
    /// removed). In memory without a directory (always fresh).
    pub fn open(
        dir: Option<&Path>,
        writer_memory: usize,
        owner: &str,
    ) -> tantivy::Result<(Self, Opened)> {
        let (schema, fields) = Fields::schema();
        let payload = format!("{FORMAT} {owner}");
        let (index, opened) = match dir {
            Some(dir) => match reopen(dir, &schema, &payload)? {
                Some(index) => (index, Opened::Resumed),
                None => {
                    if dir.exists() {
                        std::fs::remove_dir_all(dir)?;
                    }
                    std::fs::create_dir_all(dir)?;
                    let directory = MmapDirectory::open(dir)?;
                    let settings = tantivy::IndexSettings::default();
                    (Index::create(directory, schema, settings)?, Opened::Fresh)
                }
            },
            None => (Index::create_in_ram(schema), Opened::Fresh),
        };
        Fields::register_analyzers(&index);
        // One indexing thread: indexing is bursty and small, and searches need the cores.
        let writer = index.writer_with_num_threads(1, writer_memory)?;
        // Reloaded by `apply` right after each commit (freshness), never per search.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let index = Self {
            fields,
            reader,
            writer: Mutex::new(writer),
            payload,
        };
        Ok((index, opened))
    }

    /// Applies `changes`, commits (recording who committed, for the next start) and makes
    /// them visible to searches.
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
        let mut commit = writer.prepare_commit()?;
        commit.set_payload(&self.payload);
        commit.commit()?;
        drop(writer);
        self.reader.reload()
    }

    /// Removes every document (a replica whose position on the bus was lost starts over).
    pub fn clear(&self) -> tantivy::Result<()> {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        writer.delete_all_documents()?;
        // No owner payload: a crash before the replay commits again leaves a fresh index.
        writer.commit()?;
        drop(writer);
        self.reader.reload()
    }

    /// Every stored catalogue track with its counted plays, to rebuild the catalogue model
    /// of a resumed index. Read by up to [`READERS`] threads, each a contiguous run of the
    /// documents (at 1M tracks a warm start spends seconds here: decompressing the stores and
    /// decoding every track).
    pub fn stored_tracks(&self) -> tantivy::Result<Vec<(Box<Track>, u64)>> {
        let searcher = self.reader.searcher();
        let track_kind =
            Term::from_field_u64(self.fields.kind, kind_number(SearchResultType::Track));
        let query = TermQuery::new(track_kind, IndexRecordOption::Basic);
        let mut addresses: Vec<DocAddress> = searcher
            .search(&query, &DocSetCollector)?
            .into_iter()
            .collect();
        // Segment by segment, in order: each run reads its part of a segment's document
        // store front to back.
        addresses.sort_unstable();
        let threads = std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .clamp(1, READERS);
        let run = addresses.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            let readers: Vec<_> = addresses
                .chunks(run)
                .map(|run| scope.spawn(|| self.read_tracks(&searcher, run)))
                .collect();
            let mut tracks = Vec::with_capacity(addresses.len());
            for reader in readers {
                // A panic is the caller's, as if read on its own thread.
                let read = reader
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
                tracks.extend(read);
            }
            Ok(tracks)
        })
    }

    /// The stored tracks at `run` (sorted addresses) with their plays. Opens its own document
    /// store readers: the searcher's are shared, their block cache behind a lock taken per
    /// document.
    fn read_tracks(
        &self,
        searcher: &Searcher,
        run: &[DocAddress],
    ) -> tantivy::Result<Vec<(Box<Track>, u64)>> {
        let mut tracks = Vec::with_capacity(run.len());
        // The segment being read: its ordinal, document store and play column.
        let mut segment: Option<(SegmentOrdinal, StoreReader, Column<u64>)> = None;
        for address in run {
            if segment
                .as_ref()
                .is_none_or(|(ord, ..)| *ord != address.segment_ord)
            {
                let reader = searcher.segment_reader(address.segment_ord);
                // One block cached: the run reads each block's documents in a row.
                let store = reader.get_store_reader(1)?;
                let plays = reader.fast_fields().u64(PLAYS)?;
                segment = Some((address.segment_ord, store, plays));
            }
            let Some((_, store, plays)) = &segment else {
                continue;
            };
            let doc: TantivyDocument = store.get(address.doc_id)?;
            let Some(track) = self.fields.stored_track(&doc) else {
                continue;
            };
            let played = plays.first(address.doc_id).unwrap_or(0);
            tracks.push((track, played));
        }
        Ok(tracks)
    }

    /// What is stored of every playlist (public, private or deleted), to rebuild the
    /// playlist model of a resumed index.
    pub(crate) fn stored_playlists(&self) -> tantivy::Result<Vec<PlaylistChanged>> {
        let searcher = self.reader.searcher();
        // Public playlists are of their kind; private and deleted ones of no kind (no other
        // document is).
        let kinds = [SearchResultType::Playlist, SearchResultType::Unspecified].map(|kind| {
            let term = Term::from_field_u64(self.fields.kind, kind_number(kind));
            let query: Box<dyn Query> = Box::new(TermQuery::new(term, IndexRecordOption::Basic));
            (Occur::Should, query)
        });
        let query = BooleanQuery::new(kinds.into());
        let mut addresses: Vec<DocAddress> = searcher
            .search(&query, &DocSetCollector)?
            .into_iter()
            .collect();
        addresses.sort_unstable();
        let mut playlists = Vec::with_capacity(addresses.len());
        for address in addresses {
            let doc: TantivyDocument = searcher.doc(address)?;
            playlists.extend(self.fields.stored_playlist(&doc));
        }
        Ok(playlists)
    }

    /// Number of documents (with the textless ones of private and deleted playlists).
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Runs `parsed` and returns hits `offset..offset + limit`: the best [`CANDIDATES`]
    /// matches by a rough score and popularity, ranked the fine way (see [`crate::query`]).
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
        let plan = query::plan(&self.fields, &searcher, parsed)?;
        // The same candidate count for all of the first pages, so they agree; one more
        // than a deeper page needs, so a full heap means there is a next page.
        let candidates = if offset + limit < CANDIDATES {
            CANDIDATES
        } else {
            offset + limit + 1
        };
        let run = |all_words: bool| {
            let query = plan.matching(&self.fields, kinds, all_words);
            collect::top(&searcher, query.as_ref(), candidates)
        };
        let mut found = run(true)?;
        if found.seen == 0 && parsed.words.len() > 1 {
            found = run(false)?;
        }
        let total = found.seen;
        let top = found.top;
        let ranked = rank::rerank(&searcher, &plan, top)?;
        let mut results = Vec::with_capacity(limit);
        for ((score, _), address) in ranked.into_iter().skip(offset).take(limit) {
            let doc: TantivyDocument = searcher.doc(address)?;
            if let Some(result) = self.fields.stored_result(&doc) {
                results.push((score, result));
            }
        }
        Ok(Hits { total, results })
    }
}

/// The committed index in `dir`, if there is one with this schema whose last commit carries
/// `payload`; `None` for anything else (missing, never committed, older format, another
/// replica's), which the caller replaces with a fresh index.
fn reopen(dir: &Path, schema: &Schema, payload: &str) -> tantivy::Result<Option<Index>> {
    if !dir.join("meta.json").exists() {
        return Ok(None);
    }
    let index = match Index::open_in_dir(dir) {
        Ok(index) => index,
        Err(error) => {
            tracing::warn!(%error, ?dir, "unreadable search index; rebuilding it");
            return Ok(None);
        }
    };
    let committed = index.load_metas()?.payload;
    if index.schema() != *schema || committed.as_deref() != Some(payload) {
        tracing::info!(
            ?dir,
            ?committed,
            "search index from another format or replica; rebuilding it"
        );
        return Ok(None);
    }
    Ok(Some(index))
}

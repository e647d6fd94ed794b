//! The search domain: the [`Search`] trait and its implementation over the index.
//!
//! Checks the request against the contract (query of 1 to 200 characters, page size, page
//! token), runs the query on a blocking thread, and adds highlights and the next page token.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;
use tunemesh_proto::search::v1::{SearchRequest, SearchResponse, SearchResultType};

use crate::error::SearchError;
use crate::highlight::highlight;
use crate::index::SearchIndex;
use crate::page_token;
use crate::query::ParsedQuery;

/// Longest query accepted, in characters (the contract's limit).
pub const MAX_QUERY_CHARS: usize = 200;
/// Page size when the request asks for 0.
pub const DEFAULT_PAGE_SIZE: usize = 20;
/// Largest page size; larger requests are lowered to it.
pub const MAX_PAGE_SIZE: usize = 50;
/// Results reachable by paging at most: deeper pages cost more and nobody reads them.
pub const MAX_RESULTS: usize = 500;

/// Searching the catalogue.
#[async_trait]
pub trait Search: Send + Sync + std::fmt::Debug + 'static {
    /// One page of results for `request`, best first.
    async fn search(&self, request: SearchRequest) -> Result<SearchResponse, SearchError>;
}

/// [`Search`] over the local index, answering only once the index is built.
#[derive(Debug, Clone)]
pub struct IndexSearch {
    index: Arc<SearchIndex>,
    ready: watch::Receiver<bool>,
}

impl IndexSearch {
    /// Searches `index` once `ready` turns true.
    pub fn new(index: Arc<SearchIndex>, ready: watch::Receiver<bool>) -> Self {
        Self { index, ready }
    }
}

/// A request checked against the contract.
#[derive(Debug)]
struct Checked {
    parsed: ParsedQuery,
    kinds: Vec<SearchResultType>,
    offset: usize,
    page_size: usize,
    fingerprint: u64,
}

fn check(request: &SearchRequest) -> Result<Checked, SearchError> {
    let query = request.query.trim();
    if query.is_empty() {
        return Err(SearchError::invalid("query must not be empty"));
    }
    // Counted on the raw text: the limit protects the server, whatever the text is.
    if request.query.chars().count() > MAX_QUERY_CHARS {
        return Err(SearchError::invalid(format!(
            "query must be at most {MAX_QUERY_CHARS} characters"
        )));
    }
    let page_size = match usize::try_from(request.page_size) {
        Err(_) => return Err(SearchError::invalid("page_size must not be negative")),
        Ok(0) => DEFAULT_PAGE_SIZE,
        Ok(n) => n.min(MAX_PAGE_SIZE),
    };
    let mut kinds: Vec<SearchResultType> = request
        .types()
        .filter(|kind| *kind != SearchResultType::Unspecified)
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    let kind_bytes: Vec<u8> = kinds
        .iter()
        .map(|k| crate::schema::kind_number(*k) as u8)
        .collect();
    let fingerprint = page_token::fingerprint(&[
        request.query.as_bytes(),
        &kind_bytes,
        page_size.to_string().as_bytes(),
    ]);
    let offset = if request.page_token.is_empty() {
        0
    } else {
        page_token::decode(&request.page_token, fingerprint)
            .filter(|offset| *offset < MAX_RESULTS)
            .ok_or_else(|| SearchError::invalid("page_token was not issued for this request"))?
    };
    Ok(Checked {
        parsed: ParsedQuery::parse(&request.query),
        kinds,
        offset,
        page_size,
        fingerprint,
    })
}

#[async_trait]
impl Search for IndexSearch {
    async fn search(&self, request: SearchRequest) -> Result<SearchResponse, SearchError> {
        let checked = check(&request)?;
        if !*self.ready.borrow() {
            return Err(SearchError::NotReady);
        }
        let index = self.index.clone();
        let limit = checked.page_size.min(MAX_RESULTS - checked.offset);
        // Searching is CPU work on an mmapped index: keep it off the async threads.
        let (hits, checked) = tokio::task::spawn_blocking(move || {
            let hits = index.search(&checked.parsed, &checked.kinds, checked.offset, limit);
            (hits, checked)
        })
        .await
        .map_err(|join| SearchError::Unexpected(join.into()))?;
        let hits = hits.map_err(|e| SearchError::Unexpected(e.into()))?;
        let next = checked.offset + hits.results.len();
        let next_page_token = if hits.results.len() == limit && next < hits.total.min(MAX_RESULTS) {
            page_token::encode(next, checked.fingerprint)
        } else {
            String::new()
        };
        let results = hits
            .results
            .into_iter()
            .map(|(score, mut result)| {
                result.score = score;
                highlight(&mut result, &checked.parsed);
                result
            })
            .collect();
        Ok(SearchResponse {
            results,
            total_hits_estimate: i64::try_from(hits.total).unwrap_or(i64::MAX),
            next_page_token,
        })
    }
}

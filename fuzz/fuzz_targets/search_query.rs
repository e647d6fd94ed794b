//! Search queries end to end in search-svc (`service.rs`, `query.rs`, `text.rs`,
//! `highlight.rs`, `expand.rs`): the contract checks, normalisation and folding, typo
//! expansion over a real (small) index, ranking and highlights, then the next page with the
//! token the first page returned. Also the tokenizer and highlighter on any text.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use tokio::runtime::Runtime;
use tunemesh_proto::search::v1::SearchRequest;
use tunemesh_search::highlight::matched_ranges;
use tunemesh_search::query::ParsedQuery;
use tunemesh_search::service::{IndexSearch, Search as _};
use tunemesh_search::text::{terms, within_distance};

static RUNTIME: LazyLock<Runtime> = LazyLock::new(tunemesh_fuzz::runtime);
static SEARCH: LazyLock<IndexSearch> = LazyLock::new(tunemesh_fuzz::search);

fuzz_target!(|input: (&str, i32, Vec<i32>, &str, &str, u8)| {
    let (query, page_size, types, page_token, text, distance) = input;
    for term in terms(text) {
        assert!(
            term.start <= term.end && term.end <= text.len(),
            "{term:?} of {text:?}"
        );
        assert!(text.is_char_boundary(term.start) && text.is_char_boundary(term.end));
    }
    let parsed = ParsedQuery::parse(query);
    let code_points = u32::try_from(text.chars().count()).unwrap_or(u32::MAX);
    for range in matched_ranges(text, &parsed) {
        assert!(
            range.start < range.end && range.end <= code_points,
            "{range:?} of {text:?}"
        );
    }
    let _ = within_distance(query, text, distance % 4);

    let request = SearchRequest {
        query: query.to_owned(),
        types,
        page_size,
        page_token: page_token.to_owned(),
    };
    let Ok(first) = RUNTIME.block_on(SEARCH.search(request.clone())) else {
        return;
    };
    if !first.next_page_token.is_empty() {
        let next = SearchRequest {
            page_token: first.next_page_token,
            ..request
        };
        assert!(RUNTIME.block_on(SEARCH.search(next)).is_ok(), "{query:?}");
    }
});

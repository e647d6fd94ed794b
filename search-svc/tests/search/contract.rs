//! The `Search` contract: hostile queries never break it, identity is required, paging and
//! filters and highlights behave as documented.

use std::collections::HashSet;

use tunemesh_proto::search::v1::{HighlightField, SearchRequest, SearchResultType, search_result};
use tunemesh_proto::tonic::{self, Code};

use crate::support::{TestBus, TestSearch, chinook_tracks, tagged_id};

/// A service over the real Chinook catalogue.
async fn chinook() -> anyhow::Result<(TestBus, TestSearch)> {
    let bus = TestBus::new("search contract").await?;
    bus.add_tracks(&chinook_tracks()?).await?;
    let search = TestSearch::start(&bus).await?;
    search.wait_ready().await?;
    Ok((bus, search))
}

fn request(query: &str) -> SearchRequest {
    SearchRequest {
        query: query.to_owned(),
        ..SearchRequest::default()
    }
}

#[tokio::test]
async fn hostile_queries_get_results_or_invalid_argument_never_internal() -> anyhow::Result<()> {
    let (bus, search) = chinook().await?;
    let long = "a".repeat(10_000);
    let long_words = "metallica ".repeat(1_000);
    let hostile: Vec<(&str, &str)> = vec![
        ("empty", ""),
        ("blank", "   \t\n "),
        ("10,000 characters", &long),
        ("10,000 characters of words", &long_words),
        ("only punctuation", "!!! ??? ... ---"),
        ("query syntax", "title:(\"metallica\" AND -queen)~2^10"),
        ("wildcards", "*?*"),
        ("regex", "/.*/ [a TO z] {1 TO 3}"),
        (
            "brackets and escapes",
            "\\\"\\ ( ) [ ] { } : ^ ~ + - ! && ||",
        ),
        ("unicode", "🎵💥 \u{0}\u{200b} 東京事変 ̈́"),
        ("one letter", "a"),
        ("digits", "1999"),
        (
            "many words",
            "a b c d e f g h i j k l m n o p q r s t u v w x y z",
        ),
        ("sql", "'; DROP TABLE tracks; --"),
    ];
    for (what, query) in hostile {
        let outcome = search.request(request(query)).await;
        match outcome {
            Ok(response) => assert!(response.results.len() <= 20, "{what}: page too long"),
            Err(status) => assert_eq!(
                status.code(),
                Code::InvalidArgument,
                "{what}: {query:.40?} gave {status:?}"
            ),
        }
    }
    // The contract's limits, precisely.
    for query in ["", "   ", &long] {
        let status = search.request(request(query)).await.expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument);
    }
    let punctuation = search.request(request("!!! ???")).await?;
    assert!(punctuation.results.is_empty());
    let syntax = search.request(request("title:(\"metallica\" AND")).await?;
    assert!(
        !syntax.results.is_empty(),
        "words in query syntax still search"
    );
    bus.cleanup().await
}

#[tokio::test]
async fn paging_filters_and_highlights_follow_the_contract() -> anyhow::Result<()> {
    let (bus, search) = chinook().await?;

    // Pages of 7 walk through distinct results; the token is bound to its request.
    let first = search
        .request(SearchRequest {
            page_size: 7,
            ..request("love")
        })
        .await?;
    assert_eq!(first.results.len(), 7);
    assert!(first.total_hits_estimate > 14);
    assert!(!first.next_page_token.is_empty());
    let second = search
        .request(SearchRequest {
            page_size: 7,
            page_token: first.next_page_token.clone(),
            ..request("love")
        })
        .await?;
    let seen: HashSet<String> = first
        .results
        .iter()
        .chain(&second.results)
        .map(tagged_id)
        .collect();
    assert_eq!(seen.len(), 14, "pages overlap");
    let scores: Vec<f32> = first
        .results
        .iter()
        .chain(&second.results)
        .map(|r| r.score)
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "not best first: {scores:?}"
    );
    let foreign = search
        .request(SearchRequest {
            page_size: 7,
            page_token: first.next_page_token.clone(),
            ..request("hate")
        })
        .await
        .expect_err("foreign token");
    assert_eq!(foreign.code(), Code::InvalidArgument);
    let garbage = search
        .request(SearchRequest {
            page_token: "not-a-token".to_owned(),
            ..request("love")
        })
        .await
        .expect_err("garbage token");
    assert_eq!(garbage.code(), Code::InvalidArgument);
    let negative = search
        .request(SearchRequest {
            page_size: -1,
            ..request("love")
        })
        .await
        .expect_err("negative page size");
    assert_eq!(negative.code(), Code::InvalidArgument);
    let capped = search
        .request(SearchRequest {
            page_size: 1_000,
            ..request("love")
        })
        .await?;
    assert_eq!(capped.results.len(), 50);

    // The type filter returns only the kinds asked for.
    let albums = search
        .request(SearchRequest {
            types: vec![SearchResultType::Album.into()],
            ..request("rock")
        })
        .await?;
    assert!(!albums.results.is_empty());
    assert!(
        albums
            .results
            .iter()
            .all(|r| matches!(r.item, Some(search_result::Item::Album(_))))
    );

    // Highlights cover what matched, in code points of the stored text.
    let hit = search
        .request(SearchRequest {
            types: vec![SearchResultType::Artist.into()],
            ..request("motorhed")
        })
        .await?;
    let top = hit.results.first().expect("motörhead found");
    let highlight = top
        .highlights
        .iter()
        .find(|h| h.field == i32::from(HighlightField::ArtistName))
        .expect("artist name highlighted");
    assert_eq!(highlight.text, "Motörhead");
    assert_eq!((highlight.ranges[0].start, highlight.ranges[0].end), (0, 9));
    bus.cleanup().await
}

#[tokio::test]
async fn a_call_without_a_verified_identity_is_unauthenticated() -> anyhow::Result<()> {
    let bus = TestBus::new("search identity").await?;
    let search = TestSearch::start(&bus).await?;
    search.wait_ready().await?;
    let status = search
        .client
        .clone()
        .search(tonic::Request::new(request("queen")))
        .await
        .expect_err("no identity");
    assert_eq!(status.code(), Code::Unauthenticated);
    bus.cleanup().await
}

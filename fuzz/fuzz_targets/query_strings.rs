//! The query strings of every REST route (`gateway/src/routes/*`): any query, as axum's
//! `Query` (which the gateway's `ApiQuery` wraps) reads it, into each route's query type, and
//! into the media guard's `token`. Quick and deep; `gateway_http` runs the same queries
//! through the routes themselves.
#![no_main]

use axum::extract::Query;
use http::Uri;
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use tunemesh_gateway::media::audio::AudioQuery;
use tunemesh_gateway::routes::Paging;
use tunemesh_gateway::routes::catalog::{AlbumFilter, TrackFilter};
use tunemesh_gateway::routes::discover::{Limit, RadioQuery, SearchQuery};
use tunemesh_gateway::routes::history::HistoryLimit;
use tunemesh_gateway::routes::library::CheckQuery;
use tunemesh_gateway::routes::playlists::Expected;

fn parse<T: DeserializeOwned>(uri: &Uri, query: &[u8]) {
    let _ = Query::<T>::try_from_uri(uri);
    let _ = serde_urlencoded::from_bytes::<T>(query);
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Token {
    token: Option<String>,
}

fuzz_target!(|query: &[u8]| {
    let Ok(uri) = Uri::try_from([b"/?".as_slice(), query].concat()) else {
        // Not a URI a request could carry; serde still must not choke on it.
        parse::<TrackFilter>(&Uri::from_static("/"), query);
        return;
    };
    parse::<AudioQuery>(&uri, query);
    parse::<TrackFilter>(&uri, query);
    parse::<AlbumFilter>(&uri, query);
    parse::<Paging>(&uri, query);
    parse::<SearchQuery>(&uri, query);
    parse::<Limit>(&uri, query);
    parse::<RadioQuery>(&uri, query);
    parse::<HistoryLimit>(&uri, query);
    parse::<CheckQuery>(&uri, query);
    parse::<Expected>(&uri, query);
    parse::<Token>(&uri, query);
});

//! gRPC-web framing as the gateway's edge takes it (tonic-web, `gateway/src/grpc/mod.rs`) in
//! front of a real service: bodies of the fuzzer's, as binary or base64 text gRPC-web, raw or
//! framed around a message of the fuzzer's, through tonic's decoder into search-svc's gRPC
//! adapter and domain over a small index, and the response encoded back to gRPC-web. In
//! process, no network: the service is driven as a tower service on a current-thread runtime.
#![no_main]

use std::sync::LazyLock;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderValue, Method, Request};
use http_body_util::{BodyExt as _, Full};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use prost::Message as _;
use tokio::runtime::Runtime;
use tonic::metadata::MetadataMap;
use tower::ServiceExt as _;
use tunemesh_proto::search::v1::SearchRequest;
use tunemesh_proto::search::v1::search_service_server::SearchServiceServer;
use tunemesh_runtime::identity::{
    AssertionSettings, AssertionSigner, CalledMethod, Caller, IdentitySettings, MeshIdentity,
};
use tunemesh_search::grpc::SearchApi;

static RUNTIME: LazyLock<Runtime> = LazyLock::new(tunemesh_fuzz::runtime);

struct Edge {
    service: tonic_web::GrpcWebService<SearchServiceServer<SearchApi>>,
    identity: http::HeaderMap,
}

/// The method the assertion is minted for.
const SEARCH: &str = "/tunemesh.search.v1.SearchService/Search";

static EDGE: LazyLock<Edge> = LazyLock::new(|| {
    let signer = AssertionSigner::new(&AssertionSettings {
        // Minted once for the whole run, which may last days.
        ttl: Duration::from_secs(30 * 24 * 3600),
        ..AssertionSettings::for_tests()
    })
    .expect("the test gateway key");
    let caller = Caller::new("ann".into(), vec![]);
    let mut metadata = MetadataMap::new();
    signer
        .attach(&caller, "search", SEARCH, &mut metadata)
        .expect("an assertion");
    let identity = MeshIdentity::new(&IdentitySettings::for_tests()).expect("the test key");
    let api = SearchApi::new(
        std::sync::Arc::new(tunemesh_fuzz::search()),
        identity.verifier("search"),
    );
    Edge {
        service: tower::Layer::layer(
            &tonic_web::GrpcWebLayer::new(),
            SearchServiceServer::new(api),
        ),
        identity: metadata.into_headers(),
    }
});

const CONTENT_TYPES: &[&str] = &[
    "application/grpc-web",
    "application/grpc-web+proto",
    "application/grpc-web-text",
    "application/grpc-web-text+proto",
    "application/grpc",
    "application/grpc-web+json",
];

#[derive(Debug, Arbitrary)]
enum Payload<'a> {
    /// The body as it comes.
    Raw(&'a [u8]),
    /// One or more length-prefixed frames: (flags, message, declared length or the true one).
    Frames(Vec<(u8, Message<'a>, Option<u32>)>),
}

#[derive(Debug, Arbitrary)]
enum Message<'a> {
    Bytes(&'a [u8]),
    Search {
        query: &'a str,
        types: Vec<i32>,
        page_size: i32,
        page_token: &'a str,
    },
}

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    content_type: Result<u8, &'a str>,
    /// Base64 the body (as grpc-web-text clients do).
    text: bool,
    method_post: bool,
    path: Option<&'a str>,
    with_identity: bool,
    extra_header: Option<(&'a str, &'a [u8])>,
    payload: Payload<'a>,
}

fuzz_target!(|input: Input<'_>| {
    let body = match input.payload {
        Payload::Raw(bytes) => bytes.to_vec(),
        Payload::Frames(frames) => {
            let mut body = Vec::new();
            for (flags, message, declared) in frames {
                let message = match message {
                    Message::Bytes(bytes) => bytes.to_vec(),
                    Message::Search {
                        query,
                        types,
                        page_size,
                        page_token,
                    } => SearchRequest {
                        query: query.to_owned(),
                        types,
                        page_size,
                        page_token: page_token.to_owned(),
                    }
                    .encode_to_vec(),
                };
                let length = declared.unwrap_or(u32::try_from(message.len()).unwrap_or(u32::MAX));
                body.push(flags);
                body.extend_from_slice(&length.to_be_bytes());
                body.extend_from_slice(&message);
            }
            body
        }
    };
    let body = if input.text {
        STANDARD.encode(&body).into_bytes()
    } else {
        body
    };
    let content_type = match input.content_type {
        Ok(i) => CONTENT_TYPES[usize::from(i) % CONTENT_TYPES.len()],
        Err(other) => other,
    };
    let mut request = Request::builder()
        .method(if input.method_post {
            Method::POST
        } else {
            Method::GET
        })
        .uri(input.path.unwrap_or(SEARCH));
    if let Ok(value) = HeaderValue::from_str(content_type) {
        request = request.header("content-type", value);
    }
    if let Some((name, value)) = input.extra_header
        && let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        )
    {
        request = request.header(name, value);
    }
    let Ok(mut request) = request.body(Full::new(Bytes::from(body))) else {
        return;
    };
    let edge = &*EDGE;
    // As the runtime's server does: the caller check compares the assertion's method.
    let path = request.uri().path().to_owned();
    request
        .extensions_mut()
        .insert(CalledMethod(std::sync::Arc::from(path)));
    if input.with_identity {
        request.headers_mut().extend(edge.identity.clone());
    }
    RUNTIME.block_on(async {
        let call = async {
            let response = edge
                .service
                .clone()
                .oneshot(request)
                .await
                .expect("infallible");
            // The whole answer, trailers included, as the client would read it.
            let _ = response.into_body().collect().await;
        };
        tokio::time::timeout(Duration::from_secs(5), call)
            .await
            .expect("a gRPC-web call hung");
    });
});

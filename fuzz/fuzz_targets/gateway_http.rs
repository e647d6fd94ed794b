//! The whole gateway edge in process (`gateway/src/router.rs` with every layer, the REST routes,
//! the gRPC switch and edge): arbitrary methods, paths and path parameters, query strings,
//! headers (authorization, media links, Range, If-Range, CORS, X-Forwarded-For, grpc-timeout,
//! traceparent) and bodies (JSON, gRPC, gRPC-web), as a tower service on a current-thread
//! runtime. The services behind it are absent: a request that gets that far fails at the mesh
//! within a few milliseconds, so the fuzzer covers everything the gateway parses and checks.
//! Never a 500, never a hang.
#![no_main]

use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use http::{HeaderName, HeaderValue, Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use tokio::runtime::Runtime;
use tower::ServiceExt as _;
use tunemesh_discovery::{EmbeddedRegistry, Mesh, MeshSettings};
use tunemesh_gateway::GatewayContext;
use tunemesh_gateway::auth::AccessTokens;
use tunemesh_gateway::media::MediaTokens;
use tunemesh_gateway::model::catalog::Quality;
use tunemesh_gateway::router::App;
use tunemesh_runtime::Storage;
use tunemesh_runtime::identity::Caller;

static RUNTIME: LazyLock<Runtime> = LazyLock::new(tunemesh_fuzz::runtime);

struct Edge {
    /// Behind a lock only because the boxed service is not `Sync`; one thread fuzzes.
    app: Mutex<App>,
    /// A valid access token of `ann`.
    bearer: String,
    /// A valid media link token of `ann` for track `t1`, quality normal.
    media: String,
    _dir: tempfile::TempDir,
}

/// The gateway as `Gateway::build` assembles it, minus the listener, over an empty mesh.
static EDGE: LazyLock<Edge> = LazyLock::new(|| {
    RUNTIME.block_on(async {
        let mut settings = tunemesh_fuzz::gateway_settings();
        // X-Forwarded-For is read only from trusted proxies; the in-process peer is 0.0.0.0.
        settings.rate_limits.trusted_proxies = vec!["0.0.0.0/32".into()];
        settings.http.cors_allowed_origins = vec!["https://app.example".into()];
        let dir = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .expect("a temporary directory");
        // No service is registered: a call fails when this short timeout runs out.
        let mesh = Mesh::new(
            Arc::new(EmbeddedRegistry::new()),
            MeshSettings {
                timeout: Duration::from_millis(5),
                connect_timeout: Duration::from_millis(5),
                ..MeshSettings::default()
            },
        );
        let ctx = GatewayContext {
            storage: Storage::Embedded {
                data_dir: dir.path().to_owned(),
            },
            mesh,
        };
        let app = tunemesh_gateway::app::service(&settings, ctx)
            .await
            .expect("the app");
        // Tokens the gateway accepts, minted with its keys.
        let keys = settings.auth.keys().expect("keys");
        let tokens = AccessTokens::new(&keys, settings.auth.access_ttl).expect("tokens");
        let media = MediaTokens::new(&keys, settings.auth.media_link_ttl);
        let ann = Caller::new("ann".into(), vec![]);
        let now = tunemesh_runtime::clock::now_secs();
        // Valid for the whole run, however long.
        let (media_token, _) = media
            .mint(&ann, "t1", Quality::NORMAL, now + 30 * 24 * 3600)
            .expect("a media link");
        let bearer = tokens
            .mint(&ann, "fuzz-session", i64::try_from(now * 1000).unwrap_or(0))
            .expect("a token");
        Edge {
            app: Mutex::new(app),
            bearer,
            media: media_token,
            _dir: dir,
        }
    })
});

/// Every route of `router.rs`; `{}` is a path parameter.
const ROUTES: &[&str] = &[
    "/v1/auth/signup",
    "/v1/auth/login",
    "/v1/auth/refresh",
    "/v1/auth/logout",
    "/v1/tracks",
    "/v1/tracks/{}",
    "/v1/tracks/{}/manifest",
    "/v1/tracks/{}/audio-url",
    "/v1/tracks/{}/audio",
    "/v1/tracks/{}/segments/{}/{}",
    "/v1/tracks/{}/similar",
    "/v1/albums",
    "/v1/albums/{}",
    "/v1/artists",
    "/v1/artists/{}",
    "/v1/playback/report",
    "/v1/playlists",
    "/v1/me/playlists",
    "/v1/playlists/{}",
    "/v1/playlists/{}/items",
    "/v1/playlists/{}/items/move",
    "/v1/playlists/{}/items/{}",
    "/v1/playlists/{}/collaborators/{}",
    "/v1/playlists/{}/follow",
    "/v1/me/liked",
    "/v1/me/liked/contains",
    "/v1/me/liked/{}",
    "/v1/search",
    "/v1/recommendations",
    "/v1/radio/{}",
    "/openapi.json",
    "/healthz",
    "/readyz",
    "/metrics",
    "/",
    "/index.html",
    "/tunemesh.search.v1.SearchService/Search",
    "/tunemesh.player.v1.PlayerService/GetTrack",
    "/tunemesh.playlist.v1.PlaylistService/GetPlaylist",
    "/grpc.health.v1.Health/Check",
];

const METHODS: &[Method] = &[
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
    Method::HEAD,
];

const HEADERS: &[&str] = &[
    "range",
    "if-range",
    "origin",
    "access-control-request-method",
    "access-control-request-headers",
    "x-forwarded-for",
    "grpc-timeout",
    "traceparent",
    "tracestate",
    "accept",
    "accept-encoding",
    "content-encoding",
    "grpc-encoding",
    "te",
    "cookie",
    "tunemesh-identity",
    "x-grpc-web",
];

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/grpc",
    "application/grpc-web",
    "application/grpc-web+proto",
    "application/grpc-web-text",
    "text/plain",
];

#[derive(Debug, Arbitrary)]
enum Credential<'a> {
    None,
    Bearer,
    /// The media link in `?token=` (after the fuzzer's query).
    MediaLink,
    Raw(&'a [u8]),
}

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    method: Result<u8, &'a str>,
    /// A route of [`ROUTES`] or any path.
    route: Result<u8, &'a str>,
    /// Path parameters, percent-encoded unless `raw_params`.
    params: Vec<&'a str>,
    raw_params: bool,
    query: Option<&'a str>,
    auth: Credential<'a>,
    content_type: Option<Result<u8, &'a str>>,
    headers: Vec<(u8, &'a [u8])>,
    body: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    let edge = &*EDGE;
    let Some(request) = request(&input, edge) else {
        return;
    };
    let method = request.method().clone();
    let uri = request.uri().clone();
    let app = edge
        .app
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    RUNTIME.block_on(async {
        let call = async {
            let response = app.oneshot(request).await.expect("infallible");
            let status = response.status();
            let _ = response.into_body().collect().await;
            status
        };
        let status = tokio::time::timeout(Duration::from_secs(10), call)
            .await
            .unwrap_or_else(|_| panic!("{method} {uri} hung"));
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{method} {uri}");
    });
});

fn request(input: &Input<'_>, edge: &Edge) -> Option<Request<Body>> {
    let method = match input.method {
        Ok(i) => METHODS[usize::from(i) % METHODS.len()].clone(),
        Err(other) => Method::from_bytes(other.as_bytes()).ok()?,
    };
    let path = match input.route {
        Ok(i) => {
            let template = ROUTES[usize::from(i) % ROUTES.len()];
            let mut params = input.params.iter();
            let mut path = String::new();
            for (n, piece) in template.split("{}").enumerate() {
                if n > 0 {
                    let param = params.next().copied().unwrap_or("t1");
                    if input.raw_params {
                        path.push_str(param);
                    } else {
                        percent_encode(param, &mut path);
                    }
                }
                path.push_str(piece);
            }
            path
        }
        Err(raw) => raw.to_owned(),
    };
    let mut uri = path;
    let mut query = input.query.map(str::to_owned);
    if matches!(input.auth, Credential::MediaLink) {
        let link = format!("token={}", edge.media);
        query = Some(query.map_or(link.clone(), |q| format!("{q}&{link}")));
    }
    if let Some(query) = query {
        uri.push('?');
        uri.push_str(&query);
    }
    let mut builder = Request::builder().method(method).uri(uri);
    match input.auth {
        Credential::Bearer => {
            builder = builder.header("authorization", format!("Bearer {}", edge.bearer))
        }
        Credential::Raw(value) => {
            builder = builder.header("authorization", HeaderValue::from_bytes(value).ok()?)
        }
        Credential::None | Credential::MediaLink => {}
    }
    if let Some(content_type) = input.content_type {
        let value = match content_type {
            Ok(i) => CONTENT_TYPES[usize::from(i) % CONTENT_TYPES.len()],
            Err(other) => other,
        };
        builder = builder.header("content-type", HeaderValue::from_str(value).ok()?);
    }
    for (name, value) in &input.headers {
        let name = HeaderName::from_static(HEADERS[usize::from(*name) % HEADERS.len()]);
        builder = builder.header(name, HeaderValue::from_bytes(value).ok()?);
    }
    builder.body(Body::from(input.body.to_vec())).ok()
}

/// Percent-encodes everything but unreserved characters, as a client would a path segment.
fn percent_encode(text: &str, out: &mut String) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}

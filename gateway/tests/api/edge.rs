//! The HTTP edge itself: the OpenAPI document, unknown routes, security headers, CORS and
//! body limits.

use reqwest::Method;
use serde_json::json;

use crate::support::{self, error_code, status_and_json};

#[tokio::test]
async fn the_openapi_document_is_valid_openapi_3_and_lists_every_route() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let response = gateway.request(Method::GET, "/openapi.json").send().await?;
    assert_eq!(response.status(), 200);
    let text = response.text().await?;
    let spec = oas3::from_json(&text)?;
    let version = spec.validate_version()?;
    assert_eq!(version.major, 3);
    let operations: Vec<(String, String)> = spec
        .operations()
        .map(|(path, method, _)| (method.to_string(), path))
        .collect();
    for (method, path) in [
        ("POST", "/v1/auth/signup"),
        ("POST", "/v1/auth/login"),
        ("POST", "/v1/auth/refresh"),
        ("POST", "/v1/auth/logout"),
        ("GET", "/v1/tracks"),
        ("GET", "/v1/tracks/{id}"),
        ("GET", "/v1/albums"),
        ("GET", "/v1/albums/{id}"),
        ("GET", "/v1/artists"),
        ("GET", "/v1/artists/{id}"),
        ("GET", "/v1/artists/{id}/top-tracks"),
        ("GET", "/v1/me/history"),
        ("POST", "/v1/playback/report"),
        ("GET", "/v1/tracks/{id}/audio"),
        ("PUT", "/v1/library/uploads/{sha256}"),
        ("GET", "/v1/library/status"),
        ("POST", "/v1/me/subsonic-passwords"),
        ("GET", "/v1/me/subsonic-passwords"),
        ("DELETE", "/v1/me/subsonic-passwords/{id}"),
    ] {
        assert!(
            operations.contains(&(method.to_owned(), path.to_owned())),
            "{method} {path} missing from {operations:?}"
        );
    }
    // Every schema a response or body refers to is defined.
    let value: serde_json::Value = serde_json::from_str(&text)?;
    let schemas = &value["components"]["schemas"];
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap_or_default();
        assert!(schemas.get(name).is_some(), "dangling reference to {name}");
    }
    assert!(value["components"]["securitySchemes"]["bearer"].is_object());
    Ok(())
}

#[tokio::test]
async fn unknown_routes_answer_a_json_404() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let response = gateway.request(Method::GET, "/v1/nothing").send().await?;
    let (status, body) = status_and_json(response).await?;
    assert_eq!(status, 404);
    error_code(&body, "not_found");
    Ok(())
}

#[tokio::test]
async fn responses_carry_security_headers() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    for path in ["/healthz", "/v1/tracks"] {
        let response = gateway.request(Method::GET, path).send().await?;
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert!(headers.contains_key("content-security-policy"), "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
    }
    Ok(())
}

#[tokio::test]
async fn cors_admits_configured_origins_only() -> anyhow::Result<()> {
    let mut settings = support::settings();
    settings.http.cors_allowed_origins = vec!["https://app.example.com".into()];
    let gateway = support::spawn_with(settings).await?;
    let preflight = |origin: &'static str| {
        gateway
            .request(Method::OPTIONS, "/v1/tracks")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let allowed = preflight("https://app.example.com").await?;
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.as_bytes()),
        Some(&b"https://app.example.com"[..])
    );
    let refused = preflight("https://evil.example.net").await?;
    assert!(
        !refused
            .headers()
            .contains_key("access-control-allow-origin")
    );
    Ok(())
}

#[tokio::test]
async fn oversized_bodies_are_refused() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let body =
        json!({"email": "a@example.com", "username": "ann", "password": "x".repeat(100_000)});
    let (status, reply) = status_and_json(gateway.post("/v1/auth/signup", &body).await?).await?;
    assert_eq!(status, 400, "{reply}");
    assert!(error_code(&reply, "invalid_argument").contains("too large"));
    Ok(())
}

#[tokio::test]
async fn the_embedded_gateway_keeps_accounts_in_sqlite_under_the_data_dir() -> anyhow::Result<()> {
    use std::sync::Arc;

    use tunemesh_discovery::{EmbeddedRegistry, Mesh, MeshSettings};
    use tunemesh_gateway::{Gateway, GatewayContext};

    let data_dir = tempfile::tempdir()?;
    let ctx = GatewayContext {
        storage: tunemesh_runtime::Storage::Embedded {
            data_dir: data_dir.path().to_owned(),
        },
        mesh: Mesh::new(Arc::new(EmbeddedRegistry::new()), MeshSettings::default()),
    };
    let gateway = Gateway::build(&support::settings(), ctx).await?;
    let base = format!("http://{}", gateway.local_addr());
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(gateway.run_until(shutdown.clone()));
    let client = reqwest::Client::new();
    let signup =
        json!({"email": "ann@example.com", "username": "ann", "password": "correct horse"});
    let response = client
        .post(format!("{base}/v1/auth/signup"))
        .json(&signup)
        .send()
        .await?;
    assert_eq!(response.status(), 202);
    let login = json!({"login": "ann", "password": "correct horse"});
    let response = client
        .post(format!("{base}/v1/auth/login"))
        .json(&login)
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    assert!(data_dir.path().join("gateway/accounts.sqlite").is_file());
    shutdown.cancel();
    server.await??;
    Ok(())
}

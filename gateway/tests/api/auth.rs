//! Sign-up, login, tokens, refresh rotation, logout and the guard of protected routes.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{self, JWT_SECRET, error_code, header, status_and_json, text};

fn now() -> i64 {
    tunemesh_runtime::clock::now_ms() / 1000
}

fn claims(sub: &str, exp: i64) -> Value {
    json!({
        "sub": sub, "sid": "s1", "iss": "tunemesh-gateway", "aud": "tunemesh-api",
        "iat": now(), "exp": exp,
    })
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

async fn assert_unauthorized(response: reqwest::Response) -> anyhow::Result<String> {
    let challenge = response.headers().get("www-authenticate").cloned();
    let (status, body) = status_and_json(response).await?;
    assert_eq!(status, 401, "{body}");
    assert!(
        challenge.is_some_and(|c| c.as_bytes().starts_with(b"Bearer")),
        "401 without a bearer challenge"
    );
    Ok(error_code(&body, "unauthenticated"))
}

#[tokio::test]
async fn signup_then_login_gives_a_session_whose_token_opens_protected_routes() -> anyhow::Result<()>
{
    let gateway = support::spawn().await?;
    let session = gateway.signup("ann").await?;
    assert_eq!(text(&session, "/token_type"), "Bearer");
    assert_eq!(session["expires_in"], 900);
    assert!(text(&session, "/refresh_token").starts_with("tmr_"));
    assert!(!text(&session, "/user_id").is_empty());

    let response = gateway
        .get("/v1/tracks/t1", text(&session, "/access_token"))
        .await?;
    assert_eq!(response.status(), 200);
    Ok(())
}

/// Before, a taken email or name answered 409 `already_exists`: anyone could test a list of
/// addresses for accounts by signing up.
#[tokio::test]
async fn signup_answers_alike_for_a_taken_and_a_free_email_or_name() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    gateway.signup("ann").await?;
    let signup = |email: &str, name: &str| json!({"email": email, "username": name, "password": "another horse"});
    let gateway = &gateway;
    let answer = |body: Value| async move {
        let response = gateway.post("/v1/auth/signup", &body).await?;
        let status = response.status().as_u16();
        let cache = header(&response, "cache-control");
        anyhow::Ok((status, cache, response.bytes().await?))
    };
    let free = answer(signup("bob@example.com", "bob")).await?;
    assert_eq!(free.0, 202);
    assert_eq!(free.1, "no-store");
    let body: Value = serde_json::from_slice(&free.2)?;
    assert!(body.get("access_token").is_none(), "no session: {body}");
    for taken in [
        signup("ANN@example.com", "other"),
        signup("x@example.com", "Ann"),
    ] {
        assert_eq!(
            answer(taken).await?,
            free,
            "a taken email or name answers as a free one"
        );
    }

    // Neither taken sign-up created an account or touched ann's.
    for (login, password, expected) in [
        ("other", "another horse", 401),
        ("x@example.com", "another horse", 401),
        ("ann", "another horse", 401),
        ("ann", "correct horse", 200),
        ("bob", "another horse", 200),
    ] {
        let body = json!({"login": login, "password": password});
        let status = gateway.post("/v1/auth/login", &body).await?.status();
        assert_eq!(status, expected, "{login} / {password}");
    }
    Ok(())
}

#[tokio::test]
async fn bad_signup_input_is_a_400_that_says_what_to_fix() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let cases = [
        (
            json!({"email": "ann", "username": "ann", "password": "correct horse"}),
            "email",
        ),
        (
            json!({"email": "a@example.com", "username": "a b", "password": "correct horse"}),
            "username",
        ),
        (
            json!({"email": "a@example.com", "username": "ann", "password": "short"}),
            "password",
        ),
        (
            json!({"email": "a@example.com", "username": "ann", "password": "x".repeat(129)}),
            "password",
        ),
        (
            json!({"email": "a@example.com", "username": "ann"}),
            "missing field `password`",
        ),
        (
            json!({"email": "a@example.com", "username": "ann", "password": 12345678}),
            "wrong type",
        ),
    ];
    for (body, expected) in cases {
        let (status, reply) =
            status_and_json(gateway.post("/v1/auth/signup", &body).await?).await?;
        assert_eq!(status, 400, "{body}: {reply}");
        let message = error_code(&reply, "invalid_argument");
        assert!(
            message.contains(expected),
            "{message:?} should mention {expected:?}"
        );
        assert!(
            !message.contains("12345678"),
            "the value is never echoed: {message}"
        );
    }
    let not_json = gateway
        .request(Method::POST, "/v1/auth/signup")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await?;
    let (status, reply) = status_and_json(not_json).await?;
    assert_eq!(status, 400);
    error_code(&reply, "invalid_argument");
    Ok(())
}

#[tokio::test]
async fn login_works_by_email_or_username() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let session = gateway.signup("ann").await?;
    for login in ["ann", "Ann@Example.com"] {
        let body = json!({"login": login, "password": "correct horse"});
        let (status, reply) = status_and_json(gateway.post("/v1/auth/login", &body).await?).await?;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["user_id"], session["user_id"]);
    }
    Ok(())
}

#[tokio::test]
async fn a_failed_login_does_not_say_which_part_was_wrong() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    gateway.signup("ann").await?;
    let wrong_password = json!({"login": "ann", "password": "correct horsf"});
    let unknown_user = json!({"login": "bob", "password": "correct horse"});
    let a = assert_unauthorized(gateway.post("/v1/auth/login", &wrong_password).await?).await?;
    let b = assert_unauthorized(gateway.post("/v1/auth/login", &unknown_user).await?).await?;
    assert_eq!(a, b);
    Ok(())
}

#[tokio::test]
async fn protected_routes_refuse_missing_expired_forged_and_unsigned_tokens() -> anyhow::Result<()>
{
    let gateway = support::spawn().await?;
    let user = text(&gateway.signup("ann").await?, "/user_id").to_owned();
    let key = EncodingKey::from_secret(JWT_SECRET.as_bytes());

    let none = gateway.request(Method::GET, "/v1/tracks/t1").send().await?;
    assert_unauthorized(none).await?;
    let basic = gateway
        .request(Method::GET, "/v1/tracks/t1")
        .basic_auth("ann", Some("correct horse"))
        .send()
        .await?;
    assert_unauthorized(basic).await?;

    let expired = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(&user, now() - 120),
        &key,
    )?;
    let message = assert_unauthorized(gateway.get("/v1/tracks/t1", &expired).await?).await?;
    assert!(message.contains("expired"), "{message}");

    let other_key = EncodingKey::from_secret(b"another-secret-of-enough-length-0123456789");
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(&user, now() + 600),
        &other_key,
    )?;
    assert_unauthorized(gateway.get("/v1/tracks/t1", &forged).await?).await?;

    // Same key, another HMAC: the algorithm is pinned, not read from the token.
    let confused = jsonwebtoken::encode(
        &Header::new(Algorithm::HS384),
        &claims(&user, now() + 600),
        &key,
    )?;
    assert_unauthorized(gateway.get("/v1/tracks/t1", &confused).await?).await?;

    let header = base64url(br#"{"alg":"none","typ":"JWT"}"#);
    let body = base64url(claims(&user, now() + 600).to_string().as_bytes());
    for unsigned in [format!("{header}.{body}."), format!("{header}.{body}")] {
        assert_unauthorized(gateway.get("/v1/tracks/t1", &unsigned).await?).await?;
    }

    // A genuine gateway assertion is signed with another key for a service: no access token.
    let mesh_token = support::gateway_signer().mint(
        &tunemesh_runtime::identity::Caller::new(user.clone(), vec![]),
        "player",
        "/tunemesh.catalog.v1.CatalogService/GetTrack",
    )?;
    assert_unauthorized(gateway.get("/v1/tracks/t1", &mesh_token).await?).await?;

    let genuine = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(&user, now() + 600),
        &key,
    )?;
    assert_eq!(gateway.get("/v1/tracks/t1", &genuine).await?.status(), 200);
    Ok(())
}

async fn refresh(gateway: &support::TestGateway, token: &str) -> anyhow::Result<reqwest::Response> {
    gateway
        .post("/v1/auth/refresh", &json!({"refresh_token": token}))
        .await
}

#[tokio::test]
async fn refresh_rotates_the_pair() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let first = gateway.signup("ann").await?;
    let (status, second) =
        status_and_json(refresh(&gateway, text(&first, "/refresh_token")).await?).await?;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["user_id"], first["user_id"]);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    let response = gateway
        .get("/v1/tracks/t1", text(&second, "/access_token"))
        .await?;
    assert_eq!(response.status(), 200);
    let (status, _) =
        status_and_json(refresh(&gateway, text(&second, "/refresh_token")).await?).await?;
    assert_eq!(status, 200);
    Ok(())
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_its_whole_family() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let first = gateway.signup("ann").await?;
    let old = text(&first, "/refresh_token");
    let (_, second) = status_and_json(refresh(&gateway, old).await?).await?;

    assert_unauthorized(refresh(&gateway, old).await?).await?;
    // The thief's replay also logged out whoever held the successor.
    assert_unauthorized(refresh(&gateway, text(&second, "/refresh_token")).await?).await?;

    // Another login is another family, untouched.
    let login = json!({"login": "ann", "password": "correct horse"});
    let (_, other) = status_and_json(gateway.post("/v1/auth/login", &login).await?).await?;
    assert_eq!(
        refresh(&gateway, text(&other, "/refresh_token"))
            .await?
            .status(),
        200
    );
    Ok(())
}

#[tokio::test]
async fn unknown_and_malformed_refresh_tokens_are_refused() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let unknown = format!("tmr_{}", "ab".repeat(32));
    for token in [unknown.as_str(), "", "tmr_x", &"a".repeat(10_000)] {
        assert_unauthorized(refresh(&gateway, token).await?).await?;
    }
    Ok(())
}

#[tokio::test]
async fn logout_ends_the_session_and_refuses_another_users_token() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let ann = gateway.signup("ann").await?;
    let bob = gateway.signup("bob").await?;
    let logout = |token: &str, refresh: &str| {
        gateway
            .request(Method::POST, "/v1/auth/logout")
            .bearer_auth(token)
            .json(&json!({"refresh_token": refresh}))
            .send()
    };

    let stolen = logout(text(&bob, "/access_token"), text(&ann, "/refresh_token")).await?;
    assert_unauthorized(stolen).await?;
    let no_token = gateway
        .post(
            "/v1/auth/logout",
            &json!({"refresh_token": text(&ann, "/refresh_token")}),
        )
        .await?;
    assert_unauthorized(no_token).await?;

    let own = logout(text(&ann, "/access_token"), text(&ann, "/refresh_token")).await?;
    assert_eq!(own.status(), 204);
    assert_unauthorized(refresh(&gateway, text(&ann, "/refresh_token")).await?).await?;
    // The session's access token died with it; bob's session is untouched.
    let message = assert_unauthorized(
        gateway
            .get("/v1/tracks/t1", text(&ann, "/access_token"))
            .await?,
    )
    .await?;
    assert!(message.contains("session has ended"), "{message}");
    assert_eq!(
        gateway
            .get("/v1/tracks/t1", text(&bob, "/access_token"))
            .await?
            .status(),
        200
    );
    assert_eq!(
        refresh(&gateway, text(&bob, "/refresh_token"))
            .await?
            .status(),
        200
    );
    Ok(())
}

#[tokio::test]
async fn login_attempts_are_rate_limited_per_address() -> anyhow::Result<()> {
    let mut settings = support::settings();
    settings.rate_limits.auth_per_ip = tunemesh_gateway::settings::Quota {
        per_minute: 1,
        burst: 3,
    };
    let gateway = support::spawn_with(settings).await?;
    let guess = json!({"login": "ann", "password": "guess-guess"});
    for _ in 0..3 {
        assert_eq!(gateway.post("/v1/auth/login", &guess).await?.status(), 401);
    }
    let response = gateway.post("/v1/auth/login", &guess).await?;
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (status, body) = status_and_json(response).await?;
    assert_eq!(status, 429, "{body}");
    error_code(&body, "resource_exhausted");
    assert!(
        retry_after.is_some_and(|s| (1..=60).contains(&s)),
        "{retry_after:?}"
    );
    // Sign-up shares the bucket; other routes do not.
    let signup = json!({"email": "a@example.com", "username": "ann", "password": "correct horse"});
    assert_eq!(
        gateway.post("/v1/auth/signup", &signup).await?.status(),
        429
    );
    assert_eq!(
        gateway
            .request(Method::GET, "/healthz")
            .send()
            .await?
            .status(),
        200
    );
    Ok(())
}

#[tokio::test]
async fn authenticated_requests_are_rate_limited_per_user() -> anyhow::Result<()> {
    let mut settings = support::settings();
    settings.rate_limits.per_user = tunemesh_gateway::settings::Quota {
        per_minute: 1,
        burst: 2,
    };
    let gateway = support::spawn_with(settings).await?;
    let ann = gateway.signup("ann").await?;
    let bob = gateway.signup("bob").await?;
    let token = text(&ann, "/access_token");
    for _ in 0..2 {
        assert_eq!(gateway.get("/v1/tracks/t1", token).await?.status(), 200);
    }
    let limited = gateway.get("/v1/tracks/t1", token).await?;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(
        gateway
            .get("/v1/tracks/t1", text(&bob, "/access_token"))
            .await?
            .status(),
        200
    );
    Ok(())
}

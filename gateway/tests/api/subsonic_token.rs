//! Legacy token auth (`u`+`t`+`s`, `t` = md5(secret + salt)) with real md5 tokens: only app
//! passwords marked for legacy clients take it, salts may be reused, a user without one gets
//! 41; seal keys rotate; failures count per user name too; `/rest` answers CORS for any
//! origin; `serverVersion` carries the commit.

use md5::{Digest as _, Md5};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::Value;
use tunemesh_gateway::settings::Quota;

use crate::subsonic_support::{
    AppUser, another_password, app_user, failed_with, json_call, revoke,
};
use crate::support::{self, header, text};

/// `md5(secret + salt)`, lower-case hex, as clients compute it.
fn token(secret: &str, salt: &str) -> String {
    hex::encode(Md5::digest(format!("{secret}{salt}").as_bytes()))
}

fn by_token(user: &AppUser, secret: &str, salt: &str) -> String {
    format!(
        "u={}&t={}&s={salt}&c=Feishin",
        user.name,
        token(secret, salt)
    )
}

#[tokio::test]
async fn a_legacy_app_password_signs_in_by_token_with_a_reused_salt() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let plain = app_user(&gateway, "ann", "DSub").await?;
    let legacy = another_password(&gateway, "ann", &plain.token, "Feishin", true).await?;

    let (status, listed) = support::status_and_json(
        gateway
            .get("/v1/me/subsonic-passwords", &plain.token)
            .await?,
    )
    .await?;
    assert_eq!(status, 200);
    let flags: Vec<(&str, bool)> = listed["passwords"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| (text(p, "/name"), p["legacy_token_auth"] == true))
        .collect();
    assert_eq!(flags, [("Feishin", true), ("DSub", false)]);

    // Feishin computes one (t, s) at login and sends it forever: the same pair works again.
    for _ in 0..3 {
        let body = json_call(
            &gateway,
            "ping",
            &by_token(&legacy, &legacy.secret, "c19b2d"),
        )
        .await?;
        assert_eq!(body["status"], "ok", "{body}");
    }
    let upper = format!("u=ANN&t={}&s=x", token(&legacy.secret, "x").to_uppercase());
    let body = json_call(&gateway, "ping", &upper).await?;
    assert_eq!(body["status"], "ok", "either case, user names too: {body}");
    // The legacy one also works as a password and an API key.
    for auth in [
        format!("u=ann&p={}", legacy.secret),
        format!("apiKey={}", legacy.secret),
    ] {
        assert_eq!(json_call(&gateway, "ping", &auth).await?["status"], "ok");
    }

    // A token made from the app password that is not marked, or from a guess: 40.
    for secret in [plain.secret.as_str(), "correct horse"] {
        let body = json_call(&gateway, "ping", &by_token(&legacy, secret, "c19b2d")).await?;
        let message = failed_with(&body, 40);
        assert!(message.contains("app password"), "{message}");
    }
    // Mixed or incomplete mechanisms.
    let mixed = format!(
        "{}&p={}",
        by_token(&legacy, &legacy.secret, "s"),
        legacy.secret
    );
    failed_with(&json_call(&gateway, "ping", &mixed).await?, 43);
    failed_with(
        &json_call(
            &gateway,
            "ping",
            &format!("u=ann&t={}", token(&legacy.secret, "s")),
        )
        .await?,
        10,
    );

    // Revoked, the user has no legacy app password left: 41 (clients then send `p`).
    assert_eq!(revoke(&gateway, &legacy).await?, 204);
    let body = json_call(
        &gateway,
        "ping",
        &by_token(&legacy, &legacy.secret, "c19b2d"),
    )
    .await?;
    failed_with(&body, 41);
    Ok(())
}

#[tokio::test]
async fn token_sign_in_without_a_legacy_app_password_answers_41_for_known_and_unknown_users()
-> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let ann = app_user(&gateway, "ann", "DSub").await?;
    let known = json_call(&gateway, "ping", &by_token(&ann, &ann.secret, "abcdef")).await?;
    let message = failed_with(&known, 41);
    assert!(message.contains("app password"), "{message}");
    assert!(message.contains("legacy"), "{message}");
    let unknown = json_call(&gateway, "ping", "u=nobody&t=0123&s=abcdef").await?;
    assert_eq!(
        failed_with(&unknown, 41),
        message,
        "an unknown user is answered alike: no account is revealed"
    );
    // DSub's fallback after 41: the same app password as p=enc: works.
    let enc = format!("u=ann&p=enc:{}&v=1.2.0&c=DSub", hex::encode(&ann.secret));
    assert_eq!(json_call(&gateway, "ping", &enc).await?["status"], "ok");
    Ok(())
}

#[tokio::test]
async fn a_token_opens_only_the_named_user_s_legacy_passwords_at_most_ten() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let ann = app_user(&gateway, "ann", "DSub").await?;
    let bob = app_user(&gateway, "bob", "DSub").await?;
    let bobs = another_password(&gateway, "bob", &bob.token, "Feishin", true).await?;
    for n in 0..10 {
        another_password(&gateway, "ann", &ann.token, &format!("app {n}"), true).await?;
    }
    // Bob's legacy secret under ann's name: only ann's are opened.
    let body = json_call(&gateway, "ping", &by_token(&ann, &bobs.secret, "abcdef")).await?;
    failed_with(&body, 40);
    let body = json_call(&gateway, "ping", &by_token(&bob, &bobs.secret, "abcdef")).await?;
    assert_eq!(body["status"], "ok", "{body}");
    // A token check opens at most ten: an eleventh legacy app password is refused.
    let response = gateway
        .request(Method::POST, "/v1/me/subsonic-passwords")
        .bearer_auth(&ann.token)
        .json(&serde_json::json!({ "name": "app 11", "legacy_token_auth": true }))
        .send()
        .await?;
    let (status, body) = support::status_and_json(response).await?;
    assert_eq!(status, 400, "{body}");
    assert!(
        text(&body, "/error/message").contains("at most 10"),
        "{body}"
    );
    // Ones without the mark still can be made.
    another_password(&gateway, "ann", &ann.token, "app 11", false).await?;
    Ok(())
}

#[tokio::test]
async fn without_seal_keys_token_auth_is_off_and_legacy_passwords_are_refused() -> anyhow::Result<()>
{
    let mut settings = support::settings();
    settings.subsonic.seal_keys = None;
    let gateway = support::spawn_with(settings).await?;
    let ann = app_user(&gateway, "ann", "DSub").await?;
    let response = gateway
        .request(Method::POST, "/v1/me/subsonic-passwords")
        .bearer_auth(&ann.token)
        .json(&serde_json::json!({ "name": "Feishin", "legacy_token_auth": true }))
        .send()
        .await?;
    let (status, body) = support::status_and_json(response).await?;
    assert_eq!(status, 400, "{body}");
    assert!(
        text(&body, "/error/message").contains("seal_keys"),
        "{body}"
    );
    failed_with(
        &json_call(&gateway, "ping", &by_token(&ann, &ann.secret, "abcdef")).await?,
        41,
    );
    Ok(())
}

#[tokio::test]
async fn a_rotated_seal_key_opens_old_secrets_and_reseals_them() -> anyhow::Result<()> {
    let old = support::settings();
    let mut rotated = support::settings();
    rotated.subsonic.seal_keys = Some(SecretString::from(format!(
        "{}, 2:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=",
        support::SUBSONIC_SEAL_KEYS
    )));
    let (first, second) = support::spawn_two(old, rotated).await?;
    let ann = app_user(&first, "ann", "DSub").await?;
    let legacy = another_password(&first, "ann", &ann.token, "Feishin", true).await?;
    // Sealed under version 1 by the first replica; the second has versions 1 and 2.
    let auth = by_token(&legacy, &legacy.secret, "salt01");
    assert_eq!(json_call(&second, "ping", &auth).await?["status"], "ok");
    // That sign-in resealed it under version 2, which the first replica does not have: its
    // secret no longer opens there (the first replica never cached it).
    let other_salt = by_token(&legacy, &legacy.secret, "salt02");
    failed_with(&json_call(&first, "ping", &other_salt).await?, 40);
    assert_eq!(
        json_call(&second, "ping", &other_salt).await?["status"],
        "ok"
    );
    Ok(())
}

/// A `/rest` call as if from `client` (through a trusted proxy).
async fn call_from(
    gateway: &support::TestGateway,
    client: &str,
    query: &str,
) -> anyhow::Result<Value> {
    let response = gateway
        .request(Method::GET, &format!("/rest/ping?f=json&{query}"))
        .header("x-forwarded-for", client)
        .send()
        .await?;
    let body: Value = response.json().await?;
    Ok(body["subsonic-response"].clone())
}

#[tokio::test]
async fn failures_from_many_addresses_share_a_user_name_s_bucket() -> anyhow::Result<()> {
    let mut settings = support::settings();
    settings.rate_limits.trusted_proxies = vec!["127.0.0.1".into()];
    settings.subsonic.failures_per_user = Quota {
        per_minute: 1,
        burst: 3,
    };
    let gateway = support::spawn_with(settings).await?;
    let ann = app_user(&gateway, "ann", "DSub").await?;
    app_user(&gateway, "bob", "DSub").await?;
    let good = format!("u=ann&p={}", ann.secret);
    // The owner's phone signs in first: its address is known for ann from then on.
    assert_eq!(
        call_from(&gateway, "192.0.2.1", &good).await?["status"],
        "ok"
    );
    for n in 1..=3 {
        let body = call_from(&gateway, &format!("198.51.100.{n}"), "u=ann&p=guess").await?;
        failed_with(&body, 40);
    }
    // A fourth address, even with the right secret, waits: no guess can be confirmed.
    let body = call_from(&gateway, "198.51.100.4", &good).await?;
    let message = failed_with(&body, 0);
    assert!(
        message.contains("too many failed sign-ins for this user"),
        "{message}"
    );
    let token = by_token(&ann, &ann.secret, "abcdef");
    failed_with(&call_from(&gateway, "198.51.100.4", &token).await?, 0);
    // The owner is not locked out, and other users are not affected.
    assert_eq!(
        call_from(&gateway, "192.0.2.1", &good).await?["status"],
        "ok"
    );
    let bob = call_from(&gateway, "198.51.100.4", "u=bob&p=guess").await?;
    failed_with(&bob, 40);
    Ok(())
}

#[tokio::test]
async fn rest_answers_cors_for_any_origin_without_credentials() -> anyhow::Result<()> {
    let mut settings = support::settings();
    // The configured origins are for the rest of the API; /rest keeps its own policy.
    settings.http.cors_allowed_origins = vec!["https://app.example.com".into()];
    let gateway = support::spawn_with(settings).await?;
    let ann = app_user(&gateway, "ann", "Feishin").await?;
    let origin = "https://feishin.example.org";

    let preflight = gateway
        .request(Method::OPTIONS, "/rest/ping.view")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type,range")
        .send()
        .await?;
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(header(&preflight, "access-control-allow-origin"), "*");
    assert!(header(&preflight, "access-control-allow-methods").contains("POST"));
    assert_eq!(header(&preflight, "access-control-allow-headers"), "*");
    assert!(header(&preflight, "access-control-allow-credentials").is_empty());

    for query in [format!("apiKey={}", ann.secret), "apiKey=wrong".to_owned()] {
        let response = gateway
            .request(Method::GET, &format!("/rest/ping?f=json&{query}"))
            .header("origin", origin)
            .send()
            .await?;
        assert_eq!(header(&response, "access-control-allow-origin"), "*");
        assert!(header(&response, "access-control-allow-credentials").is_empty());
        let exposed = header(&response, "access-control-expose-headers").to_lowercase();
        for name in ["content-length", "content-range", "accept-ranges", "etag"] {
            assert!(exposed.contains(name), "{name} in {exposed}");
        }
    }

    // Elsewhere, only the configured origins.
    let elsewhere = gateway
        .request(Method::GET, "/v1/me/subsonic-passwords")
        .bearer_auth(&ann.token)
        .header("origin", origin)
        .send()
        .await?;
    assert!(header(&elsewhere, "access-control-allow-origin").is_empty());
    let configured = gateway
        .request(Method::GET, "/v1/me/subsonic-passwords")
        .bearer_auth(&ann.token)
        .header("origin", "https://app.example.com")
        .send()
        .await?;
    assert_eq!(
        header(&configured, "access-control-allow-origin"),
        "https://app.example.com"
    );
    Ok(())
}

/// `git args` in this crate's folder: its trimmed output, or `None` without git or a checkout.
fn git(args: &[&str]) -> Option<String> {
    std::process::Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[tokio::test]
async fn server_version_carries_the_commit() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let body = json_call(&gateway, "getOpenSubsonicExtensions", "").await?;
    let version = body["serverVersion"].as_str().unwrap_or_default();
    assert!(version.starts_with(env!("CARGO_PKG_VERSION")), "{version}");
    if git(&["rev-parse", "--short", "HEAD"]).is_some() {
        // Built from this checkout (build.rs): the commit it was built at, which is HEAD or,
        // when commits were made since the build, one of its ancestors.
        let sha = version
            .strip_prefix(concat!(env!("CARGO_PKG_VERSION"), " ("))
            .and_then(|rest| rest.strip_suffix(')'))
            .unwrap_or_else(|| panic!("no commit in {version:?}"));
        assert!(
            sha.len() >= 7 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
            "{version}"
        );
        assert!(
            git(&["merge-base", "--is-ancestor", sha, "HEAD"]).is_some(),
            "{sha} is this checkout's HEAD or an ancestor"
        );
    }
    Ok(())
}

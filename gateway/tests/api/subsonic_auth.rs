//! Subsonic app passwords end to end: created through REST, used on `/rest` as `apiKey` and
//! as `u`+`p` (plain and `enc:`), listed with last use and client, revoked; the account
//! password refused with a message saying what to do; only failures rate-limited.

use serde_json::Value;

use crate::subsonic_support::{app_user, failed_with, json_call, revoke};
use tunemesh_gateway::settings::Quota;

use crate::support::{self, text};

/// `s` as py-sonic encodes it for `p=enc:` (upper-case hex).
fn enc_upper(s: &str) -> String {
    format!("enc:{}", hex::encode_upper(s.as_bytes()))
}

async fn listed(gateway: &support::TestGateway, token: &str) -> anyhow::Result<Vec<Value>> {
    let (status, body) =
        support::status_and_json(gateway.get("/v1/me/subsonic-passwords", token).await?).await?;
    assert_eq!(status, 200, "{body}");
    Ok(body["passwords"].as_array().cloned().unwrap_or_default())
}

#[tokio::test]
async fn an_app_password_works_as_api_key_and_as_password_until_revoked() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let ann = app_user(&gateway, "ann", "Pixel, Symfonium").await?;
    assert!(
        ann.secret.starts_with("tm_") && ann.secret.len() >= 29,
        "{}",
        ann.secret
    );
    assert!(ann.secret.is_ascii());

    let listed_before = listed(&gateway, &ann.token).await?;
    assert_eq!(listed_before.len(), 1);
    assert_eq!(text(&listed_before[0], "/name"), "Pixel, Symfonium");
    assert!(
        listed_before[0].get("password").is_none(),
        "the secret is shown once"
    );
    assert!(listed_before[0]["last_used_at"].is_null());

    let token_info = json_call(&gateway, "tokenInfo", &format!("apiKey={}", ann.secret)).await?;
    assert_eq!(token_info["tokenInfo"]["username"], "ann", "{token_info}");
    for p in [
        ann.secret.clone(),
        enc_upper(&ann.secret),
        format!("enc:{}", hex::encode(&ann.secret)),
    ] {
        // User names are matched case-insensitively, as they are stored lower-cased.
        let body = json_call(&gateway, "ping", &format!("u=Ann&p={p}&c=Symfonium")).await?;
        assert_eq!(body["status"], "ok", "{p}: {body}");
    }
    let after = listed(&gateway, &ann.token).await?;
    assert!(after[0]["last_used_at"].is_string(), "{:?}", after[0]);
    assert_eq!(text(&after[0], "/last_client"), "Symfonium");
    assert_eq!(
        text(&after[0], "/hint"),
        &ann.secret[ann.secret.len() - 4..]
    );

    // Another user's name with ann's secret is refused.
    app_user(&gateway, "bob", "DSub").await?;
    failed_with(
        &json_call(&gateway, "ping", &format!("u=bob&p={}", ann.secret)).await?,
        40,
    );

    assert_eq!(revoke(&gateway, &ann).await?, 204);
    failed_with(
        &json_call(&gateway, "ping", &format!("apiKey={}", ann.secret)).await?,
        44,
    );
    failed_with(
        &json_call(&gateway, "ping", &format!("u=ann&p={}", ann.secret)).await?,
        40,
    );
    assert!(listed(&gateway, &ann.token).await?.is_empty());
    assert_eq!(revoke(&gateway, &ann).await?, 404);
    Ok(())
}

#[tokio::test]
async fn the_account_password_is_refused_with_a_message_about_app_passwords() -> anyhow::Result<()>
{
    let gateway = support::spawn().await?;
    app_user(&gateway, "ann", "DSub").await?;
    for p in ["correct horse".to_owned(), enc_upper("correct horse")] {
        let body = json_call(&gateway, "ping", &format!("u=ann&p={p}&v=1.2.0&c=DSub")).await?;
        let message = failed_with(&body, 40);
        assert!(message.contains("app password"), "{message}");
        assert!(message.contains("web player"), "{message}");
    }
    Ok(())
}

#[tokio::test]
async fn only_failed_sign_ins_are_rate_limited() -> anyhow::Result<()> {
    let mut settings = support::settings();
    // Sign-up and login take 2 of the burst; 3 failures are left.
    settings.rate_limits.auth_per_ip = Quota {
        per_minute: 1,
        burst: 5,
    };
    let gateway = support::spawn_with(settings).await?;
    let ann = app_user(&gateway, "ann", "Feishin").await?;
    let good = format!("u=ann&p={}", ann.secret);
    for _ in 0..30 {
        let body = json_call(&gateway, "ping", &good).await?;
        assert_eq!(body["status"], "ok", "successes never count: {body}");
    }
    let mut refused_after = None;
    for attempt in 1..=10 {
        let body = json_call(&gateway, "ping", "u=ann&p=guess").await?;
        let code = body["error"]["code"].as_u64();
        if code == Some(0) {
            assert!(
                failed_with(&body, 0).contains("too many failed sign-ins"),
                "{body}"
            );
            refused_after = Some(attempt);
            break;
        }
        failed_with(&body, 40);
    }
    assert_eq!(
        refused_after,
        Some(4),
        "3 failures allowed, the 4th refused"
    );
    // While the address is over its budget, even right credentials are refused: no guess
    // can be confirmed.
    let body = json_call(&gateway, "ping", &good).await?;
    assert!(
        failed_with(&body, 0).contains("too many failed sign-ins"),
        "{body}"
    );
    Ok(())
}

#[tokio::test]
async fn a_verified_password_is_cached_per_replica_and_forgotten_where_revoked()
-> anyhow::Result<()> {
    let (first, second) = support::spawn_pair(support::settings()).await?;
    let ann = app_user(&first, "ann", "Tempo").await?;
    let auth = format!("apiKey={}", ann.secret);
    assert_eq!(json_call(&second, "ping", &auth).await?["status"], "ok");
    assert_eq!(revoke(&first, &ann).await?, 204);
    failed_with(&json_call(&first, "ping", &auth).await?, 44);
    // The other replica answers from its cache (auth_cache_ttl, 60 s) without the store.
    assert_eq!(json_call(&second, "ping", &auth).await?["status"], "ok");
    Ok(())
}

//! How sessions end: logout refuses the session's access tokens at once, on every gateway
//! replica sharing the account database, and a login ends at its absolute lifetime however
//! often it is refreshed.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::support::{self, text};

#[tokio::test]
async fn an_access_token_is_refused_right_after_logout_by_every_gateway() -> anyhow::Result<()> {
    let mut settings = support::settings();
    settings.auth.revocation_poll = Duration::from_millis(100);
    let (first, second) = support::spawn_pair(settings).await?;
    let ann = first.signup("ann").await?;
    let (access, refresh) = (text(&ann, "/access_token"), text(&ann, "/refresh_token"));
    // Both replicas accept the token while the session lasts.
    assert_eq!(first.get("/v1/tracks/t1", access).await?.status(), 200);
    assert_eq!(second.get("/v1/tracks/t1", access).await?.status(), 200);

    let logout = first
        .request(Method::POST, "/v1/auth/logout")
        .bearer_auth(access)
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await?;
    assert_eq!(logout.status(), 204);
    assert_eq!(first.get("/v1/tracks/t1", access).await?.status(), 401);
    // The other replica learns it from the shared store within one poll.
    tunemesh_testkit::eventually(Duration::from_secs(5), || async {
        let status = second.get("/v1/tracks/t1", access).await?.status();
        anyhow::ensure!(status == 401, "the second gateway answered {status}");
        Ok(())
    })
    .await?;
    // Another login of the same user is untouched.
    let login = json!({"login": "ann", "password": "correct horse"});
    let other = second.post("/v1/auth/login", &login).await?.json().await?;
    let other: serde_json::Value = other;
    let fresh = text(&other, "/access_token");
    assert_eq!(first.get("/v1/tracks/t1", fresh).await?.status(), 200);
    Ok(())
}

#[tokio::test]
async fn a_session_dies_at_its_absolute_lifetime_however_often_it_is_refreshed()
-> anyhow::Result<()> {
    let mut settings = support::settings();
    settings.auth.session_ttl = Duration::from_secs(2);
    let gateway = support::spawn_with(settings).await?;
    let started = std::time::Instant::now();
    let mut refresh = text(&gateway.signup("ann").await?, "/refresh_token").to_owned();
    let mut refreshed = 0;
    let ended = loop {
        let response = gateway
            .post("/v1/auth/refresh", &json!({"refresh_token": refresh}))
            .await?;
        match response.status().as_u16() {
            200 => {
                let session: serde_json::Value = response.json().await?;
                refresh = text(&session, "/refresh_token").to_owned();
                refreshed += 1;
            }
            401 => break started.elapsed(),
            other => anyhow::bail!("refresh answered {other}"),
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(10),
            "the session outlived its lifetime ({refreshed} refreshes)"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(refreshed > 0, "refreshing works while the session lasts");
    assert!(
        ended >= Duration::from_secs(2) - Duration::from_millis(100),
        "{ended:?}"
    );
    Ok(())
}

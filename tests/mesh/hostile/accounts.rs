//! Hostile: accounts. Guessing one account's password from many addresses is cut off after a
//! few guesses while its owner still logs in; a logout ends the session's access token at
//! once; sign-up does not say whether an email or user name is taken.

use std::net::IpAddr;

use serde_json::{Value, json};

use tunemesh_testkit::accounts;

use crate::support::RunningMesh;

/// A client whose connections come from `addr` (any 127.0.0.0/8 address is local on Linux).
fn client_from(addr: IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(addr)
        .build()
        .expect("client")
}

async fn login(mesh: &RunningMesh, client: &reqwest::Client, password: &str) -> (u16, Value) {
    let response = client
        .post(mesh.url("/v1/auth/login"))
        .json(&json!({"login": "victim", "password": password}))
        .send()
        .await
        .expect("answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test]
async fn many_addresses_guessing_one_password_are_cut_off_while_the_owner_logs_in()
-> anyhow::Result<()> {
    let mesh = RunningMesh::start().await?;
    mesh.wait_ready().await?;
    let home = client_from([127, 0, 0, 1].into());
    // The owner signs up and logs in from home before the attack.
    let base = mesh.url("");
    accounts::sign_up(&home, &base, "victim", "the owner's long passphrase").await?;

    // 40 addresses, each staying under the per-address limit (5 at once).
    let (mut evaluated, mut refused) = (0, 0);
    for host in 2..42u8 {
        let attacker = client_from([127, 0, 0, host].into());
        for guess in 0..3 {
            match login(&mesh, &attacker, &format!("guess-{host}-{guess}")).await {
                (401, _) => evaluated += 1,
                (429, _) => refused += 1,
                (other, body) => anyhow::bail!("a guess answered {other}: {body}"),
            }
        }
    }
    // Before per-account limits every one of the 120 guesses was checked.
    assert!(
        evaluated <= 12,
        "{evaluated} guesses checked, {refused} refused"
    );
    assert!(
        refused >= 108,
        "{evaluated} guesses checked, {refused} refused"
    );

    // Under attack, the owner at home still gets in.
    let (status, session) = login(&mesh, &home, "the owner's long passphrase").await;
    assert_eq!(status, 200, "{session}");
    mesh.stop().await
}

#[tokio::test]
async fn an_access_token_is_refused_right_after_logout() -> anyhow::Result<()> {
    let mesh = RunningMesh::start().await?;
    mesh.wait_ready().await?;
    let base = mesh.url("");
    let session = accounts::sign_up(&mesh.http, &base, "ann", "correct horse battery").await?;
    let access = session["access_token"].as_str().unwrap_or_default();
    let refresh = session["refresh_token"].as_str().unwrap_or_default();
    let tracks = || {
        mesh.http
            .get(mesh.url("/v1/tracks"))
            .bearer_auth(access)
            .send()
    };
    assert_eq!(tracks().await?.status(), 200);
    let logout = mesh
        .http
        .post(mesh.url("/v1/auth/logout"))
        .bearer_auth(access)
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await?;
    assert_eq!(logout.status(), 204);
    // Before, a stolen access token kept working for its whole lifetime (15 minutes).
    assert_eq!(tracks().await?.status(), 401);
    mesh.stop().await
}

/// Before, sign-up answered 409 for a taken email or name, so anyone could check a list of
/// addresses for accounts; now a taken one answers byte for byte as a free one.
#[tokio::test]
async fn signup_does_not_say_whether_an_email_or_name_is_taken() -> anyhow::Result<()> {
    let mesh = RunningMesh::start().await?;
    mesh.wait_ready().await?;
    let base = mesh.url("");
    accounts::sign_up(&mesh.http, &base, "ann", "correct horse battery").await?;
    let answer = |email: &str, name: &str| {
        let body = json!({"email": email, "username": name, "password": "another passphrase"});
        let request = mesh.http.post(mesh.url("/v1/auth/signup")).json(&body);
        async move {
            let response = request.send().await?;
            anyhow::Ok((response.status().as_u16(), response.bytes().await?))
        }
    };
    let free = answer("bob@example.com", "bob").await?;
    assert_eq!(free.0, 202);
    assert_eq!(answer("ann@example.com", "carol").await?, free);
    assert_eq!(answer("dave@example.com", "ANN").await?, free);
    mesh.stop().await
}

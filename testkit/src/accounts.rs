//! A listener's account, made through a gateway's REST edge as a client makes one: sign up
//! (which starts no session and answers alike whether or not it created the account), then
//! log in.

use anyhow::Context as _;
use serde_json::{Value, json};

/// Signs up `name` (email `name@example.com`) with `password` at the gateway at `base`
/// (`http://host:port`) through `http`, then logs in; the session JSON (`user_id`,
/// `access_token`, `refresh_token`, …).
pub async fn sign_up(
    http: &reqwest::Client,
    base: &str,
    name: &str,
    password: &str,
) -> anyhow::Result<Value> {
    let signup = json!({
        "email": format!("{name}@example.com"),
        "username": name,
        "password": password,
    });
    let response = http
        .post(format!("{base}/v1/auth/signup"))
        .json(&signup)
        .send()
        .await
        .context("sign-up")?;
    let status = response.status();
    anyhow::ensure!(
        status == reqwest::StatusCode::ACCEPTED,
        "sign-up of {name} answered {status}: {}",
        response.text().await.unwrap_or_default()
    );
    let login = json!({"login": name, "password": password});
    let response = http
        .post(format!("{base}/v1/auth/login"))
        .json(&login)
        .send()
        .await
        .context("login")?;
    let status = response.status();
    let session: Value = response.json().await.context("login answer")?;
    anyhow::ensure!(
        status.is_success(),
        "login of {name} answered {status}: {session}"
    );
    Ok(session)
}

/// The access token of a session [`sign_up`] answered.
pub fn access_token(session: &Value) -> anyhow::Result<String> {
    session["access_token"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no access_token in {session}"))
}

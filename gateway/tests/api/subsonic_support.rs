//! What the Subsonic tests share: calling `/rest`, reading its answers in each format, and
//! validating every XML answer against the Subsonic 1.16.1 XSD with `xmllint`.

use std::io::Write as _;
use std::process::{Command, Stdio};

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestGateway, header, text};

/// An account with one app password: its user name, access token and secret.
pub struct AppUser {
    /// The user name.
    pub name: String,
    /// A REST access token.
    pub token: String,
    /// The app password's secret.
    pub secret: String,
    /// The app password's id.
    pub id: String,
}

/// Signs up `name` and creates an app password called `app` for them.
pub async fn app_user(gateway: &TestGateway, name: &str, app: &str) -> anyhow::Result<AppUser> {
    let token = text(&gateway.signup(name).await?, "/access_token").to_owned();
    another_password(gateway, name, &token, app, false).await
}

/// Creates another app password called `app` for `name` (signed in with `token`); with
/// `legacy`, marked for legacy (token) clients.
pub async fn another_password(
    gateway: &TestGateway,
    name: &str,
    token: &str,
    app: &str,
    legacy: bool,
) -> anyhow::Result<AppUser> {
    let response = gateway
        .request(Method::POST, "/v1/me/subsonic-passwords")
        .bearer_auth(token)
        .json(&json!({ "name": app, "legacy_token_auth": legacy }))
        .send()
        .await?;
    anyhow::ensure!(response.status() == 201, "create: {}", response.status());
    let created: Value = response.json().await?;
    anyhow::ensure!(created["legacy_token_auth"] == legacy, "{created}");
    Ok(AppUser {
        name: name.to_owned(),
        token: token.to_owned(),
        secret: text(&created, "/password").to_owned(),
        id: text(&created, "/id").to_owned(),
    })
}

/// Revokes `user`'s app password through REST on `gateway`; the HTTP status.
pub async fn revoke(gateway: &TestGateway, user: &AppUser) -> anyhow::Result<u16> {
    let response = gateway
        .request(
            Method::DELETE,
            &format!("/v1/me/subsonic-passwords/{}", user.id),
        )
        .bearer_auth(&user.token)
        .send()
        .await?;
    Ok(response.status().as_u16())
}

/// `GET /rest/<method>?<query>` with `f=json`: the `subsonic-response` object, after checking
/// the answer is HTTP 200 JSON.
pub async fn json_call(gateway: &TestGateway, method: &str, query: &str) -> anyhow::Result<Value> {
    let response = gateway
        .request(Method::GET, &format!("/rest/{method}?f=json&{query}"))
        .send()
        .await?;
    assert_eq!(response.status(), 200, "{method}: every answer is HTTP 200");
    assert_eq!(header(&response, "content-type"), "application/json");
    let body: Value = response.json().await?;
    Ok(body["subsonic-response"].clone())
}

/// `GET /rest/<method>?<query>` in XML (no `f`, as DSub sends): the document, validated.
pub async fn xml_call(gateway: &TestGateway, method: &str, query: &str) -> anyhow::Result<String> {
    let response = gateway
        .request(Method::GET, &format!("/rest/{method}?{query}"))
        .send()
        .await?;
    assert_eq!(response.status(), 200, "{method}: every answer is HTTP 200");
    assert_eq!(header(&response, "content-type"), "text/xml; charset=utf-8");
    let xml = response.text().await?;
    assert_valid(&xml);
    Ok(xml)
}

/// Asserts a JSON answer failed with `code`; returns its message.
pub fn failed_with(body: &Value, code: u64) -> String {
    assert_eq!(body["status"], "failed", "{body}");
    assert_eq!(body["error"]["code"].as_u64(), Some(code), "{body}");
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!message.is_empty(), "{body}");
    message
}

/// Asserts the envelope every answer carries.
pub fn assert_envelope(body: &Value) {
    assert_eq!(body["version"], "1.16.1", "{body}");
    assert_eq!(body["type"], "tunemesh", "{body}");
    assert_eq!(body["openSubsonic"], true, "{body}");
    assert!(
        body["serverVersion"]
            .as_str()
            .is_some_and(|v| !v.is_empty()),
        "{body}"
    );
}

/// Asserts `xml` is valid against the Subsonic 1.16.1 XSD plus OpenSubsonic's additions
/// (`gateway/tests/subsonic/`), with `xmllint` (scripts/deps.sh installs it).
pub fn assert_valid(xml: &str) {
    let schema = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/subsonic/opensubsonic.xsd"
    );
    let mut child = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema", schema, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xmllint (libxml2-utils, installed by scripts/deps.sh)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(xml.as_bytes())
        .expect("write to xmllint");
    let output = child.wait_with_output().expect("xmllint ran");
    assert!(
        output.status.success(),
        "not valid against the Subsonic XSD: {}\n{xml}",
        String::from_utf8_lossy(&output.stderr)
    );
}

//! The wire conventions of `/rest`: both paths, GET and form POST, the three formats, the
//! envelope, old client versions, and error codes as HTTP 200 on every path; each XML answer
//! validated against the Subsonic 1.16.1 XSD.

use reqwest::Method;
use serde_json::Value;

use crate::subsonic_support::{
    app_user, assert_envelope, assert_valid, failed_with, json_call, xml_call,
};
use crate::support::{self, header};

#[tokio::test]
async fn ping_answers_on_both_paths_by_get_and_form_post_in_every_format() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let ann = app_user(&gateway, "ann", "DSub").await?;
    // DSub's own parameters: v=1.2.0, no f (XML).
    let auth = format!("u=ann&p={}&v=1.2.0&c=DSub", ann.secret);
    for path in ["/rest/ping", "/rest/ping.view"] {
        for post in [false, true] {
            for (f, content_type) in [
                ("", "text/xml; charset=utf-8"),
                ("&f=xml", "text/xml; charset=utf-8"),
                ("&f=json", "application/json"),
                (
                    "&f=jsonp&callback=cb",
                    "application/javascript; charset=utf-8",
                ),
            ] {
                let params = format!("{auth}{f}");
                let request = if post {
                    // py-opensonic's way: everything in the form body.
                    gateway
                        .request(Method::POST, path)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(params)
                } else {
                    gateway.request(Method::GET, &format!("{path}?{params}"))
                };
                let response = request.send().await?;
                assert_eq!(response.status(), 200);
                assert_eq!(
                    header(&response, "content-type"),
                    content_type,
                    "{path} {f}"
                );
                let body = response.text().await?;
                let json = if content_type.starts_with("text/xml") {
                    assert_valid(&body);
                    assert!(
                        body.contains(r#"xmlns="http://subsonic.org/restapi""#),
                        "{body}"
                    );
                    assert!(body.contains(r#"status="ok""#), "{path} {post} {body}");
                    continue;
                } else if let Some(inner) = body.strip_prefix("cb(") {
                    inner.strip_suffix(");").expect("jsonp closes")
                } else {
                    &body
                };
                let value: Value = serde_json::from_str(json)?;
                let envelope = &value["subsonic-response"];
                assert_eq!(envelope["status"], "ok", "{path} {post} {envelope}");
                assert_envelope(envelope);
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn form_bodies_are_merged_after_the_query_and_bounded() -> anyhow::Result<()> {
    let mut settings = support::settings();
    settings.subsonic.max_body_bytes = 1024;
    let gateway = support::spawn_with(settings).await?;
    let ann = app_user(&gateway, "ann", "py-sonic").await?;
    let merged = gateway
        .request(Method::POST, "/rest/getUser.view?f=json&u=ann")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("p={}&username=ann", ann.secret))
        .send()
        .await?;
    let body: Value = merged.json().await?;
    assert_eq!(
        body["subsonic-response"]["user"]["username"], "ann",
        "{body}"
    );
    let large = gateway
        .request(Method::POST, "/rest/ping.view?f=json")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("u=ann&p={}&pad={}", ann.secret, "x".repeat(4096)))
        .send()
        .await?;
    assert_eq!(large.status(), 200);
    let body: Value = large.json().await?;
    let message = failed_with(&body["subsonic-response"], 0);
    assert!(message.contains("larger than 1024 bytes"), "{message}");
    Ok(())
}

#[tokio::test]
async fn extensions_are_public_and_list_only_what_is_implemented() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let body = json_call(&gateway, "getOpenSubsonicExtensions", "").await?;
    assert_eq!(body["status"], "ok", "{body}");
    assert_envelope(&body);
    let names: Vec<&str> = body["openSubsonicExtensions"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "apiKeyAuthentication",
            "formPost",
            "transcodeOffset",
            "playbackReport",
            "indexBasedQueue"
        ]
    );
    let xml = xml_call(&gateway, "getOpenSubsonicExtensions.view", "").await?;
    assert!(
        xml.contains(r#"<openSubsonicExtensions name="formPost"><versions>1</versions>"#),
        "{xml}"
    );
    Ok(())
}

#[tokio::test]
async fn license_user_and_empty_listings_answer_for_the_caller() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let admin = app_user(&gateway, "ann", "Feishin").await?;
    let other = app_user(&gateway, "bob", "Supersonic").await?;
    for (user, is_admin) in [(&admin, true), (&other, false)] {
        let auth = format!("u={}&p={}&v=1.13.0&c=t", user.name, user.secret);
        let license = json_call(&gateway, "getLicense", &auth).await?;
        assert_eq!(license["license"]["valid"], true, "{license}");
        let query = format!("{auth}&username={}", user.name);
        let body = json_call(&gateway, "getUser", &query).await?;
        assert_eq!(body["user"]["username"], user.name.as_str(), "{body}");
        assert_eq!(body["user"]["adminRole"], is_admin, "{body}");
        assert_eq!(body["user"]["streamRole"], true, "{body}");
        let xml = xml_call(&gateway, "getUser", &query).await?;
        assert!(xml.contains(&format!(r#"adminRole="{is_admin}""#)), "{xml}");
        xml_call(&gateway, "getLicense", &auth).await?;
        let key = format!("apiKey={}", user.secret);
        let xml = xml_call(&gateway, "tokenInfo", &key).await?;
        assert!(
            xml.contains(&format!(r#"<tokenInfo username="{}"/>"#, user.name)),
            "{xml}"
        );
    }
    let auth = format!("u=ann&p={}", admin.secret);
    for (method, element) in [
        ("getPodcasts", "podcasts"),
        ("getNewestPodcasts", "newestPodcasts"),
        ("getInternetRadioStations", "internetRadioStations"),
        ("getShares", "shares"),
        ("getBookmarks", "bookmarks"),
    ] {
        let body = json_call(&gateway, method, &auth).await?;
        assert_eq!(body["status"], "ok", "{method}: {body}");
        assert!(body[element].is_object(), "{method}: {body}");
        let xml = xml_call(&gateway, method, &auth).await?;
        assert!(xml.contains(&format!("<{element}/>")), "{xml}");
    }
    Ok(())
}

#[tokio::test]
async fn every_failure_is_http_200_with_its_subsonic_code_in_every_format() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let ann = app_user(&gateway, "ann", "knuckles").await?;
    let key = &ann.secret;
    let cases: Vec<(&str, String, u64)> = vec![
        ("ping", String::new(), 10),
        ("ping", "u=ann".into(), 10),
        ("noSuchMethod", format!("u=ann&p={key}"), 0),
        ("createShare", format!("u=ann&p={key}"), 0),
        (
            "deletePodcastChannel.view",
            format!("u=ann&p={key}&id=1"),
            0,
        ),
        ("getUser", format!("u=ann&p={key}"), 10),
        ("getUser", format!("u=ann&p={key}&username=bob"), 50),
        ("ping", "u=ann&p=wrong".into(), 40),
        (
            "ping",
            "u=ann&t=0123456789abcdef0123456789abcdef&s=salt12".into(),
            41,
        ),
        ("ping", format!("apiKey={key}&u=ann"), 43),
        ("ping", "u=ann&p=x&t=0123&s=salt12".into(), 43),
        ("ping", "apiKey=tm_UNKNOWNUNKNOWNUNKNOWNUNKNO".into(), 44),
    ];
    for (method, query, code) in cases {
        let body = json_call(&gateway, method, &query).await?;
        assert_envelope(&body);
        failed_with(&body, code);
        let xml = xml_call(&gateway, method, &query).await?;
        assert!(
            xml.contains(&format!(r#"<error code="{code}""#)),
            "{method}: {xml}"
        );
    }
    // An unusable JSONP callback is refused in JSON, never echoed into a script.
    let response = gateway
        .request(Method::GET, "/rest/ping?f=jsonp&callback=alert(1)")
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "application/json");
    let body: Value = response.json().await?;
    failed_with(&body["subsonic-response"], 10);
    Ok(())
}

#[tokio::test]
async fn the_edges_rate_limit_answers_subsonic_apps_in_their_format() -> anyhow::Result<()> {
    let mut settings = support::settings();
    // Every request of one address: sign-up, login and the app password take a few.
    settings.rate_limits.per_ip = tunemesh_gateway::settings::Quota {
        per_minute: 1,
        burst: 8,
    };
    let gateway = support::spawn_with(settings).await?;
    let ann = app_user(&gateway, "ann", "Symfonium").await?;
    let auth = format!("u=ann&p={}", ann.secret);
    let mut refused = None;
    for _ in 0..10 {
        let body = json_call(&gateway, "ping", &auth).await?;
        if body["status"] == "failed" {
            refused = Some(body);
            break;
        }
    }
    let refused = refused.expect("the address ran out of its burst");
    assert_envelope(&refused);
    let message = failed_with(&refused, 0);
    assert!(message.contains("too many requests"), "{message}");
    // The same refusal in XML (DSub's default), valid against the schema, with Retry-After.
    let response = gateway
        .request(Method::GET, &format!("/rest/ping.view?{auth}&v=1.2.0"))
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    assert!(!header(&response, "retry-after").is_empty());
    let xml = response.text().await?;
    assert_valid(&xml);
    assert!(
        xml.contains(r#"status="failed""#) && xml.contains(r#"code="0""#),
        "{xml}"
    );
    // The REST API keeps its own answer.
    let rest = gateway.request(Method::GET, "/openapi.json").send().await?;
    assert_eq!(rest.status(), 429);
    Ok(())
}

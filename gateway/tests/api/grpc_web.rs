//! gRPC-web as a browser sends it (HTTP/1.1, framed body, trailers in the body), binary and
//! text (base64) encodings, unary and server-streaming, and the CORS a browser needs.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use tunemesh_proto::catalog::v1 as catalog;
use tunemesh_proto::player::v1 as player;
use tunemesh_proto::prost::Message;

use crate::support::{self, TestGateway, text};
use crate::upstream::{AUDIO_SIZE, audio_bytes};

const GET_TRACK: &str = "/tunemesh.catalog.v1.CatalogService/GetTrack";
const STREAM_AUDIO: &str = "/tunemesh.player.v1.PlayerService/StreamAudio";
const PROTO: &str = "application/grpc-web+proto";
const TEXT: &str = "application/grpc-web-text";

/// A gRPC-web answer: its data messages and its trailers (from the body, or from the headers
/// of a trailers-only answer).
#[derive(Debug)]
struct WebAnswer {
    messages: Vec<Vec<u8>>,
    trailers: Vec<(String, String)>,
}

impl WebAnswer {
    fn trailer(&self, name: &str) -> Option<&str> {
        self.trailers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn frame(message: &impl Message) -> Vec<u8> {
    let payload = message.encode_to_vec();
    let mut framed = vec![0];
    framed.extend(u32::try_from(payload.len()).expect("small").to_be_bytes());
    framed.extend(payload);
    framed
}

fn parse(mut body: &[u8]) -> anyhow::Result<WebAnswer> {
    let mut answer = WebAnswer {
        messages: Vec::new(),
        trailers: Vec::new(),
    };
    while !body.is_empty() {
        anyhow::ensure!(body.len() >= 5, "truncated frame header");
        let flag = body[0];
        let len = u32::from_be_bytes(body[1..5].try_into()?) as usize;
        anyhow::ensure!(body.len() >= 5 + len, "truncated frame");
        let payload = &body[5..5 + len];
        if flag & 0x80 != 0 {
            for line in std::str::from_utf8(payload)?.split("\r\n") {
                if let Some((name, value)) = line.split_once(':') {
                    answer
                        .trailers
                        .push((name.trim().to_lowercase(), value.trim().to_owned()));
                }
            }
        } else {
            answer.messages.push(payload.to_vec());
        }
        body = &body[5 + len..];
    }
    Ok(answer)
}

async fn call(
    gateway: &TestGateway,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    message: &impl Message,
) -> anyhow::Result<WebAnswer> {
    let body = match content_type {
        TEXT => STANDARD.encode(frame(message)).into_bytes(),
        _ => frame(message),
    };
    let mut request = gateway
        .request(Method::POST, path)
        .header("content-type", content_type)
        .header("accept", content_type)
        .header("x-grpc-web", "1")
        .header("x-user-agent", "grpc-web-test/1")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    anyhow::ensure!(response.status() == 200, "http {}", response.status());
    let returned_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(returned_type.starts_with(content_type), "{returned_type}");
    let header_status: Vec<_> = ["grpc-status", "grpc-message"]
        .into_iter()
        .filter_map(|name| {
            let value = response.headers().get(name)?.to_str().ok()?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect();
    let bytes = response.bytes().await?;
    let bytes = match content_type {
        // Each frame is encoded on its own, padding included: decode by 4-character groups.
        TEXT => bytes
            .chunks(4)
            .map(|group| STANDARD.decode(group))
            .collect::<Result<Vec<_>, _>>()?
            .concat(),
        _ => bytes.to_vec(),
    };
    let mut answer = parse(&bytes)?;
    answer.trailers.extend(header_status);
    Ok(answer)
}

#[tokio::test]
async fn unary_grpc_web_answers_one_message_and_ok_trailers() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let token = text(&gateway.signup("ann").await?, "/access_token").to_owned();
    for content_type in [PROTO, TEXT] {
        let request = catalog::GetTrackRequest {
            track_id: "t1".into(),
        };
        let answer = call(&gateway, GET_TRACK, Some(&token), content_type, &request).await?;
        assert_eq!(answer.trailer("grpc-status"), Some("0"), "{answer:?}");
        assert_eq!(answer.messages.len(), 1);
        let response = catalog::GetTrackResponse::decode(answer.messages[0].as_slice())?;
        assert_eq!(response.track.expect("track").title, "Ascension");
    }
    Ok(())
}

#[tokio::test]
async fn stream_audio_over_grpc_web_delivers_every_chunk_then_trailers() -> anyhow::Result<()> {
    use player::stream_audio_response::Message as Part;
    let gateway = support::spawn().await?;
    let token = text(&gateway.signup("ann").await?, "/access_token").to_owned();
    let request = player::StreamAudioRequest {
        track_id: "t1".into(),
        ..Default::default()
    };
    let answer = call(&gateway, STREAM_AUDIO, Some(&token), PROTO, &request).await?;
    assert_eq!(
        answer.trailer("grpc-status"),
        Some("0"),
        "{:?}",
        answer.trailers
    );
    assert!(answer.messages.len() > 2, "header and several chunks");
    let mut bytes = Vec::new();
    for (i, message) in answer.messages.iter().enumerate() {
        match player::StreamAudioResponse::decode(message.as_slice())?.message {
            Some(Part::Header(_)) => assert_eq!(i, 0, "the header comes first"),
            Some(Part::Chunk(chunk)) => bytes.extend(chunk.data),
            None => anyhow::bail!("empty message"),
        }
    }
    assert_eq!(bytes, audio_bytes(0, AUDIO_SIZE));
    Ok(())
}

#[tokio::test]
async fn grpc_web_without_a_token_is_unauthenticated() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let request = catalog::GetTrackRequest {
        track_id: "t1".into(),
    };
    let answer = call(&gateway, GET_TRACK, None, PROTO, &request).await?;
    assert_eq!(answer.trailer("grpc-status"), Some("16"), "{answer:?}");
    assert!(answer.messages.is_empty());
    let answer = call(&gateway, GET_TRACK, Some("forged.token.x"), TEXT, &request).await?;
    assert_eq!(answer.trailer("grpc-status"), Some("16"), "{answer:?}");
    Ok(())
}

#[tokio::test]
async fn browsers_from_allowed_origins_may_call_grpc_web() -> anyhow::Result<()> {
    let mut settings = support::settings();
    settings.http.cors_allowed_origins = vec!["https://app.example.com".into()];
    let gateway = support::spawn_with(settings).await?;
    let preflight = gateway
        .request(Method::OPTIONS, GET_TRACK)
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,x-grpc-web,x-user-agent,grpc-timeout",
        )
        .send()
        .await?;
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let allowed = preflight
        .headers()
        .get("access-control-allow-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_lowercase();
    for name in [
        "authorization",
        "content-type",
        "x-grpc-web",
        "x-user-agent",
    ] {
        assert!(allowed.contains(name), "{name} not in {allowed}");
    }

    let token = text(&gateway.signup("ann").await?, "/access_token").to_owned();
    let response = gateway
        .request(Method::POST, GET_TRACK)
        .header("origin", "https://app.example.com")
        .header("content-type", PROTO)
        .header("x-grpc-web", "1")
        .bearer_auth(&token)
        .body(frame(&catalog::GetTrackRequest {
            track_id: "t1".into(),
        }))
        .send()
        .await?;
    let exposed = response
        .headers()
        .get("access-control-expose-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_lowercase();
    assert!(
        exposed.contains("grpc-status") && exposed.contains("grpc-message"),
        "{exposed}"
    );
    Ok(())
}

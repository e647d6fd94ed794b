//! Native gRPC through the gateway's port: one call of every exposed service (streaming
//! included), authentication, the identity swap, the allowlist and error classification.

use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request};
use tunemesh_proto::catalog::v1 as catalog;
use tunemesh_proto::catalog::v1::catalog_service_client::CatalogServiceClient;
use tunemesh_proto::catalog::v1::ingest_service_client::IngestServiceClient;
use tunemesh_proto::player::v1 as player;
use tunemesh_proto::player::v1::player_service_client::PlayerServiceClient;
use tunemesh_proto::playlist::v1 as playlist;
use tunemesh_proto::playlist::v1::playlist_service_client::PlaylistServiceClient;
use tunemesh_proto::reco::v1 as reco;
use tunemesh_proto::reco::v1::recommendation_service_client::RecommendationServiceClient;
use tunemesh_proto::search::v1 as search;
use tunemesh_proto::search::v1::search_service_client::SearchServiceClient;
use tunemesh_runtime::identity::Caller;

use crate::support::{self, TestGateway, text};
use crate::upstream::{AUDIO_SIZE, audio_bytes};

async fn channel(gateway: &TestGateway) -> anyhow::Result<Channel> {
    Ok(Channel::from_shared(format!("http://{}", gateway.addr))?
        .connect()
        .await?)
}

/// `message` with `authorization: Bearer <token>`.
fn authed<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    let value = MetadataValue::try_from(format!("Bearer {token}")).expect("ascii token");
    request.metadata_mut().insert("authorization", value);
    request
}

async fn session(gateway: &TestGateway, name: &str) -> anyhow::Result<(String, String)> {
    let session = gateway.signup(name).await?;
    Ok((
        text(&session, "/access_token").to_owned(),
        text(&session, "/user_id").to_owned(),
    ))
}

fn get_track(id: &str) -> catalog::GetTrackRequest {
    catalog::GetTrackRequest {
        track_id: id.to_owned(),
    }
}

#[tokio::test]
async fn every_exposed_service_answers_native_grpc_on_the_rest_port() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let (token, user_id) = session(&gateway, "ann").await?;
    let channel = channel(&gateway).await?;

    let track = CatalogServiceClient::new(channel.clone())
        .get_track(authed(get_track("t1"), &token))
        .await?
        .into_inner()
        .track
        .expect("track");
    assert_eq!(track.title, "Ascension");

    let created = PlaylistServiceClient::new(channel.clone())
        .create_playlist(authed(
            playlist::CreatePlaylistRequest {
                name: "Road trip".into(),
                track_ids: vec!["t1".into(), "t2".into()],
                ..Default::default()
            },
            &token,
        ))
        .await?
        .into_inner()
        .playlist
        .expect("playlist");
    assert_eq!(
        created.owner_id, user_id,
        "the service saw the verified caller"
    );
    assert_eq!(created.item_count, 2);

    let found = SearchServiceClient::new(channel.clone())
        .search(authed(
            search::SearchRequest {
                query: "asc".into(),
                ..Default::default()
            },
            &token,
        ))
        .await?
        .into_inner();
    // The stand-in's track and playlist, as sent (gRPC answers pass through untouched).
    assert_eq!(found.results.len(), 2);

    let recommended = RecommendationServiceClient::new(channel.clone())
        .recommend(authed(
            reco::RecommendRequest {
                limit: 2,
                ..Default::default()
            },
            &token,
        ))
        .await?
        .into_inner();
    assert_eq!(recommended.recommendations.len(), 2);
    Ok(())
}

#[tokio::test]
async fn stream_audio_streams_every_chunk_through_the_gateway() -> anyhow::Result<()> {
    use player::stream_audio_response::Message;
    let gateway = support::spawn().await?;
    let (token, _) = session(&gateway, "ann").await?;
    let request = player::StreamAudioRequest {
        track_id: "t1".into(),
        ..Default::default()
    };
    let mut stream = PlayerServiceClient::new(channel(&gateway).await?)
        .stream_audio(authed(request, &token))
        .await?
        .into_inner();
    let mut bytes = Vec::new();
    let mut headers = 0;
    while let Some(message) = stream.message().await? {
        match message.message {
            Some(Message::Header(header)) => {
                headers += 1;
                assert_eq!(header.total_bytes, AUDIO_SIZE);
            }
            Some(Message::Chunk(chunk)) => {
                assert_eq!(chunk.byte_offset, bytes.len() as u64);
                bytes.extend(chunk.data);
            }
            None => anyhow::bail!("empty message"),
        }
    }
    assert_eq!(headers, 1);
    assert_eq!(bytes, audio_bytes(0, AUDIO_SIZE));
    Ok(())
}

#[tokio::test]
async fn calls_without_a_valid_access_token_are_unauthenticated() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let mut client = CatalogServiceClient::new(channel(&gateway).await?);
    let status = client
        .get_track(Request::new(get_track("t1")))
        .await
        .expect_err("no token");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    for token in ["garbage", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."] {
        let status = client
            .get_track(authed(get_track("t1"), token))
            .await
            .expect_err("bad token");
        assert_eq!(status.code(), Code::Unauthenticated, "{token}: {status:?}");
    }
    assert!(
        gateway
            .upstream
            .seen
            .lock()
            .expect("lock")
            .callers
            .is_empty(),
        "nothing reached the service"
    );
    Ok(())
}

#[tokio::test]
async fn a_client_sent_identity_is_replaced_by_the_verified_caller() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    // The first account is the admin; ann is a listener, so her roles are the empty list.
    session(&gateway, "first").await?;
    let (token, ann) = session(&gateway, "ann").await?;
    // A genuinely signed identity of someone else: only the gateway may set it.
    let bob = Caller::new("bob-id".into(), vec!["admin".into()]);
    let forged = support::gateway_signer().mint(
        &bob,
        "player",
        "/tunemesh.catalog.v1.CatalogService/GetTrack",
    )?;
    let mut client = CatalogServiceClient::new(channel(&gateway).await?);

    let mut request = authed(get_track("t1"), &token);
    request.metadata_mut().insert(
        "tunemesh-identity",
        MetadataValue::try_from(forged.as_str())?,
    );
    client.get_track(request).await?;
    let seen = gateway.upstream.seen.lock().expect("lock").callers.clone();
    assert_eq!(seen, [Caller::new(ann, vec![])]);

    let mut request = Request::new(get_track("t1"));
    request.metadata_mut().insert(
        "tunemesh-identity",
        MetadataValue::try_from(forged.as_str())?,
    );
    let status = client.get_track(request).await.expect_err("no token");
    assert_eq!(status.code(), Code::Unauthenticated);
    Ok(())
}

#[tokio::test]
async fn admin_and_internal_methods_are_unimplemented_at_the_edge() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let (token, _) = session(&gateway, "ann").await?;
    let channel = channel(&gateway).await?;
    let status = IngestServiceClient::new(channel.clone())
        .scan_library(authed(catalog::ScanLibraryRequest::default(), &token))
        .await
        .expect_err("ingest is not exposed");
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
    let status = PlayerServiceClient::new(channel)
        .read_audio_range(authed(player::ReadAudioRangeRequest::default(), &token))
        .await
        .expect_err("internal");
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
    Ok(())
}

#[tokio::test]
async fn downstream_errors_are_classified_like_the_rest_routes() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let (token, _) = session(&gateway, "ann").await?;
    let mut client = CatalogServiceClient::new(channel(&gateway).await?);
    let cases = [
        ("missing", Code::NotFound, "Track missing not found"),
        ("broken", Code::Internal, "internal error"),
        (
            "down",
            Code::Unavailable,
            "the service is unavailable, retry later",
        ),
    ];
    for (id, code, message) in cases {
        let status = client
            .get_track(authed(get_track(id), &token))
            .await
            .expect_err(id);
        assert_eq!((status.code(), status.message()), (code, message), "{id}");
    }
    Ok(())
}

#[tokio::test]
async fn grpc_calls_count_against_the_callers_quota() -> anyhow::Result<()> {
    let mut settings = support::settings();
    settings.rate_limits.per_user = tunemesh_gateway::settings::Quota {
        per_minute: 1,
        burst: 2,
    };
    let gateway = support::spawn_with(settings).await?;
    let (token, _) = session(&gateway, "ann").await?;
    let mut client = CatalogServiceClient::new(channel(&gateway).await?);
    client.get_track(authed(get_track("t1"), &token)).await?;
    client.get_track(authed(get_track("t1"), &token)).await?;
    let status = client
        .get_track(authed(get_track("t1"), &token))
        .await
        .expect_err("over quota");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    Ok(())
}

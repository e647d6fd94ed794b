//! A compromised service (a valid mesh certificate, no gateway key) cannot act as a user: it
//! cannot mint an assertion playlist-svc accepts, and the genuine assertions it sees are bound
//! to another service or another method, or (forwarded) accepted only from the service they
//! were meant for.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use tunemesh_discovery::PeerService;
use tunemesh_proto::playlist::v1::{
    CreatePlaylistRequest, DeletePlaylistRequest, GetPlaylistRequest,
};
use tunemesh_proto::tonic::metadata::MetadataValue;
use tunemesh_proto::tonic::{Code, Request, Status};
use tunemesh_runtime::clock::now_secs;
use tunemesh_runtime::identity::keys::generate_pair;
use tunemesh_runtime::identity::{
    AssertionSettings, AssertionSigner, CalledMethod, Caller, IDENTITY_METADATA, IdentitySettings,
    MeshIdentity,
};

use crate::support::{Mode, start};

const GET: &str = "/tunemesh.playlist.v1.PlaylistService/GetPlaylist";
const DELETE: &str = "/tunemesh.playlist.v1.PlaylistService/DeletePlaylist";
const BATCH_GET_TRACKS: &str = "/tunemesh.catalog.v1.CatalogService/BatchGetTracks";

fn ann() -> Caller {
    Caller::new("ann".to_owned(), Vec::new())
}

/// `message` carrying `token` as its assertion, as a client sends it (no signing layer).
fn carrying<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    let value = MetadataValue::try_from(token).expect("ascii");
    request.metadata_mut().insert(IDENTITY_METADATA, value);
    request
}

#[tokio::test]
async fn a_compromised_service_cannot_act_as_a_user() -> anyhow::Result<()> {
    let (_env, service) = start(Mode::Embedded).await?;
    let mut client = service.client();
    let created = client
        .create_playlist(service.as_caller(
            &ann(),
            CreatePlaylistRequest {
                name: "ann's".into(),
                ..Default::default()
            },
        ))
        .await?
        .into_inner();
    let id = created.playlist.map(|p| p.id).unwrap_or_default();
    let delete = || DeletePlaylistRequest {
        playlist_id: id.clone(),
        expected_version: None,
    };
    let refused = async |request: Request<DeletePlaylistRequest>| {
        let mut raw = service.client();
        raw.delete_playlist(request).await.map(drop).map_err(|s| {
            // A refusal says why in a few words and never echoes the token.
            assert!(!s.message().contains("eyJ"), "{s:?}");
            (s.code(), s.message().to_owned())
        })
    };

    // It holds an Ed25519 key of its own (say, its certificate's): its assertions are forged.
    let (own_key, _) = generate_pair();
    let own = AssertionSigner::new(&AssertionSettings::with_key(own_key))?;
    let forged = own.mint(&ann(), "playlist", DELETE)?;
    let answer = refused(carrying(&forged, delete())).await;
    assert_eq!(
        answer,
        Err((
            Code::Unauthenticated,
            "the caller identity is not valid: bad signature".into()
        ))
    );

    // HS256 over any secret (the retired shared mesh key included) is no assertion at all.
    let claims = serde_json::json!({
        "sub": "ann", "roles": [], "aud": "playlist", "mth": DELETE,
        "iat": now_secs(), "exp": now_secs() + 30, "jti": "1",
    });
    let hs256 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(b"the-shared-mesh-secret-every-service-had"),
    )?;
    let answer = refused(carrying(&hs256, delete())).await;
    assert_eq!(answer.map_err(|(code, _)| code), Err(Code::Unauthenticated));

    // Genuine assertions it saw pass: one the gateway minted for ann's search (another
    // service), and one for reading this playlist (another method).
    let gateway = AssertionSigner::for_tests();
    let for_search = gateway.mint(&ann(), "search", "/tunemesh.search.v1.SearchService/Search")?;
    let answer = refused(carrying(&for_search, delete())).await;
    assert_eq!(
        answer,
        Err((
            Code::Unauthenticated,
            "the caller identity is not valid: wrong audience".into()
        ))
    );
    let for_reading = gateway.mint(&ann(), "playlist", GET)?;
    let answer = refused(carrying(&for_reading, delete())).await;
    assert_eq!(
        answer,
        Err((
            Code::Unauthenticated,
            "the caller identity is not valid: wrong method".into()
        ))
    );
    // Without an assertion it is at most itself (with mTLS, a service caller): never ann.
    let answer = refused(Request::new(delete())).await;
    assert_eq!(answer.map_err(|(code, _)| code), Err(Code::Unauthenticated));

    // The assertion it replayed still reads what ann may read; ann's playlist is intact.
    let read = client
        .get_playlist(carrying(
            &for_reading,
            GetPlaylistRequest {
                playlist_id: id.clone(),
                ..Default::default()
            },
        ))
        .await?
        .into_inner();
    assert_eq!(read.playlist.map(|p| p.id), Some(id));
    Ok(())
}

/// A request to `method` as the runtime's server hands it to a handler: from `peer` (the
/// service name in its mesh certificate), carrying `token`.
fn from_peer(peer: &str, method: &str, token: &str) -> Request<()> {
    let mut request = carrying(token, ());
    let extensions = request.extensions_mut();
    extensions.insert(CalledMethod(Arc::from(method)));
    extensions.insert(PeerService(Arc::from(peer)));
    request
}

#[test]
fn a_compromised_peer_cannot_replay_a_forwarded_assertion_as_another_service() {
    let player = MeshIdentity::new(&IdentitySettings::for_tests())
        .expect("the test key")
        .verifier("player");
    let gateway = AssertionSigner::for_tests();
    // What ann's AddPlaylistItems carried to playlist-svc, which forwards it to the catalogue.
    let to_playlist = gateway
        .mint(
            &ann(),
            "playlist",
            "/tunemesh.playlist.v1.PlaylistService/AddPlaylistItems",
        )
        .expect("mints");
    assert_eq!(
        player.caller(&from_peer("playlist", BATCH_GET_TRACKS, &to_playlist)),
        Ok(ann())
    );
    // search-svc, compromised, replays it (or one the gateway sent search-svc) to player-svc.
    let to_search = gateway
        .mint(&ann(), "search", "/tunemesh.search.v1.SearchService/Search")
        .expect("mints");
    for token in [&to_playlist, &to_search] {
        let refused = player
            .caller(&from_peer("search", BATCH_GET_TRACKS, token))
            .expect_err("refused");
        assert_eq!(Status::from(refused).code(), Code::Unauthenticated);
    }
    // Without an assertion, the peer is itself: a service, never a user.
    let mut bare = Request::new(());
    bare.extensions_mut()
        .insert(PeerService(Arc::from("search")));
    let itself = player.caller(&bare).expect("a service caller");
    assert_eq!(itself.service_name(), Some("search"));
    assert!(!itself.has_assertion());
}

//! Minting and verifying assertions: what a service accepts, and every way it refuses.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use tunemesh_discovery::PeerService;

use super::keys::{self, generate_pair};
use super::*;

const ADD_TRACKS: &str = "/tunemesh.playlist.v1.PlaylistService/AddTracks";
const GET_PLAYLIST: &str = "/tunemesh.playlist.v1.PlaylistService/GetPlaylist";
const BATCH_GET_TRACKS: &str = "/tunemesh.catalog.v1.CatalogService/BatchGetTracks";

/// A gateway key pair: its signer and the keys services verify with.
fn gateway() -> (AssertionSigner, MeshIdentity) {
    let (private, public) = generate_pair();
    (
        AssertionSigner::new(&AssertionSettings::with_key(private)).expect("signer"),
        MeshIdentity::new(&IdentitySettings::with_public_key(public)).expect("keys"),
    )
}

fn alice() -> Caller {
    Caller::new("alice".into(), vec!["admin".into()])
}

/// A request to `method` as the runtime's server hands it to a handler, from `peer` if any.
fn request(token: Option<&str>, method: &str, peer: Option<&str>) -> tonic::Request<()> {
    let mut request = tonic::Request::new(());
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert(IDENTITY_METADATA, token.parse().expect("ascii"));
    }
    request
        .extensions_mut()
        .insert(CalledMethod(Arc::from(method)));
    if let Some(peer) = peer {
        request
            .extensions_mut()
            .insert(PeerService(Arc::from(peer)));
    }
    request
}

fn invalid(reason: &'static str) -> Result<Caller, IdentityError> {
    Err(IdentityError::Invalid(reason))
}

#[test]
fn an_assertion_verifies_for_its_service_and_method() {
    let (signer, keys) = gateway();
    let token = signer
        .mint(&alice(), "playlist", ADD_TRACKS)
        .expect("mints");
    let caller = keys
        .verifier("playlist")
        .caller(&request(Some(&token), ADD_TRACKS, Some("gateway")))
        .expect("accepted");
    assert_eq!(caller, alice());
    assert!(caller.has_assertion());
}

#[test]
fn an_assertion_for_another_service_is_refused() {
    let (signer, keys) = gateway();
    let token = signer.mint(&alice(), "search", ADD_TRACKS).expect("mints");
    assert_eq!(
        keys.verifier("playlist")
            .caller(&request(Some(&token), ADD_TRACKS, None)),
        invalid("wrong audience")
    );
}

#[test]
fn an_assertion_for_another_method_is_refused() {
    let (signer, keys) = gateway();
    let token = signer
        .mint(&alice(), "playlist", GET_PLAYLIST)
        .expect("mints");
    assert_eq!(
        keys.verifier("playlist")
            .caller(&request(Some(&token), ADD_TRACKS, None)),
        invalid("wrong method")
    );
}

#[test]
fn an_expired_assertion_is_refused() {
    let (private, public) = generate_pair();
    let keys = MeshIdentity::new(&IdentitySettings::with_public_key(public)).expect("keys");
    let der = keys::private_der(&private).expect("der");
    let now = crate::clock::now_secs();
    let claims = Claims {
        sub: "alice".into(),
        roles: vec![],
        aud: "playlist".into(),
        mth: ADD_TRACKS.into(),
        iat: now - 120,
        exp: now - 60,
        jti: "1".into(),
    };
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        &claims,
        &EncodingKey::from_ed_der(der.as_bytes()),
    )
    .expect("signs");
    assert_eq!(
        keys.verifier("playlist")
            .caller(&request(Some(&token), ADD_TRACKS, None)),
        invalid("expired")
    );
}

/// The signer builds the JWS itself (see `AssertionSigner`); Ed25519 is deterministic, so
/// for the same key and claims it must give exactly what `jsonwebtoken::encode` gives.
#[test]
fn a_minted_assertion_is_the_token_jsonwebtoken_would_sign() {
    let (private, public) = generate_pair();
    let signer =
        AssertionSigner::new(&AssertionSettings::with_key(private.clone())).expect("signer");
    let der = keys::private_der(&private).expect("der");
    let now = crate::clock::now_secs();
    let claims = Claims {
        sub: "alice \"the\" listener ✓".into(),
        roles: vec!["admin".into()],
        aud: "playlist".into(),
        mth: ADD_TRACKS.into(),
        iat: now,
        exp: now + 60,
        jti: "00ff".into(),
    };
    let ours = signer.sign(&claims).expect("signs");
    let theirs = jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        &claims,
        &EncodingKey::from_ed_der(der.as_bytes()),
    )
    .expect("signs");
    assert_eq!(ours, theirs);
    let keys = MeshIdentity::new(&IdentitySettings::with_public_key(public)).expect("keys");
    let caller = keys
        .verifier("playlist")
        .caller(&request(Some(&ours), ADD_TRACKS, None))
        .expect("verifies");
    assert_eq!(caller.user_id, "alice \"the\" listener ✓");
}

#[test]
fn an_assertion_signed_by_another_key_is_refused() {
    let (_, keys) = gateway();
    let (impostor, _) = gateway();
    let token = impostor
        .mint(&alice(), "playlist", ADD_TRACKS)
        .expect("mints");
    assert_eq!(
        keys.verifier("playlist")
            .caller(&request(Some(&token), ADD_TRACKS, None)),
        invalid("bad signature")
    );
}

#[test]
fn every_configured_key_verifies_during_a_rotation() {
    let (old_private, old_public) = generate_pair();
    let (new_private, new_public) = generate_pair();
    let keys = MeshIdentity::new(&IdentitySettings {
        gateway_public_keys: vec![format!("{old_public}{new_public}")],
        ..IdentitySettings::default()
    })
    .expect("keys");
    for private in [old_private, new_private] {
        let signer = AssertionSigner::new(&AssertionSettings::with_key(private)).expect("signer");
        let token = signer
            .mint(&alice(), "playlist", ADD_TRACKS)
            .expect("mints");
        let verified = keys
            .verifier("playlist")
            .caller(&request(Some(&token), ADD_TRACKS, None));
        assert_eq!(verified, Ok(alice()));
    }
}

#[test]
fn an_hs256_token_is_refused() {
    let (_, keys) = gateway();
    // What the retired shared mesh key signed; whoever holds such a key gets nowhere.
    let claims = serde_json::json!({
        "sub": "alice", "roles": ["admin"], "aud": "playlist", "mth": ADD_TRACKS,
        "iat": 0, "exp": 4_102_444_800_u64, "jti": "1",
    });
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(b"the-old-shared-mesh-secret-0123456789"),
    )
    .expect("signs");
    assert_eq!(
        keys.verifier("playlist")
            .caller(&request(Some(&token), ADD_TRACKS, None)),
        invalid("wrong algorithm")
    );
}

#[test]
fn an_unsigned_token_is_refused() {
    let (_, keys) = gateway();
    // {"alg":"none"} header, alice's claims for this very call, no signature.
    let header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
    let claims = base64_url(&format!(
        r#"{{"sub":"alice","roles":["admin"],"aud":"playlist","mth":"{ADD_TRACKS}","iat":0,"exp":4102444800,"jti":"1"}}"#
    ));
    let token = format!("{header}.{claims}.");
    assert!(
        keys.verifier("playlist")
            .caller(&request(Some(&token), ADD_TRACKS, None))
            .is_err()
    );
}

fn base64_url(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[test]
fn a_forwarded_assertion_is_accepted_only_from_the_service_it_was_meant_for() {
    let (signer, keys) = gateway();
    let player = keys.verifier("player");
    // The gateway's assertion for playlist-svc, which checks tracks in player's catalogue.
    let token = signer
        .mint(&alice(), "playlist", ADD_TRACKS)
        .expect("mints");
    let forwarded = |peer| player.caller(&request(Some(&token), BATCH_GET_TRACKS, peer));
    assert_eq!(forwarded(Some("playlist")), Ok(alice()));
    // Replayed by another service, or without a certificate naming playlist-svc: refused.
    assert_eq!(forwarded(Some("search")), invalid("wrong audience"));
    assert_eq!(forwarded(None), invalid("wrong audience"));
    // A service may forward only where it is allowed to: search's users go nowhere else.
    let to_search = signer.mint(&alice(), "search", ADD_TRACKS).expect("mints");
    assert_eq!(
        player.caller(&request(Some(&to_search), BATCH_GET_TRACKS, Some("search"))),
        invalid("wrong audience")
    );
    assert_eq!(
        keys.verifier("search")
            .caller(&request(Some(&token), GET_PLAYLIST, Some("playlist"))),
        invalid("wrong audience")
    );
}

#[test]
fn a_direct_assertion_is_accepted_only_on_the_gateway_s_connection() {
    let (signer, keys) = gateway();
    let playlist = keys.verifier("playlist");
    let token = signer
        .mint(&alice(), "playlist", ADD_TRACKS)
        .expect("mints");
    let direct = |peer| playlist.caller(&request(Some(&token), ADD_TRACKS, peer));
    assert_eq!(direct(Some("gateway")), Ok(alice()));
    // reco may call playlist-svc, but an assertion it saw (a log, a forwarded header) is not
    // its to replay: within its 30 s life it is still refused.
    assert_eq!(direct(Some("reco")), invalid("not from the gateway"));
    assert_eq!(direct(Some("playlist")), invalid("not from the gateway"));
}

#[test]
fn a_caller_forwards_the_assertion_it_came_with_unchanged() {
    let (signer, keys) = gateway();
    let token = signer
        .mint(&alice(), "playlist", ADD_TRACKS)
        .expect("mints");
    let caller = keys
        .verifier("playlist")
        .caller(&request(Some(&token), ADD_TRACKS, None))
        .expect("accepted");
    let mut outgoing = tonic::metadata::MetadataMap::new();
    caller.forward(&mut outgoing);
    assert_eq!(
        outgoing.get(IDENTITY_METADATA).map(|v| v.to_str().ok()),
        Some(Some(token.as_str()))
    );
    let mut none = tonic::metadata::MetadataMap::new();
    Caller::service("playlist").forward(&mut none);
    assert!(none.is_empty());
}

#[test]
fn without_an_assertion_the_peer_certificate_names_a_service_caller() {
    let (_, keys) = gateway();
    let verifier = keys.verifier("playlist");
    let caller = verifier
        .caller(&request(None, ADD_TRACKS, Some("reco")))
        .expect("a service");
    assert_eq!(caller.service_name(), Some("reco"));
    let missing = verifier
        .caller(&request(None, ADD_TRACKS, None))
        .expect_err("nobody");
    assert_eq!(missing, IdentityError::Missing);
    assert_eq!(
        tonic::Status::from(missing).code(),
        tonic::Code::Unauthenticated
    );
}

#[test]
fn an_assertion_never_names_a_service() {
    let (signer, keys) = gateway();
    let token = signer
        .mint(&Caller::service("reco"), "playlist", ADD_TRACKS)
        .expect("mints");
    assert_eq!(
        keys.verifier("playlist")
            .caller(&request(Some(&token), ADD_TRACKS, None)),
        invalid("not a user")
    );
}

#[test]
fn a_refusal_never_echoes_the_token() {
    let (_, keys) = gateway();
    let (impostor, _) = gateway();
    let token = impostor
        .mint(&alice(), "playlist", ADD_TRACKS)
        .expect("mints");
    let error = keys
        .verifier("playlist")
        .caller(&request(Some(&token), ADD_TRACKS, None))
        .expect_err("refused");
    let status = tonic::Status::from(error);
    assert!(!status.message().contains(&token[..20]), "{status:?}");
}

#[test]
fn a_service_identity_names_its_service_and_a_user_does_not() {
    assert_eq!(Caller::service("reco").service_name(), Some("reco"));
    assert_eq!(alice().service_name(), None);
    let pretender = Caller::new("service:reco".into(), vec!["admin".into()]);
    assert_eq!(pretender.service_name(), None);
}

#[test]
fn the_layer_mints_for_the_path_of_the_request() {
    use tower::{Service as _, ServiceExt as _};
    let (signer, keys) = gateway();
    let mut seen = None;
    let inner = tower::service_fn(|request: http::Request<()>| {
        let token = request
            .headers()
            .get(IDENTITY_METADATA)
            .map(|v| v.to_str().expect("ascii").to_owned());
        async move { Ok::<_, std::convert::Infallible>(token) }
    });
    let mut service = Asserting::new(inner, signer, "playlist");
    let mut request = http::Request::builder()
        .uri(ADD_TRACKS)
        .body(())
        .expect("request");
    request.extensions_mut().insert(ActAs(alice()));
    futures::executor::block_on(async {
        let ready = service.ready().await.expect("ready");
        seen = ready.call(request).await.expect("called");
    });
    let token = seen.expect("an assertion");
    assert_eq!(
        keys.verifier("playlist")
            .caller(&request_for(&token, ADD_TRACKS)),
        Ok(alice())
    );
}

fn request_for(token: &str, method: &str) -> tonic::Request<()> {
    request(Some(token), method, None)
}

//! Access tokens and media links (`gateway/src/auth/{require,tokens,hs256}.rs`,
//! `gateway/src/media/links.rs`): arbitrary `authorization` headers and `?token=` values, and
//! structurally valid JWTs whose header and claims are the fuzzer's, signed with the real keys
//! so they get past the signature to the claim checks. Only a token the gateway could have minted may verify.
#![no_main]

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
use jsonwebtoken::{Algorithm, EncodingKey};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use tunemesh_gateway::auth::AccessTokens;
use tunemesh_gateway::auth::require::caller_of;
use tunemesh_gateway::auth::tokens::{AUDIENCE, ISSUER};
use tunemesh_gateway::media::MediaTokens;
use tunemesh_gateway::model::catalog::Quality;
use tunemesh_runtime::identity::Caller;

struct Keys {
    access: AccessTokens,
    media: MediaTokens,
    access_key: EncodingKey,
    media_key: EncodingKey,
}

static KEYS: LazyLock<Keys> = LazyLock::new(|| {
    let settings = tunemesh_fuzz::auth_settings();
    let ring = settings.keys().expect("a long enough secret");
    let keys = Keys {
        access: AccessTokens::new(&ring, settings.access_ttl).expect("the access-token keys"),
        media: MediaTokens::new(&ring, settings.media_link_ttl),
        access_key: EncodingKey::from_secret(tunemesh_fuzz::JWT_SECRET.as_bytes()),
        media_key: EncodingKey::from_secret(&tunemesh_fuzz::media_key()),
    };
    // The derived media key must be the gateway's, or the signed half of this target would
    // only ever test the signature check.
    let caller = Caller::new("ann".into(), vec![]);
    let (minted, _) = keys
        .media
        .mint(&caller, "t1", Quality::LOW, 4_000_000_000)
        .expect("mint");
    let (unsigned, signature) = minted.rsplit_once('.').expect("a jwt");
    let ours = jsonwebtoken::crypto::sign(unsigned.as_bytes(), &keys.media_key, Algorithm::HS256)
        .expect("sign");
    assert_eq!(
        ours, signature,
        "fuzz/src/lib.rs media_key() differs from the gateway's"
    );
    keys
});

#[derive(Debug, Arbitrary)]
enum Claims<'a> {
    /// Any bytes as the claims.
    Raw(&'a [u8]),
    /// Claims of the right shape with the fuzzer's values.
    Shaped {
        sub: &'a str,
        roles: Vec<&'a str>,
        iss: Option<&'a str>,
        aud: Option<&'a str>,
        iat: i64,
        exp: i64,
        trk: &'a str,
        q: &'a str,
        extra: Option<(&'a str, i64)>,
    },
}

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    /// An `authorization` header value, raw.
    header: &'a [u8],
    /// A second `authorization` header.
    second: Option<&'a [u8]>,
    /// A token as it comes, raw.
    token: &'a str,
    /// The JWT header of the signed token, raw, or the usual one with this `alg`.
    jwt_header: Result<&'a [u8], &'a str>,
    claims: Claims<'a>,
    /// Sign with the media key instead of the access key.
    media: bool,
    /// Tamper with the signature.
    tamper: Option<u8>,
}

fuzz_target!(|input: Input<'_>| {
    let keys = &*KEYS;
    let mut headers = HeaderMap::new();
    for value in [Some(input.header), input.second].into_iter().flatten() {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(AUTHORIZATION, value);
        }
    }
    let _ = caller_of(&headers, &keys.access);
    let _ = keys.access.verify(input.token);
    let _ = keys.media.verify(input.token);

    let header = match input.jwt_header {
        Ok(raw) => raw.to_vec(),
        Err(alg) => json!({ "alg": alg, "typ": "JWT" }).to_string().into_bytes(),
    };
    let claims = match input.claims {
        Claims::Raw(raw) => raw.to_vec(),
        Claims::Shaped {
            sub,
            roles,
            iss,
            aud,
            iat,
            exp,
            trk,
            q,
            extra,
        } => {
            let mut claims =
                json!({ "sub": sub, "roles": roles, "iat": iat, "exp": exp, "trk": trk, "q": q });
            let choose = |v: Option<&str>, right: &str| v.unwrap_or(right).to_owned();
            claims["iss"] = json!(choose(iss, ISSUER));
            claims["aud"] = json!(choose(
                aud,
                if input.media {
                    "tunemesh-media"
                } else {
                    AUDIENCE
                }
            ));
            if let Some((name, value)) = extra {
                claims[name] = json!(value);
            }
            claims.to_string().into_bytes()
        }
    };
    let unsigned = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&header),
        URL_SAFE_NO_PAD.encode(&claims)
    );
    let key = if input.media {
        &keys.media_key
    } else {
        &keys.access_key
    };
    let Ok(mut signature) = jsonwebtoken::crypto::sign(unsigned.as_bytes(), key, Algorithm::HS256)
    else {
        return;
    };
    if let Some(at) = input.tamper {
        let mut bytes = signature.into_bytes();
        let i = usize::from(at) % bytes.len();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        signature = String::from_utf8(bytes).unwrap_or_default();
    }
    let token = format!("{unsigned}.{signature}");
    let access = keys.access.verify(&token);
    let media = keys.media.verify(&token);
    // A key verifies only its own tokens; a tampered signature never verifies.
    assert!(!(access.is_ok() && media.is_ok()), "{token}");
    if input.tamper.is_some() || input.media {
        assert!(access.is_err(), "{token}");
    }
    if input.tamper.is_some() || !input.media {
        assert!(media.is_err(), "{token}");
    }
    if let Ok(caller) = access {
        assert!(!caller.user_id.is_empty());
        let bearer = HeaderValue::from_str(&format!("Bearer {token}")).expect("ascii");
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, bearer);
        assert_eq!(caller_of(&headers, &keys.access).ok(), Some(caller));
    }
});

//! What minting one assertion costs (the gateway mints one per downstream call): this
//! crate's signer against `jsonwebtoken::encode` with the same key and claims, in alternating
//! rounds in one process, so the ratio holds whatever the machine is doing.
//!
//! ```sh
//! cargo run --release -p tunemesh-runtime --example mint [rounds] [mints per round]
//! ```

use std::time::Instant;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::ExposeSecret as _;
use tunemesh_runtime::identity::keys::generate_pair;
use tunemesh_runtime::identity::{AssertionSettings, AssertionSigner, Caller};

/// The claims an assertion carries, as `jsonwebtoken` is given them.
#[derive(serde::Serialize)]
struct Claims<'a> {
    sub: &'a str,
    roles: &'a [String],
    aud: &'a str,
    mth: &'a str,
    iat: u64,
    exp: u64,
    jti: &'a str,
}

const METHOD: &str = "/tunemesh.player.v1.PlayerService/StreamAudio";

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let rounds = args.next().transpose()?.unwrap_or(5);
    let per_round = args.next().transpose()?.unwrap_or(20_000);
    let (private, _) = generate_pair();
    let signer = AssertionSigner::new(&AssertionSettings::with_key(private.clone()))?;
    let der =
        ed25519_dalek::pkcs8::DecodePrivateKey::from_pkcs8_pem(private.expose_secret().trim())
            .map(|key: ed25519_dalek::SigningKey| {
            ed25519_dalek::pkcs8::EncodePrivateKey::to_pkcs8_der(&key)
        })??;
    let key = EncodingKey::from_ed_der(der.as_bytes());
    let caller = Caller::new("listener-0123456789".into(), vec!["listener".into()]);
    let header = Header::new(Algorithm::EdDSA);
    for round in 1..=rounds {
        let started = Instant::now();
        for _ in 0..per_round {
            std::hint::black_box(signer.mint(&caller, "player", METHOD)?);
        }
        let ours = started.elapsed().as_secs_f64() * 1e6 / per_round as f64;
        let started = Instant::now();
        for i in 0..per_round {
            let claims = Claims {
                sub: &caller.user_id,
                roles: &caller.roles,
                aud: "player",
                mth: METHOD,
                iat: 1_900_000_000,
                exp: 1_900_000_060,
                jti: if i % 2 == 0 {
                    "a1b2c3d4e5f6a1b2c3d4e5f6"
                } else {
                    "f6e5d4c3b2a1f6e5d4c3b2a1"
                },
            };
            std::hint::black_box(jsonwebtoken::encode(&header, &claims, &key)?);
        }
        let theirs = started.elapsed().as_secs_f64() * 1e6 / per_round as f64;
        println!(
            "round {round}: signer {ours:.1} us a mint, jsonwebtoken::encode {theirs:.1} us, ratio {:.2}",
            theirs / ours
        );
    }
    Ok(())
}

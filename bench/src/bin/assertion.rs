//! What the mesh's identity check costs a call: the gateway minting an assertion
//! (`AssertionSigner::mint`) and a service verifying it (`Verifier::verify`, the path every
//! user call into a service takes), against the floor of any check of that signature in the
//! same run: ed25519-dalek's `verify` alone, its key decoded once. One thread, CPU time as
//! wall time (nothing else runs in the process).
//!
//! ```sh
//! cargo run --release -p tunemesh-bench --bin assertion -- [--calls 20000] [--rounds 5]
//! ```

use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Parser;
use ed25519_dalek::pkcs8::DecodePublicKey as _;
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use tunemesh_runtime::identity::{AssertionSigner, Caller, IdentitySettings, MeshIdentity};

/// Command-line options.
#[derive(Debug, Parser)]
struct Args {
    /// Calls per measurement.
    #[arg(long, default_value_t = 20_000)]
    calls: u32,
    /// Rounds, each measuring mint, verify and the bare signature check in turn.
    #[arg(long, default_value_t = 5)]
    rounds: u32,
}

const METHOD: &str = "/tunemesh.player.v1.PlayerService/StreamAudio";

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let signer = AssertionSigner::for_tests();
    let verifier = MeshIdentity::new(&IdentitySettings::for_tests())?.verifier("player");
    let key = VerifyingKey::from_public_key_pem(&AssertionSigner::test_public_key())?;
    let caller = Caller::new("user-0123456789".to_owned(), vec!["listener".to_owned()]);
    let token = signer.mint(&caller, "player", METHOD)?;
    let (message, signature) = token
        .rsplit_once('.')
        .ok_or_else(|| anyhow::anyhow!("not a JWS"))?;
    let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature)?)?;
    anyhow::ensure!(
        verifier
            .verify(&token, Some(METHOD), Some("gateway"))
            .is_ok()
    );
    anyhow::ensure!(key.verify_strict(message.as_bytes(), &signature).is_ok());
    println!(
        "token of {} bytes, {} calls a measurement",
        token.len(),
        args.calls
    );
    let per_call = |f: &dyn Fn()| {
        let started = Instant::now();
        for _ in 0..args.calls {
            f();
        }
        started.elapsed().as_secs_f64() * 1e6 / f64::from(args.calls)
    };
    for round in 1..=args.rounds {
        let mint = per_call(&|| {
            std::hint::black_box(signer.mint(&caller, "player", METHOD).ok());
        });
        let verify = per_call(&|| {
            std::hint::black_box(verifier.verify(&token, Some(METHOD), Some("gateway")).ok());
        });
        let bare = per_call(&|| {
            let ok = key.verify(std::hint::black_box(message.as_bytes()), &signature);
            std::hint::black_box(ok.is_ok());
        });
        println!(
            "round {round}: mint {mint:.1} µs, verify {verify:.1} µs, bare signature check \
             {bare:.1} µs (verify / bare {:.2})",
            verify / bare
        );
    }
    Ok(())
}

//! Hostile: secrets. No secret is compiled in: `serve` refuses to start without one, `up`
//! generates its own (kept private in its data dir, so sessions survive a restart), and a
//! token signed with the defaults earlier versions shipped opens nothing.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tokio::task::JoinHandle;
use tunemesh::{Settings, Up};
use tunemesh_gateway::settings::SubsonicSettings;
use tunemesh_proto::catalog::v1::GetTrackRequest;
use tunemesh_proto::catalog::v1::catalog_service_client::CatalogServiceClient;
use tunemesh_proto::tonic::Code;
use tunemesh_runtime::CancellationToken;
use tunemesh_runtime::clock::now_secs;
use tunemesh_runtime::identity::keys::generate_pair;
use tunemesh_runtime::secret::generate;

/// The access-token secret every earlier build shipped as its default.
const OLD_JWT_DEFAULT: &str = "tunemesh-dev-access-token-secret-change-me";
/// The mesh identity secret every earlier build shipped as its default.
const OLD_MESH_DEFAULT: &str = "tunemesh-dev-mesh-secret-change-me";

/// `tunemesh up` in this process on `settings`, until dropped or stopped.
struct Mesh {
    gateway: SocketAddr,
    player: SocketAddr,
    data_dir: std::path::PathBuf,
    http: reqwest::Client,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Mesh {
    async fn start(data_dir: &Path, tweak: impl FnOnce(&mut Settings)) -> anyhow::Result<Self> {
        tunemesh_testkit::init_tracing();
        let mut settings = Settings {
            data_dir: data_dir.to_owned(),
            ..Settings::default()
        };
        settings.gateway.addr = SocketAddr::from(([127, 0, 0, 1], 0));
        settings.admin.addr = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        settings.grpc.drain_grace = Duration::from_secs(5);
        settings.gateway.auth.argon2_memory_kib = 1024;
        tweak(&mut settings);
        let up = Up::build(&settings).await?;
        let gateway = up.gateway_addr();
        let player = up
            .service_addrs()
            .into_iter()
            .find_map(|(name, addr)| (name == "player").then_some(addr))
            .ok_or_else(|| anyhow::anyhow!("no player"))?;
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(up.run_until(shutdown.clone()));
        Ok(Self {
            gateway,
            player,
            data_dir: data_dir.to_owned(),
            http: reqwest::Client::new(),
            shutdown,
            task,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway)
    }

    async fn signup(&self, name: &str) -> anyhow::Result<Value> {
        let base = self.url("");
        tunemesh_testkit::accounts::sign_up(&self.http, &base, name, "correct horse battery").await
    }

    /// The status of `GET /v1/tracks` with `token`.
    async fn tracks_with(&self, token: &str) -> anyhow::Result<u16> {
        let response = self
            .http
            .get(self.url("/v1/tracks"))
            .bearer_auth(token)
            .send()
            .await?;
        Ok(response.status().as_u16())
    }

    async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.task.await?
    }
}

/// An access token for `sub` signed with `key`, shaped like the gateway's own.
fn access_token(key: &[u8], sub: &str) -> anyhow::Result<String> {
    let claims = json!({
        "sub": sub, "roles": ["admin"], "sid": uuid_like(), "iss": "tunemesh-gateway",
        "aud": "tunemesh-api", "iat": now_secs(), "exp": now_secs() + 600,
    });
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(key),
    )?)
}

fn uuid_like() -> String {
    generate().expose_secret()[..32].to_owned()
}

/// Runs the real binary with only `env`, and returns its exit code and stderr; a process
/// still running after 20 s (it started without its secrets) is killed and reported.
fn run_isolated(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let stderr = tempfile::NamedTempFile::new().expect("temp file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tunemesh"))
        .args(args)
        .current_dir(std::env::temp_dir())
        .env_clear()
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(stderr.reopen().expect("reopen"))
        .spawn()
        .expect("starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waits") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`tunemesh {}` kept running without its secrets",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(stderr.path()).expect("stderr");
    (status.code(), text)
}

#[test]
fn serve_refuses_to_start_without_its_secrets_naming_the_setting() {
    let ((key, public), access) = (generate_pair(), generate());
    let key = key.expose_secret();
    let cases = [
        ("player", vec![], "identity.gateway_public_keys"),
        (
            "player",
            vec![("TUNEMESH_IDENTITY__GATEWAY_PUBLIC_KEYS", "not a key")],
            "identity.gateway_public_keys holds a key that is not",
        ),
        (
            "player",
            vec![
                ("TUNEMESH_IDENTITY__GATEWAY_PUBLIC_KEYS", public.as_str()),
                ("TUNEMESH_IDENTITY__SECRET", access.expose_secret()),
            ],
            "identity.secret (the shared HS256 mesh key) is retired",
        ),
        ("gateway", vec![], "gateway.assertion.signing_key"),
        (
            "gateway",
            vec![("TUNEMESH_GATEWAY__ASSERTION__SIGNING_KEY", public.as_str())],
            "gateway.assertion.signing_key is not an Ed25519 private key",
        ),
        (
            "gateway",
            vec![("TUNEMESH_GATEWAY__ASSERTION__SIGNING_KEY", key)],
            "gateway.auth.jwt_secret",
        ),
        (
            "gateway",
            vec![
                ("TUNEMESH_GATEWAY__ASSERTION__SIGNING_KEY", key),
                ("TUNEMESH_GATEWAY__AUTH__JWT_SECRET", OLD_JWT_DEFAULT),
            ],
            "gateway.auth.jwt_secret is a published default",
        ),
        (
            "gateway",
            vec![
                ("TUNEMESH_GATEWAY__ASSERTION__SIGNING_KEY", key),
                ("TUNEMESH_GATEWAY__AUTH__JWT_SECRET", access.expose_secret()),
            ],
            "gateway.subsonic.lookup_pepper",
        ),
    ];
    for (service, env, setting) in cases {
        let (code, stderr) = run_isolated(&["serve", service], &env);
        assert_eq!(code, Some(1), "serve {service}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.starts_with("tunemesh: "), "{stderr}");
        assert!(
            stderr.contains(setting),
            "serve {service} names {setting}: {stderr}"
        );
    }
}

#[tokio::test]
async fn up_keeps_private_generated_secrets_so_a_restart_keeps_sessions() -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let first = Mesh::start(&data, |_| {}).await?;
    let session = first.signup("ann").await?;
    let access = session["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let refresh = session["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(first.tracks_with(&access).await?, 200);
    first.stop().await?;

    let mut kept = Vec::new();
    for name in [
        tunemesh::up::UP_ASSERTION_KEY,
        "jwt",
        "subsonic-pepper",
        "subsonic-seal-keys",
    ] {
        let path = data.join("secrets").join(name);
        let mode = std::fs::metadata(&path)?.permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{name} is private");
        let secret = std::fs::read_to_string(&path)?;
        assert!(secret.len() >= 32, "{name} is long");
        kept.push(secret);
    }
    assert_ne!(kept[0], kept[1], "the mesh and access-token secrets differ");
    assert!(
        kept[2] != kept[0] && kept[2] != kept[1],
        "so does the Subsonic pepper"
    );
    assert!(
        kept[3].starts_with("1:") && !kept[..3].contains(&kept[3]),
        "the Subsonic seal keys are a versioned key of their own"
    );
    let dir_mode = std::fs::metadata(data.join("secrets"))?
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);

    let again = Mesh::start(&data, |_| {}).await?;
    assert_eq!(
        again.tracks_with(&access).await?,
        200,
        "same secret after restart"
    );
    let refreshed = again
        .http
        .post(again.url("/v1/auth/refresh"))
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await?;
    assert_eq!(refreshed.status(), 200);
    again.stop().await?;

    // Another data dir, another secret: a token of one `up` opens no other.
    let other = Mesh::start(&dir.path().join("other"), |_| {}).await?;
    assert_eq!(other.tracks_with(&access).await?, 401);
    other.stop().await
}

#[tokio::test]
async fn tokens_signed_with_the_old_compiled_in_secrets_open_nothing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mesh = Mesh::start(&dir.path().join("data"), |_| {}).await?;

    // An access token for an admin, as anyone could mint one before.
    let forged = access_token(OLD_JWT_DEFAULT.as_bytes(), "admin")?;
    assert_eq!(mesh.tracks_with(&forged).await?, 401);

    // A media link for any track.
    let media_key = Sha256::new()
        .chain_update(b"tunemesh media link key\0")
        .chain_update(OLD_JWT_DEFAULT.as_bytes())
        .finalize();
    let link = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": "admin", "trk": "t1", "q": "normal", "aud": "tunemesh-media", "exp": now_secs() + 600}),
        &EncodingKey::from_secret(&media_key),
    )?;
    let audio = mesh
        .http
        .get(mesh.url(&format!("/v1/tracks/t1/audio?quality=normal&token={link}")))
        .send()
        .await?;
    assert_eq!(audio.status(), 401);

    // An `admin` identity signed with the retired shared mesh key, straight to a service, for
    // this very call: HS256 is no longer accepted at all.
    let claims = json!({
        "sub": "admin", "roles": ["admin"], "aud": "player",
        "mth": "/tunemesh.catalog.v1.CatalogService/GetTrack",
        "iat": now_secs(), "exp": now_secs() + 60, "jti": "1",
    });
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(OLD_MESH_DEFAULT.as_bytes()),
    )?;
    let mut request = tunemesh_proto::tonic::Request::new(GetTrackRequest {
        track_id: "t1".into(),
    });
    request
        .metadata_mut()
        .insert("tunemesh-identity", forged.parse()?);
    // Over mutual TLS as the gateway: the certificate gets it in, the forged identity must not.
    let tls = crate::support::tls_in(&mesh.data_dir, "gateway");
    let mut player =
        CatalogServiceClient::new(crate::support::channel_as(&tls, "player", mesh.player));
    let refused = player
        .get_track(request)
        .await
        .expect_err("forged identity");
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    mesh.stop().await
}

#[tokio::test]
async fn secrets_come_from_files_and_a_rotated_key_works_only_during_its_overlap()
-> anyhow::Result<()> {
    // The previous key must be seen working inside its overlap, which starts with the
    // gateway; when starting the mesh ate the window (a busy machine), nothing was learnt:
    // the same run again with a window four times as long.
    for (attempt, seconds) in [6, 24, 96].into_iter().enumerate() {
        let overlap = Duration::from_secs(seconds);
        if rotation_within(overlap, attempt).await?.is_some() {
            return Ok(());
        }
    }
    anyhow::bail!("the mesh never started within the longest rotation overlap tried")
}

/// Starts `up` with secrets from files and a previous access-token key accepted for
/// `overlap`, checks both keys open, then that the previous one stops opening. `None` when
/// the check inside the overlap could not run before it ended.
async fn rotation_within(overlap: Duration, attempt: usize) -> anyhow::Result<Option<()>> {
    let dir = tempfile::tempdir()?;
    let write = |name: &str, secret: &SecretString| -> anyhow::Result<std::path::PathBuf> {
        let path = dir.path().join(name);
        // As Kubernetes mounts it: with a trailing newline.
        std::fs::write(&path, format!("{}\n", secret.expose_secret()))?;
        Ok(path)
    };
    let (old, new) = (generate(), generate());
    let (old_file, new_file) = (write("old", &old)?, write("new", &new)?);
    let key_file = write("assertion-key", &generate_pair().0)?;
    let pepper_file = write("pepper", &generate())?;
    let seal_file = write("seal", &SubsonicSettings::generate_seal_keys())?;
    // Before the gateway starts, so the overlap ends after `started + overlap`.
    let started = Instant::now();
    let mesh = Mesh::start(&dir.path().join("data"), |settings| {
        settings.gateway.assertion.signing_key_file = Some(key_file.clone());
        settings.gateway.auth.jwt_secret_file = Some(new_file.clone());
        settings.gateway.auth.previous_jwt_secret_file = Some(old_file.clone());
        settings.gateway.auth.rotation_overlap = overlap;
        settings.gateway.subsonic.lookup_pepper_file = Some(pepper_file.clone());
        settings.gateway.subsonic.seal_keys_file = Some(seal_file.clone());
    })
    .await?;
    // The mesh CA is up's own (no setting replaces it); every configured secret is used.
    let generated: Vec<_> = std::fs::read_dir(dir.path().join("data/secrets"))?
        .map(|entry| entry.map(|e| e.file_name()))
        .collect::<Result<_, _>>()?;
    assert_eq!(
        generated,
        ["ca"],
        "configured secrets are used, none generated"
    );

    // Another user than the one checked after the loop below: the loop spends mallory's
    // per-user request budget.
    let before_rotation = access_token(old.expose_secret().as_bytes(), "mallory")?;
    let after_rotation = access_token(new.expose_secret().as_bytes(), "ann")?;
    assert_eq!(mesh.tracks_with(&after_rotation).await?, 200);
    let during = mesh.tracks_with(&before_rotation).await?;
    if started.elapsed() >= overlap {
        eprintln!("attempt {attempt}: the mesh took {overlap:?} to answer; a longer overlap");
        mesh.stop().await?;
        return Ok(None);
    }
    assert_eq!(during, 200, "the previous key verifies during the overlap");
    // The overlap ends at the gateway's start + `overlap`, a little after this.
    tokio::time::sleep_until((started + overlap).into()).await;
    tunemesh_testkit::eventually(Duration::from_secs(20), || async {
        let status = mesh.tracks_with(&before_rotation).await?;
        anyhow::ensure!(status == 401, "the previous key still opens ({status})");
        Ok(())
    })
    .await?;
    assert!(started.elapsed() >= overlap);
    assert_eq!(mesh.tracks_with(&after_rotation).await?, 200);

    // The gateway signs with the new key only: its own sessions keep working.
    let session = mesh.signup("ann").await?;
    let access = session["access_token"].as_str().unwrap_or_default();
    assert_eq!(mesh.tracks_with(access).await?, 200);
    mesh.stop().await?;
    Ok(Some(()))
}

#[test]
fn ingest_signs_with_the_secret_up_keeps_in_its_data_dir() {
    use std::io::{BufRead as _, BufReader};
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let mut up = Command::new(env!("CARGO_BIN_EXE_tunemesh"))
        .args([
            "up",
            "--addr",
            "127.0.0.1:0",
            "--admin-addr",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(&data)
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let mut lines = BufReader::new(up.stdout.take().expect("stdout")).lines();
    let player = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            line.trim()
                .strip_prefix("player")
                .map(|rest| rest.trim().to_owned())
        })
        .expect("up names the player's address");
    std::thread::spawn(move || lines.for_each(drop));
    // Not audio: the player only looks at it after the caller's identity passed.
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).expect("dir");
    std::fs::write(files.join("noise.ogg"), b"not an ogg file").expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_tunemesh"))
        .args([
            "ingest",
            "--server",
            &player.replace("grpc://", "http://"),
            "--data-dir",
        ])
        .arg(&data)
        .arg(&files)
        .current_dir(std::env::temp_dir())
        .output()
        .expect("ingest runs");
    let _ = up.kill();
    let _ = up.wait();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Let in, the player looks at the file and skips it; refused, it would count a failure.
    assert!(stdout.contains("failed 0"), "{stdout}{stderr}");
    assert!(
        !stderr.to_lowercase().contains("identity") && !stderr.contains("nauthenticated"),
        "ingest was not let in: {stderr}"
    );
}

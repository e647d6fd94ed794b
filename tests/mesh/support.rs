//! Starting the whole mesh for a test: its own data dir, every listener on a free port.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::ChildStdout;
use std::time::Duration;

use tokio::task::JoinHandle;
use tunemesh::{Settings, Up};
use tunemesh_runtime::CancellationToken;

/// A running `tunemesh up`, stopped and drained when the test calls [`RunningMesh::stop`].
pub struct RunningMesh {
    pub gateway: SocketAddr,
    /// `/metrics` and the probes; never the gateway's public port.
    pub admin: SocketAddr,
    pub services: Vec<(&'static str, SocketAddr)>,
    pub http: reqwest::Client,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
    /// `up`'s in-process CA, kept in its data dir.
    ca: tunemesh_discovery::connect::EmbeddedCa,
    /// The gateway's assertion key `up` generated and keeps in its data dir.
    assertion_key_file: std::path::PathBuf,
    _data_dir: tempfile::TempDir,
}

impl RunningMesh {
    /// Builds and starts the mesh with default settings, a fresh data dir and a free port.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(|_| {}).await
    }

    /// Like [`RunningMesh::start`], with `configure` applied to the settings first.
    pub async fn start_with(configure: impl FnOnce(&mut Settings)) -> anyhow::Result<Self> {
        tunemesh_testkit::init_tracing();
        let data_dir = tempfile::tempdir()?;
        let mut settings = Settings {
            data_dir: data_dir.path().join("data"),
            ..Settings::default()
        };
        settings.gateway.addr = SocketAddr::from(([127, 0, 0, 1], 0));
        settings.admin.addr = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        settings.grpc.drain_grace = Duration::from_secs(5);
        configure(&mut settings);
        let up = Up::build(&settings).await?;
        let (gateway, services) = (up.gateway_addr(), up.service_addrs());
        let admin = up.admin_addr().expect("the admin endpoint is on");
        let ca = tunemesh::up::embedded_ca(&settings.data_dir)?;
        let assertion_key_file = settings.up_secret_path(tunemesh::up::UP_ASSERTION_KEY);
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(up.run_until(shutdown.clone()));
        Ok(Self {
            gateway,
            admin,
            services,
            http: reqwest::Client::new(),
            shutdown,
            task,
            ca,
            assertion_key_file,
            _data_dir: data_dir,
        })
    }

    /// Signs caller assertions the services of this mesh accept: the test stands in for the
    /// gateway, with the key `up` generated for it.
    pub fn gateway_signer(&self) -> tunemesh_runtime::identity::AssertionSigner {
        let settings = tunemesh_runtime::identity::AssertionSettings {
            signing_key_file: Some(self.assertion_key_file.clone()),
            ..Default::default()
        };
        tunemesh_runtime::identity::AssertionSigner::new(&settings).expect("up kept its key")
    }

    /// A mutual-TLS identity of `service` from this mesh's CA, as a replica of it would hold.
    pub fn tls(&self, service: &str) -> tunemesh_discovery::MeshTls {
        tunemesh_discovery::MeshTls::embedded(
            &self.ca,
            service,
            tunemesh_discovery::connect::Policy::architecture(),
        )
        .expect("a leaf from up's CA")
    }

    /// A channel straight to the service `callee`, calling over mutual TLS as `caller`.
    pub fn channel_as(
        &self,
        caller: &str,
        callee: &str,
    ) -> tunemesh_proto::tonic::transport::Channel {
        channel_as(&self.tls(caller), callee, self.service(callee))
    }

    /// `http://gateway/path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway)
    }

    /// `http://admin/path`: the admin endpoint (`/metrics`).
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin)
    }

    /// The gRPC address of one service.
    pub fn service(&self, name: &str) -> SocketAddr {
        self.services
            .iter()
            .find(|(service, _)| *service == name)
            .map(|(_, addr)| *addr)
            .unwrap_or_else(|| panic!("no service {name}"))
    }

    /// Signs up one listener per name, in order (a mesh's first account is its admin), and
    /// returns their access tokens.
    pub async fn listeners<const N: usize>(&self, names: [&str; N]) -> anyhow::Result<[String; N]> {
        let base = self.url("");
        let mut tokens = Vec::with_capacity(N);
        for name in names {
            let password = format!("{name} has a long passphrase");
            let session =
                tunemesh_testkit::accounts::sign_up(&self.http, &base, name, &password).await?;
            let token = session["access_token"].as_str().unwrap_or_default();
            anyhow::ensure!(!token.is_empty(), "no access token for {name}: {session}");
            tokens.push(token.to_owned());
        }
        tokens
            .try_into()
            .map_err(|_| anyhow::anyhow!("one token per listener"))
    }

    /// Waits until `/readyz` answers 200.
    pub async fn wait_ready(&self) -> anyhow::Result<()> {
        tunemesh_testkit::eventually(Duration::from_secs(20), || async {
            let response = self.http.get(self.url("/readyz")).send().await?;
            anyhow::ensure!(
                response.status() == 200,
                "readyz answered {}",
                response.status()
            );
            Ok(())
        })
        .await
    }

    /// Cancels the mesh like Ctrl-C does and returns how `run_until` ended.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.task.await?
    }
}

/// Reads the stdout of a `tunemesh up` child until it says where it listens and returns that
/// URL; then keeps draining it on a thread, so output never fills the pipe and blocks the
/// server.
pub fn announced_url(stdout: ChildStdout) -> String {
    let mut stdout = BufReader::new(stdout);
    let mut line = String::new();
    let url = loop {
        line.clear();
        let read = stdout.read_line(&mut line).expect("reads stdout");
        assert!(read > 0, "tunemesh exited before saying where it listens");
        if let Some(url) = line.trim().strip_prefix("tunemesh is up: ") {
            break url.to_owned();
        }
    };
    std::thread::spawn(move || stdout.lines().map_while(Result::ok).for_each(drop));
    url
}

/// A `width`×`height` JPEG cover: a diagonal gradient from `colour` to a darker shade, so a
/// picture is seen in screenshots and each quarter of a mosaic keeps its colour's average.
pub fn cover_jpeg(width: u32, height: u32, colour: [u8; 3]) -> Vec<u8> {
    use image::ImageEncoder as _;
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        let shade = 200 + 55 * (x + y) / (width + height);
        image::Rgb(colour.map(|c| u8::try_from(u32::from(c) * shade / 255).unwrap_or(u8::MAX)))
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(
            image.as_raw(),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .expect("a JPEG encodes");
    out
}

/// A `side`×`side` JPEG that looks like album art in a screenshot: rings around an off-centre
/// sun over a dusk gradient.
pub fn art_cover_jpeg(side: u32) -> Vec<u8> {
    use image::ImageEncoder as _;
    let (cx, cy) = (f64::from(side) * 0.62, f64::from(side) * 0.4);
    let image = image::RgbImage::from_fn(side, side, |x, y| {
        let (fx, fy) = (f64::from(x), f64::from(y));
        let t = fy / f64::from(side);
        let distance = ((fx - cx).powi(2) + (fy - cy).powi(2)).sqrt() / f64::from(side);
        let channel = |v: f64| v.clamp(0.0, 255.0) as u8;
        if distance < 0.16 {
            image::Rgb([250, 196, 70])
        } else if ((distance * 28.0) as u32).is_multiple_of(2) && distance < 0.42 {
            image::Rgb([channel(240.0 - 80.0 * t), channel(90.0 + 40.0 * t), 120])
        } else {
            image::Rgb([
                channel(30.0 + 90.0 * t),
                channel(20.0 + 30.0 * t),
                channel(90.0 + 60.0 * t),
            ])
        }
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(image.as_raw(), side, side, image::ExtendedColorType::Rgb8)
        .expect("a JPEG encodes");
    out
}

/// A channel to `addr`, an instance of `callee`, calling over mutual TLS as `tls`'s service.
pub fn channel_as(
    tls: &tunemesh_discovery::MeshTls,
    callee: &str,
    addr: SocketAddr,
) -> tunemesh_proto::tonic::transport::Channel {
    tunemesh_testkit::mesh::channel_as(tls, callee, addr).expect("a service name")
}

/// The identity of `service` from the CA of the `up` that keeps `data_dir`.
pub fn tls_in(data_dir: &std::path::Path, service: &str) -> tunemesh_discovery::MeshTls {
    let ca = tunemesh::up::embedded_ca(data_dir).expect("up keeps its CA");
    tunemesh_discovery::MeshTls::embedded(
        &ca,
        service,
        tunemesh_discovery::connect::Policy::architecture(),
    )
    .expect("a leaf")
}

//! The `tunemesh cluster` command: starts a [`Cluster`], prints where everything listens, and
//! runs until Ctrl-C or SIGTERM, then stops every process gently and drops its databases.

use std::path::PathBuf;

use tokio_util::sync::CancellationToken;

use super::{Cluster, ClusterOptions};

/// Flags of `tunemesh cluster`.
#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    /// Replicas of every service and of the gateway.
    #[arg(long, default_value_t = 2)]
    pub replicas: usize,
    /// Names the cluster's databases (`<name>_<service>`), Redis prefix and JetStream stream.
    #[arg(long, default_value = "tunemesh_cluster")]
    pub name: String,
    /// Logs, media and indexes [default: ./tunemesh-cluster].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// An administrative PostgreSQL URL; the cluster creates its databases through it.
    #[arg(
        long,
        value_name = "URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub postgres_url: String,
    /// Redis.
    #[arg(long, value_name = "URL", default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
    /// A NATS with JetStream to use as is (no users). Without it the cluster runs its own
    /// nats-server (`--nats-bin`) with one user per service, as in production.
    #[arg(long, value_name = "URL")]
    pub nats_url: Option<String>,
    /// The `nats-server` binary for the cluster's own NATS (when `--nats-url` is not given).
    #[arg(long, value_name = "PATH", default_value = "nats-server")]
    pub nats_bin: PathBuf,
    /// The `consul` binary; the cluster runs its own dev agent on free ports.
    #[arg(long, value_name = "PATH", default_value = "consul")]
    pub consul_bin: PathBuf,
}

/// Runs a cluster until `shutdown` is cancelled.
pub async fn run(args: ClusterArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    anyhow::ensure!(
        !args.name.is_empty()
            && args
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
        "--name must be lowercase letters, digits and _"
    );
    anyhow::ensure!(args.replicas > 0, "--replicas must be at least 1");
    let dir = args
        .dir
        .unwrap_or_else(|| PathBuf::from("tunemesh-cluster"));
    let dir = std::path::absolute(dir)?;
    let options = ClusterOptions {
        binary: std::env::current_exe()?,
        name: args.name,
        replicas: args.replicas,
        dir: dir.clone(),
        postgres_url: args.postgres_url,
        redis_url: args.redis_url,
        nats_bin: args.nats_url.is_none().then_some(args.nats_bin),
        nats_url: args.nats_url.unwrap_or_default(),
        consul_bin: args.consul_bin,
        settings_toml: String::new(),
        env: Vec::new(),
    };
    let cluster = Cluster::start(options).await?;
    println!(
        "tunemesh cluster is up (logs in {})",
        dir.join("logs").display()
    );
    println!("  consul    {}", cluster.consul_addr());
    println!("  nats      {}", cluster.nats_url());
    for replica in cluster.replicas() {
        let scheme = if replica.service == "gateway" {
            "http"
        } else {
            "grpc"
        };
        println!(
            "  {:<9} {scheme}://{}  admin http://{}  pid {}",
            format!("{}-{}", replica.service, replica.index),
            replica.addr,
            replica.admin,
            replica.pid().unwrap_or_default()
        );
    }
    shutdown.cancelled().await;
    cluster.stop().await
}

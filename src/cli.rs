//! The command line: `tunemesh up`, `tunemesh serve <service>`, `tunemesh migrate`, ...

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// tunemesh: a music-streaming backend. Without a command, runs `up`.
#[derive(Debug, Parser)]
#[command(name = "tunemesh", version, about, long_about = None)]
pub struct Cli {
    /// Settings file (TOML); default `./tunemesh.toml` when it exists. `TUNEMESH_*` variables
    /// override it, e.g. `TUNEMESH_GATEWAY__ADDR=0.0.0.0:8080`.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every service and the gateway in this process, on embedded adapters.
    Up(UpArgs),
    /// Run one service on production adapters (Consul, PostgreSQL, Redis, NATS) configured by
    /// `TUNEMESH_*` variables or the settings file.
    Serve(ServeArgs),
    /// Apply the services' PostgreSQL migrations (what `serve` applies at start) to the
    /// database configured as for `serve`, print what was applied, and exit.
    Migrate(MigrateArgs),
    /// Upload every audio file under DIR to a running deployment's player service.
    Ingest(IngestArgs),
    /// Write the calls the architecture has as Consul intentions (deny from anyone else to
    /// each service) to the agent configured as for `serve`, and exit. Idempotent.
    Intentions,
    /// Run two replicas of every service and the gateway as separate processes against the
    /// PostgreSQL and Redis given, with a private Consul agent and a private NATS (one user
    /// per service) unless `--nats-url` is given.
    Cluster(crate::cluster::ClusterArgs),
}

/// Flags of `tunemesh ingest`.
#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// The folder to upload (recursively).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The player service's gRPC address (printed by `tunemesh up`).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:50051")]
    pub server: String,
    /// The data dir of the `tunemesh up` to upload to (where its mesh certificates are
    /// kept) [default: ./tunemesh-data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Flags of `tunemesh up`; each overrides the matching setting.
#[derive(Debug, Default, clap::Args)]
pub struct UpArgs {
    /// Where data is kept [default: ./tunemesh-data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where the gateway listens [default: 127.0.0.1:8080].
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<SocketAddr>,
    /// Where `/metrics`, `/healthz` and `/readyz` listen [default: 127.0.0.1:9090].
    #[arg(long, value_name = "HOST:PORT")]
    pub admin_addr: Option<SocketAddr>,
    /// A music folder to ingest at start and watch for added or changed files.
    #[arg(long, value_name = "DIR")]
    pub library: Option<PathBuf>,
}

/// Flags of `tunemesh serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The service to run.
    #[arg(value_enum)]
    pub service: ServiceName,
}

/// Flags of `tunemesh migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The services whose migrations to apply [default: player, playlist and gateway, the
    /// ones with a database]. Each service usually has its own database: run one service
    /// at a time with its `TUNEMESH_POSTGRES__URL`.
    #[arg(value_enum)]
    pub services: Vec<ServiceName>,
}

/// The services `tunemesh serve` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServiceName {
    /// Catalogue, ingest, audio streaming, play reports.
    Player,
    /// Playlists.
    Playlist,
    /// Catalogue search.
    Search,
    /// Recommendations.
    Reco,
    /// The edge: REST, gRPC-web, audio delivery, the web player.
    Gateway,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_command_means_up() {
        let cli = Cli::try_parse_from(["tunemesh"]).expect("parses");
        assert!(cli.command.is_none());
    }

    #[test]
    fn bad_flags_are_rejected() {
        assert!(Cli::try_parse_from(["tunemesh", "up", "--addr", "nowhere"]).is_err());
        assert!(Cli::try_parse_from(["tunemesh", "serve", "jukebox"]).is_err());
        assert!(Cli::try_parse_from(["tunemesh", "migrate", "jukebox"]).is_err());
    }
}

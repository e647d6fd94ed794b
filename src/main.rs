//! The `tunemesh` binary: parse the command line, load settings, start telemetry, run.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use tunemesh::cli::{Cli, Command, UpArgs};
use tunemesh::{Settings, Up, serve};
use tunemesh_runtime::settings::{SettingsSource, load};
use tunemesh_runtime::{shutdown, telemetry};

/// mimalloc instead of glibc's malloc: the audio path allocates and frees 64 KiB buffers
/// on every thread, which glibc serves from its shared bins under a lock (a fifth of the
/// serving CPU in a profile at 12,800 listeners, see BENCHMARKS.md). Its transparent huge
/// pages are turned off first thing in `main` (`tunemesh_runtime::memory`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    tunemesh_runtime::memory::no_transparent_huge_pages();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tunemesh: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut settings: Settings = load(&SettingsSource::from_process(cli.config))?;
    let command = cli.command.unwrap_or(Command::Up(UpArgs::default()));
    if let Command::Up(args) = &command {
        settings.data_dir = args.data_dir.clone().unwrap_or(settings.data_dir);
        settings.gateway.addr = args.addr.unwrap_or(settings.gateway.addr);
        if let Some(admin) = args.admin_addr {
            settings.admin.addr = Some(admin);
        }
        if let Some(library) = &args.library {
            settings.player.library = Some(library.clone());
        }
    }
    let _telemetry = telemetry::init(&settings.telemetry)?;
    let shutdown = shutdown::on_signal();
    match command {
        Command::Up(_) => {
            let up = Up::build(&settings).await?;
            println!("tunemesh is up: http://{}", up.gateway_addr());
            if let Some(addr) = up.admin_addr() {
                println!("  {:<9} http://{addr}/metrics", "admin");
            }
            for (service, addr) in up.service_addrs() {
                println!("  {service:<9} grpc://{addr}");
            }
            up.run_until(shutdown).await
        }
        Command::Serve(args) => serve::serve(args.service, &settings, shutdown).await,
        Command::Migrate(args) => {
            for applied in tunemesh::migrate::run(&settings.postgres, &args.services).await? {
                println!("{}", tunemesh::migrate::summary(&applied));
            }
            Ok(())
        }
        Command::Ingest(args) => ingest(&args, &settings).await,
        Command::Intentions => {
            let consul = tunemesh_discovery::ConsulConnect::new(settings.consul.clone())?;
            consul
                .apply(&tunemesh_discovery::connect::Policy::architecture())
                .await?;
            for (from, to) in tunemesh_discovery::connect::ARCHITECTURE {
                println!("allow {from} -> {to}");
            }
            println!("deny anything else");
            Ok(())
        }
        Command::Cluster(args) => tunemesh::cluster::run(args, shutdown).await,
    }
}

/// `tunemesh ingest DIR`: uploads with a progress bar, then a summary; bad files are listed
/// with their reason and do not stop the rest.
async fn ingest(args: &tunemesh::cli::IngestArgs, settings: &Settings) -> anyhow::Result<()> {
    use tunemesh_proto::catalog::v1::IngestOutcome;
    let files = tunemesh_player::upload::files(&args.dir).await?;
    let bar = indicatif::ProgressBar::new(files.len() as u64);
    bar.set_style(indicatif::ProgressStyle::with_template(
        "{bar:40} {pos}/{len} {wide_msg}",
    )?);
    let data_dir = args.data_dir.as_deref().unwrap_or(&settings.data_dir);
    let tls = tunemesh::up::ingest_tls(settings, data_dir).await?;
    let channel = tunemesh_player::upload::channel(&args.server, &tls)
        .await
        .with_context(|| format!("cannot reach the player at {}", args.server))?;
    let mut counts = [0u32; 3];
    tunemesh_player::upload::upload_files(channel, files, |path, result| {
        let (slot, note) = match result {
            Ok(r) if r.outcome() == IngestOutcome::Ingested => (0, None),
            Ok(r) if r.outcome() == IngestOutcome::Skipped => (1, None),
            Ok(r) => (2, Some(format!("{:?}: {}", r.reason(), r.detail))),
            Err(error) => (2, Some(format!("{error:#}"))),
        };
        counts[slot] += 1;
        if let Some(note) = note {
            let line = format!("{}: {note}", path.display());
            // A hidden bar (not a terminal) drops println; the failures must still show.
            if bar.is_hidden() {
                eprintln!("{line}");
            } else {
                bar.println(line);
            }
        }
        bar.set_message(path.display().to_string());
        bar.inc(1);
    })
    .await?;
    bar.finish_and_clear();
    let [ingested, skipped, failed] = counts;
    println!("ingested {ingested}, skipped {skipped}, failed {failed}");
    Ok(())
}

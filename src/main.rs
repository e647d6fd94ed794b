//! The `tunemesh` binary: parse the command line, load settings, start telemetry, run.

use std::process::ExitCode;

use clap::Parser;
use tunemesh::cli::{Cli, Command, UpArgs};
use tunemesh::{Settings, Up, serve};
use tunemesh_runtime::settings::{SettingsSource, load};
use tunemesh_runtime::{shutdown, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
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
            for (service, addr) in up.service_addrs() {
                println!("  {service:<9} grpc://{addr}");
            }
            up.run_until(shutdown).await
        }
        Command::Serve(args) => serve::serve(args.service, &settings, shutdown).await,
    }
}

//! The `user-service` binary: parse flags, start logging, run a sub-command.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

use user_service::commands::{self, backup, migrate, restore, serve, transfer};
use user_service::config::Settings;
use user_service::config::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve(cli.serve));
    // export and import talk on stderr; only warnings belong there.
    let quiet = matches!(command, Command::Export(_) | Command::Import(_));
    user_service::logging::init(cli.log_format, if quiet { "warn" } else { "info" });
    let result = match command {
        Command::Serve(args) => Settings::try_from(args).and_then(serve),
        Command::Migrate(args) => migrate(args.database_url),
        Command::Backup(args) => backup(args.database.database_url, &args.to),
        Command::Restore(args) => restore(&args.from, args.to),
        Command::Export(args) => transfer(commands::run_export(args)),
        Command::Import(args) => transfer(commands::run_import(args)),
        Command::WaitReady(args) => user_service::probe::wait_ready(
            &args.address,
            std::time::Duration::from_secs(args.timeout),
            args.tls().as_ref(),
        ),
        Command::Openapi => {
            print!("{}", user_service::routes::openapi_document());
            Ok(())
        }
    };
    // `info` lines may still be waiting to be written (src/logging/).
    log::logger().flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("user-service: error: {message}");
            ExitCode::FAILURE
        }
    }
}

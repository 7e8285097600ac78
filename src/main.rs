//! The `user-service` binary: parse flags, start logging, run a sub-command.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

use user_service::config::{Cli, Command, DatabaseUrl};
use user_service::startup::{Application, Settings};
use user_service::storage::{postgres, sqlite};
use user_service::transfer;

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
        Command::Export(args) => transfer(transfer::run_export(args)),
        Command::Import(args) => transfer(transfer::run_import(args)),
        Command::WaitReady(args) => user_service::probe::wait_ready(
            &args.address,
            std::time::Duration::from_secs(args.timeout),
        ),
        Command::Openapi => {
            println!("{}", user_service::routes::openapi_document());
            Ok(())
        }
    };
    // `info` lines may still be waiting to be written (src/logging.rs).
    log::logger().flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("user-service: error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(settings: Settings) -> Result<(), String> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings)
            .await
            .map_err(|e| e.to_string())?;
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}

fn migrate(url: DatabaseUrl) -> Result<(), String> {
    let (name, applied) = match url {
        DatabaseUrl::Sqlite(path) => {
            let applied = sqlite::migrate(&path).map_err(|e| e.to_string())?;
            (path.display().to_string(), applied)
        }
        DatabaseUrl::Postgres(url) => {
            let applied = actix_web::rt::System::new()
                .block_on(postgres::migrate(&url))
                .map_err(|e| e.to_string())?;
            (url.redacted(), applied)
        }
    };
    if applied.is_empty() {
        println!("{name}: schema is up to date");
    } else {
        println!("{name}: applied migrations {applied:?}");
    }
    Ok(())
}

fn backup(url: DatabaseUrl, to: &std::path::Path) -> Result<(), String> {
    let DatabaseUrl::Sqlite(path) = url else {
        return Err("backup copies a SQLite file; for PostgreSQL use pg_dump".into());
    };
    let users = sqlite::backup(&path, to).map_err(|e| e.to_string())?;
    println!(
        "backed up {users} users from {} to {}",
        path.display(),
        to.display()
    );
    Ok(())
}

/// Runs `export` or `import` and prints its summary line on stderr (stdout
/// may be the exported data).
fn transfer(
    command: impl std::future::Future<Output = Result<String, String>>,
) -> Result<(), String> {
    let summary = actix_web::rt::System::new().block_on(command)?;
    eprintln!("{summary}");
    Ok(())
}

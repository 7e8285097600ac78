//! The sub-commands: each runs to completion and returns `Ok` or the one
//! line to print as the error.

mod transfer;

pub use transfer::{run_export, run_import};

use crate::config::DatabaseUrl;
use crate::config::Settings;
use crate::startup::Application;
use crate::storage::{postgres, sqlite};

/// `serve`: runs the server until SIGINT/SIGTERM.
pub fn serve(settings: Settings) -> Result<(), String> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings)
            .await
            .map_err(|e| e.to_string())?;
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}

/// `migrate`: applies pending migrations.
pub fn migrate(url: DatabaseUrl) -> Result<(), String> {
    let (name, applied) = match url {
        DatabaseUrl::Sqlite(path) => {
            let applied = sqlite::migrate(&path).map_err(|e| e.to_string())?;
            (path.display().to_string(), applied)
        }
        DatabaseUrl::Postgres(url) => {
            let migrated = actix_web::rt::System::new()
                .block_on(postgres::migrate(&url))
                .map_err(|e| e.to_string())?;
            (url.redacted(), migrated.applied)
        }
    };
    if applied.is_empty() {
        println!("{name}: schema is up to date");
    } else {
        println!("{name}: applied migrations {applied:?}");
    }
    Ok(())
}

/// `backup --to`: an online copy of a SQLite file.
pub fn backup(url: DatabaseUrl, to: &std::path::Path) -> Result<(), String> {
    let DatabaseUrl::Sqlite(path) = url else {
        return Err("backup copies a SQLite file; for PostgreSQL use pg_dump".into());
    };
    let copied = sqlite::backup(&path, to).map_err(|e| e.to_string())?;
    println!(
        "backed up {} users ({} bytes) from {} to {}",
        copied.users,
        copied.bytes,
        path.display(),
        to.display()
    );
    Ok(())
}

/// `restore --from BACKUP --to sqlite://FILE`.
pub fn restore(from: &std::path::Path, url: DatabaseUrl) -> Result<(), String> {
    let DatabaseUrl::Sqlite(path) = url else {
        return Err(
            "restore replaces a SQLite file; for PostgreSQL use pg_restore or your \
             provider's point-in-time recovery"
                .into(),
        );
    };
    let restored = sqlite::restore(from, &path).map_err(|e| e.to_string())?;
    println!(
        "restored {} users ({} bytes) from {} into {}",
        restored.users,
        restored.bytes,
        from.display(),
        path.display()
    );
    Ok(())
}

/// Runs `export` or `import` and prints its summary line on stderr (stdout
/// may be the exported data).
pub fn transfer(
    command: impl std::future::Future<Output = Result<String, String>>,
) -> Result<(), String> {
    let summary = actix_web::rt::System::new().block_on(command)?;
    eprintln!("{summary}");
    Ok(())
}

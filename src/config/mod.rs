//! Command-line flags with environment fallbacks (`cli.rs`), parsed into
//! typed values (`values.rs`) and validated into the [`Settings`] of
//! `serve` (`settings.rs`). A bad value is a clap error: one clear line,
//! exit status 2.

mod cli;
mod settings;
mod values;

pub use cli::{
    BackupArgs, Cli, Command, DatabaseArgs, ExportArgs, ImportArgs, RestoreArgs, ServeArgs,
    WaitReadyArgs, VERSION,
};
pub use settings::{
    Settings, DEFAULT_BIND, DEFAULT_DB_POOL_SIZE, DEFAULT_MAX_CONNECTIONS, DEFAULT_MMAP_SIZE,
    DEFAULT_READ_CACHE,
};
pub use values::{parse_database_url, parse_size, DatabaseUrl, DurabilityArg};

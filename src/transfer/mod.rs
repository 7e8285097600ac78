//! Moving users between files and databases: `export` writes every user as
//! NDJSON or CSV, `import` reads them back into any backend, validating each
//! row with the same domain rules as the API.

mod export;
mod format;
mod import;
mod record;

pub use export::{export, ExportError, ExportSummary};
pub use format::Format;
pub use import::{
    check, import, open, ImportError, ImportFailure, ImportOptions, ImportReport, ImportSummary,
    OnError,
};
pub use record::{BadRow, HeaderError};

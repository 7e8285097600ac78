//! How one record becomes one line: env_logger's text layout (with the
//! level in colour on a terminal) or one JSON object.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::time::SystemTime;

use log::{Level, Record};

use crate::domain::Timestamp;

/// Writes one record as one line ([`text_line`] or [`json_line`]).
pub(super) type LineFormat = fn(&mut String, SystemTime, &Record<'_>);

thread_local! {
    /// The last second formatted for text lines, and its text.
    static SECOND: RefCell<(i64, String)> = const { RefCell::new((i64::MIN, String::new())) };
}

/// `[2026-11-26T17:52:36Z INFO  target] message`, as env_logger writes it.
pub(super) fn text_line(line: &mut String, now: SystemTime, record: &Record<'_>) {
    styled_text_line(line, now, record, false);
}

/// The same, coloured as env_logger colours it.
pub(super) fn coloured_text_line(line: &mut String, now: SystemTime, record: &Record<'_>) {
    styled_text_line(line, now, record, true);
}

fn styled_text_line(line: &mut String, now: SystemTime, record: &Record<'_>, colour: bool) {
    const DIM: &str = "\x1b[2m";
    const RESET: &str = "\x1b[0m";
    let (open, close) = match colour {
        true => (DIM, RESET),
        false => ("", ""),
    };
    let _ = write!(line, "{open}[{close}");
    let stamp = Timestamp::from(now);
    let second = stamp.unix_micros().div_euclid(1_000_000);
    SECOND.with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.0 != second {
            // env_logger's text lines give whole seconds.
            let text = stamp.to_string();
            cached.1.clear();
            cached.1.push_str(text.split('.').next().unwrap_or(&text));
            cached.1.push('Z');
            cached.0 = second;
        }
        line.push_str(&cached.1);
    });
    let level = record.level();
    let (paint, unpaint) = match (colour, level) {
        (false, _) => ("", ""),
        (true, Level::Error) => ("\x1b[1;31m", RESET),
        (true, Level::Warn) => ("\x1b[33m", RESET),
        (true, Level::Info) => ("\x1b[32m", RESET),
        (true, Level::Debug) => ("\x1b[34m", RESET),
        (true, Level::Trace) => ("\x1b[36m", RESET),
    };
    let _ = writeln!(
        line,
        " {paint}{:<5}{unpaint} {}{open}]{close} {}",
        level.as_str(),
        record.target(),
        record.args()
    );
}

/// One JSON object: `ts` (RFC 3339, microseconds), `level`, `target`, `msg`.
pub(super) fn json_line(line: &mut String, now: SystemTime, record: &Record<'_>) {
    let ts = Timestamp::from(now).to_string();
    let value = serde_json::json!({
        "ts": ts,
        "level": record.level().as_str(),
        "target": record.target(),
        "msg": record.args().to_string(),
    });
    let _ = writeln!(line, "{value}");
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn formatted(
        format: fn(&mut String, SystemTime, &Record<'_>),
        at: SystemTime,
        level: Level,
    ) -> String {
        let mut line = String::new();
        let args = format_args!("GET /users/\"x\" 200");
        let record = Record::builder()
            .level(level)
            .target("actix_web::middleware::logger")
            .args(args)
            .build();
        format(&mut line, at, &record);
        line
    }

    #[test]
    fn a_text_line_reads_as_env_logger_writes_it() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            formatted(text_line, at, Level::Info),
            "[2023-11-14T22:13:20Z INFO  actix_web::middleware::logger] GET /users/\"x\" 200\n"
        );
        // The cached second is replaced when the clock moves on.
        let later = at + Duration::from_millis(61_500);
        assert_eq!(
            formatted(text_line, later, Level::Error),
            "[2023-11-14T22:14:21Z ERROR actix_web::middleware::logger] GET /users/\"x\" 200\n"
        );
    }

    #[test]
    fn a_coloured_line_is_the_text_line_with_the_level_painted() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let coloured = formatted(coloured_text_line, at, Level::Info);
        assert!(coloured.contains("\x1b[32mINFO \x1b[0m"), "{coloured:?}");
        let mut plain = coloured.clone();
        for code in ["\x1b[2m", "\x1b[0m", "\x1b[32m"] {
            plain = plain.replace(code, "");
        }
        assert_eq!(plain, formatted(text_line, at, Level::Info));
        assert!(formatted(coloured_text_line, at, Level::Error).contains("\x1b[1;31mERROR"));
    }

    #[test]
    fn a_json_line_is_one_object_with_a_microsecond_timestamp() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_micros(1_700_000_000_000_042);
        let line = formatted(json_line, at, Level::Warn);
        assert!(
            line.ends_with('\n') && line.lines().count() == 1,
            "{line:?}"
        );
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "ts": "2023-11-14T22:13:20.000042Z",
                "level": "WARN",
                "target": "actix_web::middleware::logger",
                "msg": "GET /users/\"x\" 200",
            })
        );
    }
}

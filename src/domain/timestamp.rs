//! `Timestamp`: a UTC instant with microsecond precision.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use time::format_description::well_known::Rfc3339;
use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

/// Microseconds since the Unix epoch, UTC. Stored as an integer; written as
/// RFC 3339 with six fractional digits and a `Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

const RFC3339_MICROS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

impl Timestamp {
    pub fn now() -> Self {
        Self::from(SystemTime::now())
    }

    pub fn from_unix_micros(micros: i64) -> Self {
        Self(micros)
    }

    pub fn unix_micros(self) -> i64 {
        self.0
    }

    /// The instant `span` earlier (saturating at the far past).
    pub fn minus(self, span: std::time::Duration) -> Self {
        let micros = i64::try_from(span.as_micros()).unwrap_or(i64::MAX);
        Self(self.0.saturating_sub(micros))
    }

    /// Reads an RFC 3339 instant with any offset, e.g. the
    /// `2026-11-24T11:30:00.123456Z` this service writes. Precision finer
    /// than a microsecond is refused rather than silently cut.
    pub fn parse_rfc3339(raw: &str) -> Result<Self, InvalidTimestamp> {
        let instant = OffsetDateTime::parse(raw.trim(), &Rfc3339).map_err(|_| InvalidTimestamp)?;
        let nanos = instant.unix_timestamp_nanos();
        if nanos % 1_000 != 0 {
            return Err(InvalidTimestamp);
        }
        i64::try_from(nanos / 1_000)
            .map(Self)
            .map_err(|_| InvalidTimestamp)
    }
}

impl From<SystemTime> for Timestamp {
    fn from(at: SystemTime) -> Self {
        let micros = match at.duration_since(UNIX_EPOCH) {
            Ok(since) => i64::try_from(since.as_micros()).unwrap_or(i64::MAX),
            Err(before) => -i64::try_from(before.duration().as_micros()).unwrap_or(i64::MAX),
        };
        Self(micros)
    }
}

/// The text is not an RFC 3339 instant with at most microsecond precision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3339 timestamp with at most microsecond precision")]
pub struct InvalidTimestamp;

impl fmt::Display for Timestamp {
    /// Written by hand for years 0000-9999 (every timestamp this service
    /// makes): it is on every response, twice per user, and the general
    /// formatter of `time` costs ~9x more. Other years go through `time`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rfc3339_bytes() {
            Some(bytes) => f.write_str(std::str::from_utf8(&bytes).map_err(|_| fmt::Error)?),
            None => {
                let nanos = i128::from(self.0) * 1_000;
                let instant =
                    OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| fmt::Error)?;
                let text = instant.format(RFC3339_MICROS).map_err(|_| fmt::Error)?;
                f.write_str(&text)
            }
        }
    }
}

impl Timestamp {
    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, or `None` outside years 0000-9999.
    fn rfc3339_bytes(self) -> Option<[u8; 27]> {
        let seconds = self.0.div_euclid(1_000_000);
        let micros = self.0.rem_euclid(1_000_000);
        let days = seconds.div_euclid(86_400);
        let second_of_day = seconds.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        if !(0..=9999).contains(&year) {
            return None;
        }
        // Every part is non-negative here (`unsigned_abs` changes none).
        let mut out = *b"0000-00-00T00:00:00.000000Z";
        write_digits(&mut out[0..4], year.unsigned_abs());
        write_digits(&mut out[5..7], month.unsigned_abs());
        write_digits(&mut out[8..10], day.unsigned_abs());
        write_digits(&mut out[11..13], (second_of_day / 3600).unsigned_abs());
        write_digits(&mut out[14..16], (second_of_day / 60 % 60).unsigned_abs());
        write_digits(&mut out[17..19], (second_of_day % 60).unsigned_abs());
        write_digits(&mut out[20..26], micros.unsigned_abs());
        Some(out)
    }
}

/// Writes `value` as decimal digits filling `out`, zero-padded.
pub(super) fn write_digits(out: &mut [u8], mut value: u64) {
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// The proleptic Gregorian date of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_text_reads_back_to_the_same_instant() {
        let at = Timestamp::from_unix_micros(1_795_519_800_123_456);
        assert_eq!(Timestamp::parse_rfc3339(&at.to_string()), Ok(at));
        assert_eq!(
            Timestamp::parse_rfc3339("2026-11-24T12:30:00.123456+01:00"),
            Timestamp::parse_rfc3339("2026-11-24T11:30:00.123456Z")
        );
        assert!(Timestamp::parse_rfc3339("2026-11-24T11:30:00Z").is_ok());
    }

    #[test]
    fn nanoseconds_and_non_rfc3339_text_are_refused() {
        for raw in [
            "2026-11-24T11:30:00.123456789Z",
            "2026-11-24 11:30:00",
            "yesterday",
            "",
        ] {
            assert_eq!(
                Timestamp::parse_rfc3339(raw),
                Err(InvalidTimestamp),
                "{raw}"
            );
        }
    }

    #[test]
    fn a_timestamp_is_written_as_rfc3339_utc_with_microseconds() {
        let ts = Timestamp::from_unix_micros(1_795_519_800_123_456);
        assert_eq!(ts.to_string(), "2026-11-24T11:30:00.123456Z");
    }

    #[test]
    fn whole_seconds_keep_six_fractional_digits() {
        assert_eq!(
            Timestamp::from_unix_micros(0).to_string(),
            "1970-01-01T00:00:00.000000Z"
        );
    }

    #[test]
    fn the_fast_formatter_agrees_with_time_across_the_range() {
        let mut micros: i64 = -62_135_596_800_000_000; // 0001-01-01
        let step = 7_777_777_777_777; // ~90 days and odd hours
        while micros < 253_402_300_799_999_999 {
            let ts = Timestamp::from_unix_micros(micros);
            let fast = ts
                .rfc3339_bytes()
                .map(|b| String::from_utf8(b.to_vec()).unwrap());
            let instant =
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000).unwrap();
            assert_eq!(
                fast.unwrap(),
                instant.format(RFC3339_MICROS).unwrap(),
                "{micros}"
            );
            micros += step;
        }
    }

    #[test]
    fn leap_days_and_year_ends_are_right() {
        assert_eq!(
            Timestamp::from_unix_micros(951_782_400_000_000).to_string(),
            "2000-02-29T00:00:00.000000Z"
        );
        assert_eq!(
            Timestamp::from_unix_micros(1_798_761_599_999_999).to_string(),
            "2026-12-31T23:59:59.999999Z"
        );
        assert_eq!(
            Timestamp::from_unix_micros(-1).to_string(),
            "1969-12-31T23:59:59.999999Z"
        );
    }

    #[test]
    fn now_is_after_2020() {
        assert!(Timestamp::now().unix_micros() > 1_577_836_800_000_000);
    }
}

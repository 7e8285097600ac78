//! A certificate's validity period, read from its DER encoding. rustls does
//! not expose it, and a full X.509 parser would add more to the binary than
//! the few fields of RFC 5280 §4.1 walked here.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// When a certificate starts and stops being valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// Reads `Certificate.tbsCertificate.validity`; `None` when `der` is
    /// not a certificate this walk understands.
    pub fn of(der: &[u8]) -> Option<Self> {
        let (certificate, _) = element(der, SEQUENCE)?;
        let (mut tbs, _) = element(certificate, SEQUENCE)?;
        // version [0] EXPLICIT, present from v2 on.
        if tbs.first() == Some(&VERSION) {
            tbs = element(tbs, VERSION)?.1;
        }
        for tag in [INTEGER, SEQUENCE, SEQUENCE] {
            // serialNumber, signature, issuer
            tbs = element(tbs, tag)?.1;
        }
        let (validity, _) = element(tbs, SEQUENCE)?;
        let (not_before, rest) = time_element(validity)?;
        let (not_after, _) = time_element(rest)?;
        Some(Self {
            not_before,
            not_after,
        })
    }
}

const INTEGER: u8 = 0x02;
const SEQUENCE: u8 = 0x30;
const VERSION: u8 = 0xa0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// The contents of the element with `tag` at the start of `der`, and what
/// follows it.
fn element(der: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&first, rest) = der.split_first()?;
    if first != tag {
        return None;
    }
    let (contents, rest) = length_and_rest(rest)?;
    Some((contents, rest))
}

/// Splits a DER length and the contents it measures off the front of `der`.
fn length_and_rest(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&first, mut rest) = der.split_first()?;
    let length = if first < 0x80 {
        usize::from(first)
    } else {
        let octets = usize::from(first & 0x7f);
        if octets == 0 || octets > 4 || rest.len() < octets {
            return None;
        }
        let (bytes, after) = rest.split_at(octets);
        rest = after;
        bytes
            .iter()
            .fold(0usize, |length, &byte| (length << 8) | usize::from(byte))
    };
    (rest.len() >= length).then(|| rest.split_at(length))
}

/// A `Time` (UTCTime or GeneralizedTime, both in UTC with seconds) at the
/// start of `der`, and what follows it.
fn time_element(der: &[u8]) -> Option<(OffsetDateTime, &[u8])> {
    let tag = *der.first()?;
    let (contents, rest) = length_and_rest(&der[1..])?;
    let text = std::str::from_utf8(contents).ok()?;
    // Byte offsets below are character offsets only in ASCII.
    if !text.is_ascii() {
        return None;
    }
    let text = text.strip_suffix('Z')?;
    let (year, rest_of_time) = match tag {
        UTC_TIME if text.len() == 12 => {
            // RFC 5280 §4.1.2.5.1: YY of 50 or more is 19YY, else 20YY.
            let yy: i32 = text[..2].parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        GENERALIZED_TIME if text.len() == 14 => (text[..4].parse().ok()?, &text[4..]),
        _ => return None,
    };
    let field = |at: usize| rest_of_time.get(at..at + 2)?.parse::<u8>().ok();
    let date = Date::from_calendar_date(year, Month::try_from(field(0)?).ok()?, field(2)?).ok()?;
    let time = Time::from_hms(field(4)?, field(6)?, field(8)?).ok()?;
    Some((PrimitiveDateTime::new(date, time).assume_utc(), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DER of one element.
    fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match contents.len() {
            n if n < 0x80 => out.push(n as u8),
            n if n < 0x100 => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(contents);
        out
    }

    /// A certificate's outline: the fields before the validity, the
    /// validity, and a long tail so the lengths take more than one octet.
    fn certificate(not_before: (u8, &str), not_after: (u8, &str), version: bool) -> Vec<u8> {
        let mut tbs = Vec::new();
        if version {
            tbs.extend(tlv(VERSION, &tlv(INTEGER, &[2])));
        }
        tbs.extend(tlv(INTEGER, &[0x01, 0x23]));
        tbs.extend(tlv(SEQUENCE, &[0x05, 0x00]));
        tbs.extend(tlv(SEQUENCE, &[0u8; 40]));
        let mut validity = tlv(not_before.0, not_before.1.as_bytes());
        validity.extend(tlv(not_after.0, not_after.1.as_bytes()));
        tbs.extend(tlv(SEQUENCE, &validity));
        tbs.extend(tlv(SEQUENCE, &[7u8; 300]));
        let mut certificate = tlv(SEQUENCE, &tbs);
        certificate.extend(tlv(SEQUENCE, &[0x05, 0x00]));
        tlv(SEQUENCE, &certificate)
    }

    #[test]
    fn reads_utc_and_generalized_times_with_and_without_a_version() {
        for version in [true, false] {
            let der = certificate(
                (UTC_TIME, "491231235959Z"),
                (GENERALIZED_TIME, "20510102030405Z"),
                version,
            );
            let validity = Validity::of(&der).expect("a certificate");
            // YY below 50 is 20YY.
            assert_eq!(
                validity.not_before,
                time::macros::datetime!(2049-12-31 23:59:59 UTC)
            );
            assert_eq!(
                validity.not_after,
                time::macros::datetime!(2051-01-02 03:04:05 UTC)
            );
        }
        let der = certificate(
            (UTC_TIME, "500101000000Z"),
            (UTC_TIME, "260301120000Z"),
            true,
        );
        let validity = Validity::of(&der).unwrap();
        assert_eq!(validity.not_before.year(), 1950);
        assert_eq!(
            validity.not_after,
            time::macros::datetime!(2026-03-01 12:00 UTC)
        );
    }

    #[test]
    fn anything_else_is_none_not_a_panic() {
        let good = certificate(
            (UTC_TIME, "250101000000Z"),
            (UTC_TIME, "260101000000Z"),
            true,
        );
        for cut in 0..good.len() {
            let _ = Validity::of(&good[..cut]);
        }
        assert_eq!(Validity::of(b""), None);
        assert_eq!(Validity::of(b"not a certificate"), None);
        let local_time = certificate(
            (UTC_TIME, "250101000000+0100"),
            (UTC_TIME, "260101000000Z"),
            true,
        );
        assert_eq!(Validity::of(&local_time), None);
        let not_ascii = certificate(
            (UTC_TIME, "1é010100000Z"),
            (UTC_TIME, "260101000000Z"),
            true,
        );
        assert_eq!(Validity::of(&not_ascii), None);
        let month_13 = certificate(
            (UTC_TIME, "251301000000Z"),
            (UTC_TIME, "260101000000Z"),
            true,
        );
        assert_eq!(Validity::of(&month_13), None);
    }
}

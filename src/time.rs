//! The machine's two clocks ([`Now`]), and timestamp parsing without a date library:
//! RFC 3339 (token expiry) and HTTP dates (`Retry-After`). Both return epoch milliseconds as
//! `f64`, the unit of the wall clock.

#[allow(unused_imports)]
use crate::prelude::*;

/// The time at an entry point of the machine, on two clocks.
///
/// * `mono`: a monotonic clock in ms (the skin's `performance.now()`), for every timer and
///   duration: idle timeout, retry back-off, reviewer polling, throttling, `durationMs`. It
///   never jumps, so a change of the wall clock (NTP, a laptop waking up, a user setting the
///   time) neither fires a timer early nor holds it back.
/// * `wall`: epoch ms (`Date.now()`), only to compare with token expiry, to read HTTP dates
///   and for timestamps sent on the wire.
///
/// A plain `f64` converts to a `Now` with both clocks equal (host tests with one fake clock).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Now {
    pub mono: f64,
    pub wall: f64,
}

impl From<f64> for Now {
    fn from(ms: f64) -> Self {
        Now { mono: ms, wall: ms }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// ASCII digits as a `u32` (`None` when empty, anything else or too large).
fn num(s: &str) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    s.bytes().try_fold(0u32, |n, b| {
        if !b.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u32::from(b - b'0'))
    })
}

/// A plain decimal (`digits[.digits]`, at least one digit on each side of a dot), the
/// double nearest it.
fn decimal(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let int = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let plain = match &b[int..] {
        [] => true,
        [b'.', frac @ ..] => !frac.is_empty() && frac.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    (int > 0 && plain).then(|| crate::numtext::parse_f64(s))
}

fn epoch_ms(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<f64> {
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some(((days * 86_400 + h as i64 * 3600 + mi as i64 * 60 + s as i64) * 1000) as f64)
}

/// The civil date of a day count since 1970-01-01 (inverse of `days_from_civil`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Epoch milliseconds as UTC year, month, day, hour, minute, second and millisecond (a
/// non-finite time as the epoch).
fn utc_fields(ms: f64) -> (i64, u32, u32, i64, i64, i64, i64) {
    let ms = if ms.is_finite() {
        crate::fmath::floor(ms) as i64
    } else {
        0
    };
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, mo, d) = civil_from_days(days);
    (
        y,
        mo,
        d,
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    )
}

/// Epoch milliseconds as RFC 3339 in UTC with milliseconds, e.g. `2026-11-26T01:07:38.723Z`.
pub fn format_rfc3339(ms: f64) -> String {
    let (y, mo, d, h, mi, s, milli) = utc_fields(ms);
    // As `format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")` (tested), without
    // core::fmt: a negative year keeps its sign within the four places.
    let mut out = String::with_capacity(24);
    if y < 0 {
        out.push('-');
    }
    crate::text::push_uint(&mut out, y.unsigned_abs(), if y < 0 { 3 } else { 4 });
    for (sep, n, width) in [
        ('-', i64::from(mo), 2),
        ('-', i64::from(d), 2),
        ('T', h, 2),
        (':', mi, 2),
        (':', s, 2),
        ('.', milli, 3),
    ] {
        out.push(sep);
        crate::text::push_uint(&mut out, n as u64, width);
    }
    out.push('Z');
    out
}

/// Parse an RFC 3339 timestamp such as `2026-03-17T09:54:51.165812Z` or `…+02:00`.
pub fn parse_rfc3339(s: &str) -> Option<f64> {
    let s = crate::text::trim(s);
    if s.len() < 20 || !s.is_ascii() {
        return None;
    }
    let (date, rest) = (&s[..10], &s[10..]);
    let sep = rest.as_bytes()[0];
    if !matches!(sep, b'T' | b't' | b' ') || &date[4..5] != "-" || &date[7..8] != "-" {
        return None;
    }
    let y = num(&date[..4])? as i64;
    let mo = num(&date[5..7])?;
    let d = num(&date[8..10])?;
    let time = &rest[1..];
    if time.len() < 9 || &time[2..3] != ":" || &time[5..6] != ":" {
        return None;
    }
    let h = num(&time[..2])?;
    let mi = num(&time[3..5])?;
    let sec = num(&time[6..8])?;
    let mut tail = &time[8..];
    let mut frac_ms = 0.0;
    if let Some(f) = tail.strip_prefix('.') {
        let digits = f.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let kept = &f[..digits.min(15)]; // past 15 digits is below a femtosecond
        frac_ms = decimal(kept)? * crate::fmath::powi(10.0, 3 - kept.len() as i32);
        tail = &f[digits..];
    }
    let offset_min: i64 = match tail {
        "Z" | "z" => 0,
        _ if tail.len() == 6 && &tail[3..4] == ":" => {
            let sign = match &tail[..1] {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            sign * (num(&tail[1..3])? as i64 * 60 + num(&tail[4..6])? as i64)
        }
        _ => return None,
    };
    Some(epoch_ms(y, mo, d, h, mi, sec)? + frac_ms - (offset_min * 60_000) as f64)
}

/// Parse an HTTP date (IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn parse_http_date(s: &str) -> Option<f64> {
    let parts = crate::text::words(s);
    if parts.len() != 6 || parts[5] != "GMT" {
        return None;
    }
    let d = num(parts[1])?;
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mo = MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(parts[2]))? as u32
        + 1;
    let y = num(parts[3])? as i64;
    let t: Vec<&str> = parts[4].split(':').collect();
    if t.len() != 3 {
        return None;
    }
    epoch_ms(y, mo, d, num(t[0])?, num(t[1])?, num(t[2])?)
}

/// `Retry-After` in milliseconds from `now_ms`: delta-seconds or an HTTP date (never negative).
pub fn parse_retry_after(value: &str, now_ms: f64) -> Option<f64> {
    let v = crate::text::trim(value);
    if let Some(secs) = num(v) {
        return Some(secs as f64 * 1000.0);
    }
    if let Some(secs) = decimal(v).filter(|s| s.is_finite()) {
        return Some(secs * 1000.0);
    }
    parse_http_date(v).map(|t| (t - now_ms).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What format_rfc3339 wrote with `format!` before it was written without core::fmt.
    fn with_format(ms: f64) -> String {
        let (y, mo, d, h, mi, s, milli) = utc_fields(ms);
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
    }

    proptest::proptest! {
        #[test]
        fn rfc3339_text_matches_format(ms in -1.0e15f64..1.0e15) {
            proptest::prop_assert_eq!(format_rfc3339(ms), with_format(ms));
        }
    }

    #[test]
    fn rfc3339_text_edges_match_format() {
        for ms in [
            0.0,
            -1.0,
            1.5,
            -62_167_219_200_001.0,
            -62_135_596_800_000.0,
            253_402_300_799_999.0,
            253_402_300_800_000.0,
            f64::NAN,
        ] {
            assert_eq!(format_rfc3339(ms), with_format(ms), "{ms}");
        }
    }

    #[test]
    fn rfc3339_known_values() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(
            parse_rfc3339("2026-03-17T09:54:51.165Z"),
            Some(1_773_741_291_165.0)
        );
        assert_eq!(
            parse_rfc3339("2026-03-17T11:54:51.165+02:00"),
            Some(1_773_741_291_165.0)
        );
        let micro = parse_rfc3339("2026-03-17T09:54:51.165812Z").unwrap();
        assert!((micro - 1_773_741_291_165.812).abs() < 0.01);
        assert_eq!(
            parse_rfc3339("2000-02-29T12:00:00Z"),
            Some(951_825_600_000.0)
        );
    }

    #[test]
    fn rfc3339_rejects_garbage() {
        for bad in [
            "",
            "soon",
            "2026-03-17",
            "2026-13-01T00:00:00Z",
            "2026-03-17T09:54:51",
            "2026-03-17T09:54:51.Z",
            "２０２６-03-17T09:54:51Z",
            "2026-03-17T09:54:51+0200",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn format_round_trips() {
        assert_eq!(format_rfc3339(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_rfc3339(1_773_741_291_165.0),
            "2026-03-17T09:54:51.165Z"
        );
        assert_eq!(
            format_rfc3339(951_825_600_000.0),
            "2000-02-29T12:00:00.000Z"
        );
        assert_eq!(
            parse_rfc3339("2026-03-17T09:54:51.1655Z"),
            Some(1_773_741_291_165.5)
        );
        assert_eq!(
            parse_rfc3339("2026-03-17T09:54:51.1Z"),
            Some(1_773_741_291_100.0)
        );
        for ms in [1.0, 86_399_999.0, 4_102_444_800_000.0, 1_764_118_058_723.0] {
            assert_eq!(parse_rfc3339(&format_rfc3339(ms)), Some(ms));
        }
    }

    #[test]
    fn http_date_and_retry_after() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777_000.0)
        );
        assert_eq!(parse_retry_after("2", 0.0), Some(2000.0));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:39 GMT", 784_111_777_000.0),
            Some(2000.0)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:30 GMT", 784_111_777_000.0),
            Some(0.0)
        );
        assert_eq!(parse_retry_after("1.5", 0.0), Some(1500.0));
        assert_eq!(parse_retry_after("0.25", 0.0), Some(250.0));
        assert_eq!(parse_retry_after("1.", 0.0), None);
        assert_eq!(parse_retry_after("1e3", 0.0), None);
        assert_eq!(parse_retry_after("later", 0.0), None);
        assert_eq!(parse_retry_after("-1", 0.0), None);
    }
}

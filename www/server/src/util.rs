//! Small helpers: random ids, clock, RFC 3339 (the `time` crate), cookies, slugs.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `bytes` random bytes from the OS, hex encoded.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf).expect("OS random source");
    hex::encode(buf)
}

/// A random id with a readable prefix, e.g. `thr_3f9a…`.
pub fn random_id(prefix: &str) -> String {
    format!("{prefix}_{}", random_hex(12))
}

/// Formats epoch milliseconds as an RFC 3339 UTC timestamp with milliseconds
/// (`2026-03-17T09:54:51.165Z`). Out-of-range values (past year 9999) clamp to the epoch.
pub fn rfc3339(ms: i64) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(FORMAT).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".into())
}

/// Parses an RFC 3339 date-time with a zone (`Z` or `±hh:mm`) to epoch milliseconds.
/// The `time` crate also takes a space for the `T` (RFC 3339 §5.6's note); the date-times
/// this server reads (Kaplaix's `timestamp`) must have the `T`.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    if !matches!(s.as_bytes().get(10), Some(b'T' | b't')) {
        return None;
    }
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos().div_euclid(1_000_000)).ok()
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie_value(header: &str, name: &str) -> Option<String> {
    header.split(';').find_map(|part| {
        let (k, v) = part.trim().split_once('=')?;
        (k.trim() == name && !v.trim().is_empty()).then(|| v.trim().to_string())
    })
}

/// GitHub-style heading anchor: lowercase, punctuation dropped, spaces to dashes.
pub fn slugify(text: &str) -> String {
    let mut out = String::new();
    for c in text.trim().chars().flat_map(|c| c.to_lowercase()) {
        if c.is_alphanumeric() || c == '-' || c == '_' {
            out.push(c);
        } else if c == ' ' {
            out.push('-');
        }
    }
    if out.is_empty() {
        "section".into()
    } else {
        out
    }
}

/// Makes anchors unique within one document, the way GitHub does (`x`, `x-1`, `x-2`).
#[derive(Default)]
pub struct SlugDeduper(std::collections::HashMap<String, usize>);

impl SlugDeduper {
    pub fn unique(&mut self, text: &str) -> String {
        let base = slugify(text);
        let n = self.0.entry(base.clone()).or_insert(0);
        let slug = if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        *n += 1;
        slug
    }
}

/// Percent-encodes a path (keeps unreserved characters and `/`).
pub fn encode_path(path: &str) -> String {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    const KEEP: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~')
        .remove(b'/');
    utf8_percent_encode(path, KEEP).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_773_741_291_165), "2026-03-17T09:54:51.165Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn parses_rfc3339() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2026-03-17T09:54:51.165Z"),
            Some(1_773_741_291_165)
        );
        assert_eq!(
            parse_rfc3339("2026-03-17T10:54:51.165+01:00"),
            Some(1_773_741_291_165)
        );
        assert_eq!(
            parse_rfc3339("2000-02-29T00:00:00.5-00:30"),
            Some(951_784_200_500)
        );
        assert_eq!(
            parse_rfc3339(&rfc3339(1_773_741_291_165)),
            Some(1_773_741_291_165)
        );
        for bad in [
            "2025-01-15T10:30:00",
            "2025-02-29T10:30:00Z",
            "2025-01-15 10:30:00Z",
            "2025-01-15T10:30:00.Z",
            "2025-01-15T10:30:00+0100",
            "",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn encodes_paths() {
        assert_eq!(encode_path("docs/a b.md"), "docs/a%20b.md");
        assert_eq!(
            encode_path("pkg-template/README.md"),
            "pkg-template/README.md"
        );
        assert_eq!(encode_path("é?#"), "%C3%A9%3F%23");
    }

    #[test]
    fn cookies_and_slugs() {
        assert_eq!(
            cookie_value("a=1; kapa_owner=xyz", "kapa_owner").as_deref(),
            Some("xyz")
        );
        assert_eq!(cookie_value("a=1", "kapa_owner"), None);
        assert_eq!(slugify("Getting Started: npm!"), "getting-started-npm");
        let mut d = SlugDeduper::default();
        assert_eq!(d.unique("Usage"), "usage");
        assert_eq!(d.unique("Usage"), "usage-1");
    }
}

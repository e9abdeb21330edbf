//! Text without core's generic machinery, in the `.wasm`: white space as `char::is_whitespace`
//! (trim, split) without the pattern searchers and the White_Space lookup, and integers in
//! decimal and hex without `core::fmt` (error texts, URLs and escapes are built by
//! concatenation, `[a, b].concat()`, so `format!` and the formatting machinery stay out of
//! it). Each helper is tested against the std function or `format!` it stands for.

#[allow(unused_imports)]
use crate::prelude::*;

/// Unicode White_Space, as `char::is_whitespace`: TAB, LF, VT, FF, CR, SP, NEL, NBSP, the
/// other `Zs` characters, LS and PS.
pub fn is_white_space(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | ' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// `s` without leading white space ([`is_white_space`]), as `str::trim_start`.
pub fn trim_start(s: &str) -> &str {
    let start = s
        .char_indices()
        .find(|&(_, c)| !is_white_space(c))
        .map_or(s.len(), |(i, _)| i);
    &s[start..]
}

/// `s` without trailing white space ([`is_white_space`]), as `str::trim_end`.
pub fn trim_end(s: &str) -> &str {
    let mut end = s.len();
    while let Some(c) = s[..end].chars().next_back() {
        if !is_white_space(c) {
            break;
        }
        end -= c.len_utf8();
    }
    &s[..end]
}

/// `s` without leading and trailing white space, as `str::trim`.
pub fn trim(s: &str) -> &str {
    trim_end(trim_start(s))
}

/// The non-empty runs of `s` between white space, as `str::split_whitespace`.
pub fn words(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (is_white_space(c), start) {
            (true, Some(from)) => {
                out.push(&s[from..i]);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(from) = start {
        out.push(&s[from..]);
    }
    out
}

/// Appends `n` in decimal, zero-padded to at least `width` digits.
pub fn push_uint(out: &mut String, n: u64, width: usize) {
    let mut digits = [0u8; 20];
    let (mut i, mut n) = (digits.len(), n);
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    push_padded(out, &digits[i..], width);
}

/// `n` in decimal.
pub fn uint(n: u64) -> String {
    let mut s = String::new();
    push_uint(&mut s, n, 0);
    s
}

/// Appends `n` in hexadecimal (lower or upper case), zero-padded to at least `width` digits.
pub fn push_hex(out: &mut String, n: u64, width: usize, upper: bool) {
    let set: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut digits = [0u8; 16];
    let (mut i, mut n) = (digits.len(), n);
    loop {
        i -= 1;
        digits[i] = set[(n & 15) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    push_padded(out, &digits[i..], width);
}

fn push_padded(out: &mut String, digits: &[u8], width: usize) {
    for _ in digits.len()..width {
        out.push('0');
    }
    // ASCII digits only.
    out.extend(digits.iter().map(|&d| d as char));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn white_space_is_chars_is_whitespace() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(is_white_space(c), c.is_whitespace(), "{:?}", c);
        }
    }

    /// Strings dense in white space of every kind, and in other characters near them.
    fn text() -> impl Strategy<Value = String> {
        let c = prop_oneof![
            prop::sample::select(vec![
                ' ', '\t', '\n', '\u{b}', '\u{c}', '\r', '\u{85}', '\u{a0}', '\u{1680}',
                '\u{2000}', '\u{200a}', '\u{200b}', '\u{2028}', '\u{2029}', '\u{202f}', '\u{205f}',
                '\u{3000}', '\u{feff}', '\u{1f}', 'a', 'é', '😀',
            ]),
            any::<char>(),
        ];
        prop::collection::vec(c, 0..12).prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]

        #[test]
        fn trims_as_std(s in text()) {
            prop_assert_eq!(trim(&s), s.trim());
            prop_assert_eq!(trim_start(&s), s.trim_start());
            prop_assert_eq!(trim_end(&s), s.trim_end());
        }

        #[test]
        fn words_as_split_whitespace(s in text()) {
            prop_assert_eq!(words(&s), s.split_whitespace().collect::<Vec<_>>());
        }
    }

    fn dec(n: u64, width: usize) -> String {
        let mut s = String::new();
        push_uint(&mut s, n, width);
        s
    }

    fn hex(n: u64, width: usize, upper: bool) -> String {
        let mut s = String::new();
        push_hex(&mut s, n, width, upper);
        s
    }

    #[test]
    fn edges_match_format() {
        for n in [0, 1, 9, 10, 99, 100, 65535, u64::from(u32::MAX), u64::MAX] {
            assert_eq!(uint(n), format!("{n}"));
            for w in [0, 2, 3, 4, 8, 21] {
                assert_eq!(dec(n, w), format!("{n:0w$}"));
                assert_eq!(hex(n, w, false), format!("{n:0w$x}"));
                assert_eq!(hex(n, w, true), format!("{n:0w$X}"));
            }
        }
    }

    proptest! {
        #[test]
        fn decimal_and_hex_match_format(n: u64, w in 0usize..24) {
            prop_assert_eq!(dec(n, w), format!("{n:0w$}"));
            prop_assert_eq!(hex(n, w, false), format!("{n:0w$x}"));
            prop_assert_eq!(hex(n, w, true), format!("{n:0w$X}"));
        }
    }
}

//! Small byte-level string helpers that replace core's generic pattern machinery
//! (`CharPredicateSearcher`, `SplitWhitespace`, the White_Space lookup) in the `.wasm`. Each is
//! tested against the std function it stands for.

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
}

//! Integers as text without `core::fmt`. The shipped `.wasm` builds its error texts, URLs and
//! escapes by concatenation (`[a, b].concat()`) and these helpers, so `format!` and with it
//! the formatting machinery (`Formatter`, padding, `fmt::write`: about 2.5 KB) stay out of it.
//! Each helper is checked against `format!` in the tests below.

#[allow(unused_imports)]
use crate::prelude::*;

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

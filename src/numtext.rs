//! Numbers to and from decimal text: the one place that differs by target.
//!
//! In the `.wasm` the JS engine does both (`Number(text)` and `String(x)`, the reader and
//! writer that `JSON.parse` and `JSON.stringify` themselves use), so the results are JS's by
//! definition and core's float reader (`dec2flt`, several KiB with its tables) and `zmij`
//! stay out of the file. On the host (tests, fuzzing, the development server) core's
//! correctly rounded reader and `zmij`'s shortest digits, placed by ECMA-262's rules, do the
//! same; the JS tests of the package (`tests/js/json-exact*.test.mjs`) hold the two to the
//! same results.
//!
//! Callers read and write small integers themselves (most numbers the agent sees), without a
//! JS call.

#[allow(unused_imports)]
use crate::prelude::*;

#[cfg(target_arch = "wasm32")]
mod js {
    use alloc::string::String;
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        /// `Number(text)`.
        #[wasm_bindgen(js_name = Number)]
        pub fn number(text: &str) -> f64;
        /// `String(x)`: ECMAScript `Number::toString(x)`.
        #[wasm_bindgen(js_name = String)]
        pub fn string(x: f64) -> String;
    }
}

/// The double `text` reads as (`text`: JSON number syntax, or plain `digits[.digits]`): the
/// correctly rounded value, `±Infinity` beyond the range, `±0` below it, as `JSON.parse`.
pub fn parse_f64(text: &str) -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        js::number(text)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        text.parse().unwrap_or(f64::NAN)
    }
}

/// Appends ECMAScript `Number::toString(x)` for a finite `x` (`0` for `-0`): the shortest
/// digits that read back as `x`, plain up to 21 integer digits, `0.000001` down to 6 leading
/// zeros, else `d.ddde±n`.
pub fn write_finite(x: f64, out: &mut String) {
    #[cfg(target_arch = "wasm32")]
    {
        out.push_str(&js::string(x));
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        host::write_finite(x, out);
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod host {
    use core::fmt::Write;

    /// [`super::write_finite`] with `zmij` (Schubfach) finding the digits.
    pub fn write_finite(x: f64, out: &mut String) {
        if x == 0.0 {
            out.push('0');
            return;
        }
        let mut buf = zmij::Buffer::new();
        let text = buf.format_finite(x.abs()).as_bytes();
        // zmij writes `d.ddd`, `ddd.d`, `0.000ddd` or `d.ddde±n`: collect the significant
        // digits and the decimal exponent n (the value is 0.DIGITS × 10^n).
        let mut digits = [0u8; 24];
        let mut k = 0usize;
        let mut n: i32 = 0;
        let mut seen_point = false;
        let mut i = 0;
        while i < text.len() {
            match text[i] {
                b'.' => seen_point = true,
                b'e' | b'E' => {
                    let mut exp: i32 = 0;
                    let mut neg = false;
                    for &c in &text[i + 1..] {
                        match c {
                            b'-' => neg = true,
                            b'+' => {}
                            d => exp = exp * 10 + i32::from(d - b'0'),
                        }
                    }
                    n += if neg { -exp } else { exp };
                    break;
                }
                d => {
                    if k == 0 && d == b'0' {
                        // A leading zero: before the point it is nothing; after it, it
                        // moves the point.
                        if seen_point {
                            n -= 1;
                        }
                    } else if k < digits.len() {
                        digits[k] = d;
                        k += 1;
                        if !seen_point {
                            n += 1;
                        }
                    }
                }
            }
            i += 1;
        }
        while k > 1 && digits[k - 1] == b'0' {
            k -= 1;
        }
        if k == 0 {
            out.push('0'); // not reached: a finite non-zero double has a non-zero digit
            return;
        }
        let digits = core::str::from_utf8(&digits[..k]).unwrap_or("0");
        let k = k as i32;
        if x < 0.0 {
            out.push('-');
        }
        if k <= n && n <= 21 {
            out.push_str(digits);
            out.extend(core::iter::repeat_n('0', (n - k) as usize));
        } else if 0 < n && n <= 21 {
            out.push_str(&digits[..n as usize]);
            out.push('.');
            out.push_str(&digits[n as usize..]);
        } else if -6 < n && n <= 0 {
            out.push_str("0.");
            out.extend(core::iter::repeat_n('0', (-n) as usize));
            out.push_str(digits);
        } else {
            out.push_str(&digits[..1]);
            if k > 1 {
                out.push('.');
                out.push_str(&digits[1..]);
            }
            out.push('e');
            out.push(if n > 0 { '+' } else { '-' });
            let _ = write!(out, "{}", (n - 1).abs());
        }
    }
}

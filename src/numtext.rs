//! Numbers from decimal text: the one place that differs by target.
//!
//! In the `.wasm` the JS engine reads them (`Number(text)`, the reader `JSON.parse` itself
//! uses), so the results are JS's by definition and core's float reader (`dec2flt`, several
//! KiB with its tables) stays out of the file. On the host (tests, fuzzing, the development
//! server) core's correctly rounded reader does the same; the JS tests of the package
//! (`tests/js/json-exact*.test.mjs`) hold the two to the same results.
//!
//! Callers read small integers themselves (most numbers the agent sees), without a JS call.

#[allow(unused_imports)]
use crate::prelude::*;

#[cfg(target_arch = "wasm32")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        /// `Number(text)`.
        #[wasm_bindgen(js_name = Number)]
        pub fn number(text: &str) -> f64;
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

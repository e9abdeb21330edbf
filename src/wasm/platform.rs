//! What the skin takes from the platform for the machine: its two clocks and its CSPRNG.
//!
//! * [`now`]: `performance.now()` (monotonic: every timer and duration) and `Date.now()`
//!   (wall: token expiry, HTTP dates, timestamps on the wire), as one [`Now`].
//! * [`random`]: a [`Rng`] over `crypto.getRandomValues` (browsers, Workers, Node 20+), for
//!   every id the package sends; the constructor refuses to run without it rather than send
//!   guessable ids.

#[allow(unused_imports)]
use crate::prelude::*;

use wasm_bindgen::prelude::*;

use crate::machine::Now;
use crate::rng::Rng;

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`: milliseconds since the time origin, never going back.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
    /// `crypto.getRandomValues(view)`: fills the slice in place (a view on wasm memory).
    #[wasm_bindgen(catch, js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]) -> Result<JsValue, JsValue>;
}

/// The monotonic clock, for timers and durations.
pub fn mono_now() -> f64 {
    performance_now()
}

/// Both clocks, for an entry point of the machine.
pub fn now() -> Now {
    Now {
        mono: performance_now(),
        wall: js_sys::Date::now(),
    }
}

/// The machine's randomness from the platform's CSPRNG; an error when there is none.
pub fn random() -> Result<Rng, JsValue> {
    // One call at construction shows the CSPRNG is there (its failure is this error).
    get_random_values(&mut [0u8; 16])?;
    Ok(Rng::from_fill(Box::new(|buf: &mut [u8]| {
        // getRandomValues takes at most 65,536 bytes a call; ids take 16.
        for chunk in buf.chunks_mut(65_536) {
            if get_random_values(chunk).is_err() {
                // It worked at construction and has no reason to fail now; should it, ids
                // must still differ, so fall back to Math.random rather than send zeros.
                for b in chunk.iter_mut() {
                    *b = (js_sys::Math::random() * 256.0) as u8;
                }
            }
        }
    })))
}

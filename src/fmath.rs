//! The few `f64` functions the core needs that `core` lacks (they live in std, which the
//! shipped .wasm does not link): from `libm`, on every target, so the host tests run the same
//! code as the browser.

/// The largest integer not above `x`.
pub fn floor(x: f64) -> f64 {
    libm::floor(x)
}

/// The nearest integer, halves away from zero (as `f64::round`).
pub fn round(x: f64) -> f64 {
    libm::round(x)
}

/// `x - trunc(x)`: the fractional part, with the sign of `x` (as `f64::fract`). Host only:
/// its one user, the JSON Schema validator, runs in JS in the package.
#[cfg(not(target_arch = "wasm32"))]
pub fn fract(x: f64) -> f64 {
    x - libm::trunc(x)
}

/// `base` to an integer power, by squaring as `f64::powi` does (the compiler's
/// `__powidf2`), so the results are the same to the bit.
pub fn powi(base: f64, exp: i32) -> f64 {
    let mut base = base;
    let mut n = exp.unsigned_abs();
    let mut acc = 1.0;
    loop {
        if n & 1 == 1 {
            acc *= base;
        }
        n >>= 1;
        if n == 0 {
            break;
        }
        base *= base;
    }
    if exp < 0 {
        1.0 / acc
    } else {
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_std() {
        for x in [
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            2.4999,
            -7.25,
            1e300,
            -1e-300,
            4503599627370497.0,
        ] {
            assert_eq!(floor(x).to_bits(), x.floor().to_bits(), "floor {x}");
            assert_eq!(round(x).to_bits(), x.round().to_bits(), "round {x}");
            assert_eq!(fract(x).to_bits(), x.fract().to_bits(), "fract {x}");
        }
        for (b, e) in [
            (2.0, 0),
            (2.0, 10),
            (2.0, -3),
            (1.5, 7),
            (10.0, 5),
            (10.0, -1),
            (10.0, -2),
            (10.0, -7),
            (0.1, 3),
            (-3.0, 3),
        ] {
            assert_eq!(powi(b, e).to_bits(), f64::powi(b, e).to_bits(), "{b}^{e}");
        }
    }
}

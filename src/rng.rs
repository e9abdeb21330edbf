//! Randomness for the ids the package sends (a request's `Idempotency-Key`, Kaplaix
//! `eventId`s and client session ids, the turn's `runId`) and for retry jitter.
//!
//! The core makes no randomness of its own: it draws bytes from the source the driver gives
//! it. The wasm skin's source is the platform's CSPRNG (`crypto.getRandomValues`), so one id
//! seen on the wire says nothing about the next. Host tests use [`Rng::seeded`], a
//! deterministic xorshift64* that is *not* unpredictable, so every transcript is reproducible.

#[allow(unused_imports)]
use crate::prelude::*;

/// Fills a buffer with random bytes (the driver's CSPRNG).
pub type FillRandom = Box<dyn FnMut(&mut [u8])>;

enum Source {
    /// xorshift64* state (never zero): deterministic, for tests.
    Seeded(u64),
    External(FillRandom),
}

/// The machine's source of random bytes.
pub struct Rng(Source);

impl core::fmt::Debug for Rng {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self.0 {
            Source::Seeded(_) => "Rng::Seeded",
            Source::External(_) => "Rng::External",
        })
    }
}

impl Rng {
    /// A deterministic generator (xorshift64*): predictable from its output, for tests and
    /// reproducible runs only.
    pub fn seeded(seed: u64) -> Self {
        // Never zero: xorshift would stay at zero forever.
        Rng(Source::Seeded(seed ^ 0x9E37_79B9_7F4A_7C15 | 1))
    }

    /// Bytes from `fill` (in the wasm skin, `crypto.getRandomValues`).
    pub fn from_fill(fill: FillRandom) -> Self {
        Rng(Source::External(fill))
    }

    /// Fill `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        match &mut self.0 {
            Source::External(f) => f(buf),
            Source::Seeded(state) => {
                for chunk in buf.chunks_mut(8) {
                    let mut x = *state;
                    x ^= x >> 12;
                    x ^= x << 25;
                    x ^= x >> 27;
                    *state = x;
                    let bytes = x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
                    chunk.copy_from_slice(&bytes[..chunk.len()]);
                }
            }
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill(&mut b);
        u64::from_le_bytes(b)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A random (version 4) UUID in its canonical text form: 122 random bits.
    pub fn uuid_v4(&mut self) -> String {
        let mut b = [0u8; 16];
        self.fill(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(36);
        for (i, byte) in b.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                out.push('-');
            }
            out.push(HEX[usize::from(byte >> 4)] as char);
            out.push(HEX[usize::from(byte & 0x0f)] as char);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape_ok(id: &str) -> bool {
        let parts: Vec<&str> = id.split('-').collect();
        parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
            && id
                .bytes()
                .all(|c| c == b'-' || matches!(c, b'0'..=b'9' | b'a'..=b'f'))
            && parts[2].starts_with('4')
            && matches!(&parts[3][..1], "8" | "9" | "a" | "b")
    }

    #[test]
    fn uuid_has_v4_shape_and_differs() {
        let mut r = Rng::seeded(7);
        let a = r.uuid_v4();
        let b = r.uuid_v4();
        assert_ne!(a, b);
        assert!(shape_ok(&a), "{a}");
        assert!(shape_ok(&b), "{b}");
    }

    #[test]
    fn external_source_supplies_every_bit() {
        // All ones from the source: only the version and variant bits are fixed by us.
        let mut r = Rng::from_fill(Box::new(|b: &mut [u8]| b.fill(0xff)));
        assert_eq!(r.uuid_v4(), "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let mut r = Rng::from_fill(Box::new(|b: &mut [u8]| b.fill(0)));
        assert_eq!(r.uuid_v4(), "00000000-0000-4000-8000-000000000000");
        let mut n = 0u8;
        let mut r = Rng::from_fill(Box::new(move |b: &mut [u8]| {
            for x in b {
                *x = n;
                n = n.wrapping_add(1);
            }
        }));
        assert_eq!(r.uuid_v4(), "00010203-0405-4607-8809-0a0b0c0d0e0f");
        assert!(shape_ok(&r.uuid_v4()));
    }

    #[test]
    fn floats_in_unit_interval() {
        let mut r = Rng::seeded(0);
        assert!((0..1000)
            .map(|_| r.next_f64())
            .all(|f| (0.0..1.0).contains(&f)));
        let mut ones = Rng::from_fill(Box::new(|b: &mut [u8]| b.fill(0xff)));
        assert!(ones.next_f64() < 1.0);
    }
}

//! The wasm skin: the JS `Agent` class over the pure [`crate::machine::Machine`].
//!
//! * [`agent`]: the exported class; every method takes `&self` and borrows state only in
//!   short synchronous scopes, so callbacks may call back into the agent.
//! * [`driver`]: performs the machine's effects (fetch, tools, timers, callbacks) and feeds
//!   the results back.
//! * [`options`]: reads and validates `AgentOptions` (TypeErrors naming the option).
//! * [`heap`]: the global allocator, counting live bytes for the benchmark.
//! * [`convert`]: values across the boundary (JSON text out, a JSON-semantics walker in).
//! * [`platform`]: the two clocks (monotonic for timers, wall for expiry and the wire) and
//!   the CSPRNG the machine's ids come from.

#[allow(unused_imports)]
use crate::prelude::*;

pub mod agent;
mod convert;
mod driver;
mod heap;
mod options;
mod platform;

/// A Rust panic (a bug: nothing external may cause one) traps, so the JS call that hit it
/// throws a `RuntimeError: unreachable`. Formatting no message keeps core's panic-message
/// machinery out of the .wasm; `FEATURES=panic-hook bash scripts/build-pkg.sh` builds a
/// package that prints the first panic's message and source location with `console.error`
/// first. (With `--features std`, as the glue tests build, std's own handler is used.)
#[cfg(not(feature = "std"))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    #[cfg(feature = "panic-hook")]
    {
        use core::sync::atomic::{AtomicBool, Ordering::Relaxed};
        // Once only: formatting allocates, and a panic out of memory must not recurse.
        static REPORTED: AtomicBool = AtomicBool::new(false);
        if !REPORTED.swap(true, Relaxed) {
            let text = alloc::format!("kapa-agent-wasm panicked: {info}");
            web_sys::console::error_1(&text.into());
        }
    }
    let _ = info;
    core::arch::wasm32::unreachable()
}

//! The wasm skin: the JS `Agent` class over the pure [`crate::machine::Machine`].
//!
//! * [`agent`]: the exported class; every method takes `&self` and borrows state only in
//!   short synchronous scopes, so callbacks may call back into the agent.
//! * [`driver`]: performs the machine's effects (fetch, tools, timers, callbacks) and feeds
//!   the results back.
//! * [`options`]: reads and validates `AgentOptions` (TypeErrors naming the option).
//! * [`heap`]: the global allocator, counting live bytes for the benchmark.
//! * [`convert`]: values across the boundary (JSON text out, a JSON-semantics walker in).

#[allow(unused_imports)]
use crate::prelude::*;

pub mod agent;
mod convert;
mod driver;
mod heap;
mod options;

/// A Rust panic (a bug: nothing external may cause one) traps, so the JS call that hit it
/// throws a `RuntimeError: unreachable`. Formatting no message keeps core's panic-message
/// machinery out of the .wasm; build with `--features panic-hook` to have the message (and
/// its source location) printed with `console.error` first.
#[cfg(not(feature = "std"))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    #[cfg(feature = "panic-hook")]
    web_sys::console::error_1(&alloc::format!("kapa-agent-wasm panicked: {info}").into());
    let _ = info;
    core::arch::wasm32::unreachable()
}

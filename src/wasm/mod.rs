//! The wasm skin: the JS `Agent` class over the pure [`crate::machine::Machine`].
//!
//! * [`agent`]: the exported class; every method takes `&self` and borrows state only in
//!   short synchronous scopes, so callbacks may call back into the agent.
//! * [`driver`]: performs the machine's effects (fetch, tools, timers, callbacks) and feeds
//!   the results back.
//! * [`options`]: reads and validates `AgentOptions` (TypeErrors naming the option).
//! * [`heap`]: the global allocator, counting live bytes for the benchmark.
//! * [`convert`]: values across the boundary (JSON text out, a JSON-semantics walker in).

pub mod agent;
mod convert;
mod driver;
mod heap;
mod options;

//! # kapa-agent-wasm
//!
//! Kapa's browser agent SDK (`@kapaai/agent-core`'s API) in Rust, compiled to WebAssembly.
//!
//! ## Architecture: a pure core and a thin wasm skin
//!
//! * The **core** ([`machine`], [`protocol`], [`decode`], [`messages`],
//!   [`options`], [`json`], JSON values, text and numbers exactly as JavaScript holds,
//!   reads and writes them, and [`small_map`], the maps of the few entries kept by id) is plain
//!   Rust with no I/O, clock or JS types. [`machine::Machine`] is the
//!   whole agent loop as a state machine: the driver reports what happened (`send_message`,
//!   `handle_token`, `handle_chunk`, `handle_tool_result`, `handle_timer`, … always with the
//!   current time) and drains [`machine::Machine::poll`] for [`machine::Effect`]s to perform.
//!   It builds and tests on the host with `cargo test`. `schema` (host only) is the JSON
//!   Schema validator of the host builds and the oracle of the package's JS one: the wasm
//!   skin validates tool arguments in JS, through the machine's args-check hook.
//! * The **wasm skin** (`src/wasm/`, only on `wasm32`) is the JS `Agent` class: it converts
//!   options and values, performs effects (`fetch`, tool `execute`, timers, callbacks) and feeds
//!   results back. It holds no protocol logic.
//!
//! ## The host loop
//!
//! ```
//! use kapa_agent_wasm::machine::{Effect, Machine};
//! use kapa_agent_wasm::options::Config;
//! use kapa_agent_wasm::json;
//!
//! let mut m = Machine::new(Config::new("proj", "int"), 42);
//! let turn = m.send_message("Hello", 0.0).unwrap().unwrap();
//! let mut req = None;
//! while let Some(effect) = m.poll() {
//!     match effect {
//!         Effect::GetToken => m.handle_token(Ok(json!({"token": "t", "expiresAt": 3_600_000})), 0.0),
//!         Effect::Fetch { req: id, .. } => req = Some(id),
//!         _ => {}
//!     }
//! }
//! let req = req.unwrap();
//! m.handle_stream_open(req, Some("text/event-stream"));
//! m.handle_chunk(req, b"event: text_delta\ndata: {\"text\":\"Hi!\"}\n\nevent: done\ndata: {\"thread_id\":\"thr_1\"}\n\n", 1.0);
//! let effects: Vec<Effect> = std::iter::from_fn(|| m.poll()).collect();
//! assert!(effects.contains(&Effect::TurnEnded { turn }));
//! assert_eq!(m.thread_id(), Some("thr_1"));
//! ```

// The shipped .wasm is `no_std`: it defines its own panic handler (a trap, with no message
// formatting) and allocator, which the standard library's would replace. That keeps core's
// panic-message machinery (Debug formatting, Unicode tables, source paths) out of the file.
// The host build, and the wasm tests with `--features std`, use std.
#![cfg_attr(all(target_arch = "wasm32", not(feature = "std")), no_std)]
// The nightly build of the shipped .wasm (scripts/build-pkg.sh sets `--cfg kapa_speed`) compiles
// the per-delta path for speed inside a module otherwise optimised for size.
#![cfg_attr(kapa_speed, feature(optimize_attribute))]

extern crate alloc;

/// What std's prelude adds to core's, for the `no_std` build (a no-op where std is linked).
#[allow(unused_imports)]
mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::boxed::Box;
    pub use alloc::format;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}

/// A [`json::Value`] from a Rust expression, or from `{"key": expression, …}` (one level;
/// nest `jv!` for objects inside; keys in the order written, as a JS object literal).
#[macro_export]
macro_rules! jv {
    (null) => {
        $crate::json::Value::Null
    };
    ({ $($key:literal : $value:expr),* $(,)? }) => {{
        #[allow(unused_mut)]
        let mut map = $crate::json::Map::new();
        $( map.insert($crate::__String::from($key), $crate::json::value(&$value)); )*
        $crate::json::Value::Object(map)
    }};
    ($e:expr) => {
        $crate::json::value(&$e)
    };
}

#[doc(hidden)]
pub use alloc::string::String as __String;

#[cfg(feature = "governance")]
pub mod canonical;
pub mod decode;
mod fmath;
pub mod json;
pub mod machine;
pub mod messages;
mod numtext;
pub mod options;
pub mod protocol;
pub mod rng;
// Host only (tests, fuzzing, the JS validator's oracle): the package validates in JS.
#[cfg(not(target_arch = "wasm32"))]
pub mod schema;
pub mod small_map;
pub mod text;
pub mod time;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

//! The global allocator: the `talc` crate (the shipped .wasm is `no_std`; talc is 1.8 KiB gzip
//! smaller than dlmalloc, the one std uses on wasm32), counting the bytes it has live, so the
//! benchmark can tell whether `resetConversation()` gives back what a conversation took. (A
//! wasm memory never shrinks: its size says how much the module once needed, not what it
//! holds now.)

#[allow(unused_imports)]
use crate::prelude::*;
use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

#[cfg(not(feature = "std"))]
static SYSTEM: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
#[cfg(feature = "std")]
static SYSTEM: std::alloc::System = std::alloc::System;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the allocator, which upholds the contract; the
// counter is only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { SYSTEM.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { SYSTEM.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { SYSTEM.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Relaxed);
            LIVE.fetch_add(new_size, Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes the Rust side holds right now (all agents of this module instance together).
pub fn live_bytes() -> usize {
    LIVE.load(Relaxed)
}

//! The global allocator: dlmalloc (the one std uses on wasm32; a crate here, since the shipped
//! .wasm is `no_std`), counting the bytes it has live, so the benchmark can tell whether
//! `resetConversation()` gives back what a conversation took. (A wasm memory never shrinks:
//! its size says how much the module once needed, not what it holds now.)
//!
//! `talc` was tried (issue 12): 1.8 KiB gzip smaller, but over 1,000-turn conversations its
//! wasm memory reached 4.94 MiB against dlmalloc's 3.56 MiB and grew again over a second
//! 1,000 turns (5.06 MiB), where dlmalloc reuses what it has; it was no faster.

#[allow(unused_imports)]
use crate::prelude::*;
use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

#[cfg(not(feature = "std"))]
static SYSTEM: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;
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

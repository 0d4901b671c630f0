//! The memory limit of a worker's runtime, kept by the allocator QuickJS allocates through.
//!
//! QuickJS has a limit of its own, but when it is reached while a script builds a large
//! string, there is not even room left for the error object, and the script appears to have
//! thrown `null`. Counting here instead, a refused allocation is recorded, so the worker can
//! tell "out of memory" from anything a script throws.

use rquickjs::allocator::{Allocator, RustAllocator};
use std::cell::Cell;
use std::rc::Rc;

/// Shared between the allocator (inside the runtime) and the worker.
#[derive(Debug, Clone, Default)]
pub(crate) struct Budget {
    /// Bytes the runtime may hold; 0 = no limit.
    pub(crate) limit: Rc<Cell<usize>>,
    /// An allocation was refused since the flag was last cleared.
    pub(crate) refused: Rc<Cell<bool>>,
    /// Bytes the runtime holds now.
    pub(crate) used: Rc<Cell<usize>>,
}

/// Rust's global allocator, counting what the runtime holds.
pub(crate) struct Limited {
    budget: Budget,
}

impl Limited {
    pub(crate) fn new(budget: Budget) -> Self {
        Self { budget }
    }

    fn used(&self) -> usize {
        self.budget.used.get()
    }

    fn set_used(&mut self, used: usize) {
        self.budget.used.set(used);
    }

    fn allows(&self, more: usize) -> bool {
        let limit = self.budget.limit.get();
        if limit == 0 || self.used().saturating_add(more) <= limit {
            return true;
        }
        self.budget.refused.set(true);
        false
    }
}

// SAFETY: every block comes from `RustAllocator` and goes back to it; this type only counts.
// Null is returned where `RustAllocator` would fail or the budget is spent, as allowed.
unsafe impl Allocator for Limited {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        if !self.allows(size) {
            return std::ptr::null_mut();
        }
        let p = RustAllocator.alloc(size);
        if !p.is_null() {
            // SAFETY: `p` was just allocated by `RustAllocator`.
            self.set_used(self.used() + unsafe { RustAllocator::usable_size(p) });
        }
        p
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        let Some(total) = count.checked_mul(size) else {
            return std::ptr::null_mut();
        };
        if total == 0 || !self.allows(total) {
            return std::ptr::null_mut();
        }
        let p = RustAllocator.calloc(count, size);
        if !p.is_null() {
            // SAFETY: as in `alloc`.
            self.set_used(self.used() + unsafe { RustAllocator::usable_size(p) });
        }
        p
    }

    unsafe fn dealloc(&mut self, ptr: *mut u8) {
        self.set_used(self.used().saturating_sub(RustAllocator::usable_size(ptr)));
        RustAllocator.dealloc(ptr);
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> *mut u8 {
        if ptr.is_null() {
            return self.alloc(new_size);
        }
        let old = RustAllocator::usable_size(ptr);
        if new_size > old && !self.allows(new_size - old) {
            return std::ptr::null_mut();
        }
        let p = RustAllocator.realloc(ptr, new_size);
        if !p.is_null() {
            self.set_used(self.used().saturating_sub(old) + RustAllocator::usable_size(p));
        }
        p
    }

    unsafe fn usable_size(ptr: *mut u8) -> usize {
        RustAllocator::usable_size(ptr)
    }
}

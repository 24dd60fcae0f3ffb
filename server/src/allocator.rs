//! The global allocator: mimalloc, asked for blocks the way its C API is used.
//!
//! The `mimalloc` crate's `GlobalAlloc` asks for every block with `mi_malloc_aligned`, even
//! at the alignment every block has anyway. In mimalloc 3 that call takes a fast path only
//! while the size class's page has a free block at hand; otherwise, for a size class that is
//! not a power of two (an 88-byte `Arc<Meta>` is in class 96), it over-allocates from a
//! larger class, so the class's freed blocks are never collected for reuse and every later
//! allocation of that size takes the slow path again: two such allocations per pipelined
//! LPUSH or RPOP, 4 % of their instructions (`bench/callgrind.sh`). Ordinary alignments go
//! to `mi_malloc`, which returns blocks aligned to 16 bytes (blocks under 16 bytes to 8), as
//! the `mimalloc` crate itself did before it switched.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as ffi;

/// The alignment every mimalloc block of at least this size has (`MI_MAX_ALIGN_SIZE`).
const MIN_ALIGN: usize = 16;

/// Whether a plain `mi_malloc` block of `size` bytes is aligned to `align`.
fn naturally_aligned(size: usize, align: usize) -> bool {
    align <= MIN_ALIGN && align <= size
}

pub struct MiMalloc;

/// A block of `size` bytes aligned to `align`, from `plain` when mimalloc's own alignment
/// suffices, else from `aligned`.
///
/// # Safety
/// As for [`GlobalAlloc::alloc`]: `align` is a power of two.
unsafe fn allocate(
    size: usize,
    align: usize,
    plain: unsafe extern "C" fn(usize) -> *mut c_void,
    aligned: unsafe extern "C" fn(usize, usize) -> *mut c_void,
) -> *mut u8 {
    if naturally_aligned(size, align) {
        plain(size).cast()
    } else {
        aligned(size, align).cast()
    }
}

// SAFETY: every block comes from mimalloc with at least the layout's size and alignment,
// and goes back to mimalloc's `mi_free` (which takes blocks of either allocation call).
unsafe impl GlobalAlloc for MiMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        allocate(
            layout.size(),
            layout.align(),
            ffi::mi_malloc,
            ffi::mi_malloc_aligned,
        )
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        allocate(
            layout.size(),
            layout.align(),
            ffi::mi_zalloc,
            ffi::mi_zalloc_aligned,
        )
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        ffi::mi_free(ptr.cast::<c_void>());
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if naturally_aligned(new_size, layout.align()) {
            ffi::mi_realloc(ptr.cast::<c_void>(), new_size).cast()
        } else {
            ffi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_have_their_layouts_alignment() {
        for (size, align) in [
            (1, 1),
            (8, 8),
            (12, 4),
            (88, 8),
            (100, 16),
            (24, 32),
            (4096, 64),
        ] {
            let layout = Layout::from_size_align(size, align).expect("layout");
            // SAFETY: a non-zero size; the block is freed with the allocator that made it.
            unsafe {
                let block = MiMalloc.alloc(layout);
                assert!(!block.is_null());
                assert_eq!(block as usize % align, 0, "size {size}, align {align}");
                let grown = MiMalloc.realloc(block, layout, size * 3);
                assert_eq!(grown as usize % align, 0, "grown {size}, align {align}");
                MiMalloc.dealloc(
                    grown,
                    Layout::from_size_align(size * 3, align).expect("layout"),
                );
            }
        }
    }
}

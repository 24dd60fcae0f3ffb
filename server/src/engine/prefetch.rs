//! A hint to the CPU to start loading memory a lookup will read.

/// Asks the CPU to load the cache line holding `item`; a hint only, never an access the
/// program sees (any address may be given).
pub(crate) fn prefetch<T>(item: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch instruction reads nothing into the program and cannot fault.
    unsafe {
        std::arch::x86_64::_mm_prefetch(item.cast::<i8>(), std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = item;
}

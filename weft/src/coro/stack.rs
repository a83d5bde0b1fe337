//! Coroutine stacks: `corosensei`'s guarded `DefaultStack` (an `mmap` with a
//! `PROT_NONE` guard page below the stack), kept in a per-thread pool so a
//! short-lived coroutine costs no `mmap`/`munmap`.

use std::cell::RefCell;
use std::io;

use corosensei::stack::{DefaultStack, Stack};

/// Smallest stack a coroutine may ask for.
pub(crate) const MIN_STACK_SIZE: usize = 16 * 1024;
/// Largest stack a coroutine may ask for.
pub(crate) const MAX_STACK_SIZE: usize = 1 << 30;
/// Stacks kept per thread for reuse; more are unmapped when freed.
const POOL_CAP: usize = 1024;

thread_local! {
    /// Free stacks of this thread, each with the size it was made for.
    static POOL: RefCell<Vec<(usize, DefaultStack)>> = const { RefCell::new(Vec::new()) };
}

/// The system's page size (`sysconf(_SC_PAGESIZE)`, read once). Not
/// rustix's `page_size`, which probes the auxiliary vector in a way that
/// crashes under valgrind.
pub(crate) fn page_size() -> usize {
    static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: `sysconf` has no preconditions; it reads a constant.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(page)
            .ok()
            .filter(|p| p.is_power_of_two())
            .unwrap_or(4096)
    })
}

/// `size` rounded up to whole pages, after checking it is in range.
pub(crate) fn checked_size(size: usize) -> io::Result<usize> {
    if !(MIN_STACK_SIZE..=MAX_STACK_SIZE).contains(&size) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "weft::coro: a stack size of {size} bytes is out of range \
                 ({MIN_STACK_SIZE} bytes to {MAX_STACK_SIZE} bytes)"
            ),
        ));
    }
    let page = page_size();
    Ok(size.div_ceil(page) * page)
}

/// A stack of `size` bytes (already page-rounded): from this thread's pool
/// when one is free, else freshly mapped.
pub(crate) fn take(size: usize) -> io::Result<DefaultStack> {
    let pooled = POOL
        .try_with(|pool| {
            let mut pool = pool.borrow_mut();
            let at = pool.iter().rposition(|(s, _)| *s == size)?;
            Some(pool.swap_remove(at).1)
        })
        .ok()
        .flatten();
    match pooled {
        Some(stack) => Ok(stack),
        None => DefaultStack::new(size).map_err(|e| map_error(size, e)),
    }
}

/// Gives a stack whose coroutine has finished back to this thread's pool.
pub(crate) fn recycle(size: usize, stack: DefaultStack) {
    let _ = POOL.try_with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.len() < POOL_CAP {
            pool.push((size, stack));
        }
    });
}

/// The guard page's address range `[low, high)` of `stack`.
pub(crate) fn guard_range(stack: &DefaultStack) -> (usize, usize) {
    let low = stack.limit().get();
    (low, low + page_size())
}

/// The error for a stack that could not be mapped: says why, and names the
/// limit that is usually behind it.
fn map_error(size: usize, e: io::Error) -> io::Error {
    let max_map_count = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned());
    io::Error::new(
        e.kind(),
        format!(
            "weft::coro: cannot map a {size}-byte coroutine stack: {e}. Each coroutine stack \
             takes two memory mappings (stack and guard page), and Linux allows \
             vm.max_map_count (here {max_map_count}) mappings per process, so about half that \
             many coroutines can exist at once; raise it with `sysctl -w \
             vm.max_map_count=<n>`, or run fewer coroutines (e.g. `weft::coro::serve`'s slots). \
             (An address-space limit, `ulimit -v`, or memory exhaustion fail the same way.)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_checked_and_rounded() {
        assert!(checked_size(1024).is_err());
        assert!(checked_size(MAX_STACK_SIZE + 1).is_err());
        let rounded = checked_size(MIN_STACK_SIZE + 1).unwrap();
        assert_eq!(rounded % page_size(), 0);
        assert!(rounded > MIN_STACK_SIZE);
        let message = checked_size(0).unwrap_err().to_string();
        assert!(message.contains("out of range"), "{message}");
    }

    #[test]
    fn stacks_are_reused() {
        let size = checked_size(64 * 1024).unwrap();
        let stack = take(size).unwrap();
        let base = stack.base();
        recycle(size, stack);
        let again = take(size).unwrap();
        assert_eq!(again.base(), base, "the pooled stack comes back");
        let other = take(size).unwrap();
        assert_ne!(other.base(), base);
    }

    #[test]
    fn the_mapping_error_names_the_limit() {
        let e = map_error(65536, io::Error::from_raw_os_error(libc::ENOMEM));
        let message = e.to_string();
        assert!(message.contains("vm.max_map_count"), "{message}");
        assert_eq!(e.kind(), io::ErrorKind::OutOfMemory);
    }
}

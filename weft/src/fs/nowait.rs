//! Reads the page cache answers at once, made on the calling thread.
//!
//! A [`File`](super::File) read and [`fs::read`](super::read) first ask the
//! kernel for the bytes without waiting for a disk: `preadv2(RWF_NOWAIT)`
//! copies what the page cache holds straight into the caller's buffer (no
//! trip to the blocking pool, no copy through the `File`'s buffer), and
//! `openat2(RESOLVE_CACHED)` opens a path whose every component is in the
//! kernel's lookup cache. Where either would wait (`EAGAIN`), or the file
//! or kernel cannot say (`EOPNOTSUPP`, `ENOSYS`, ...), the call goes to the
//! blocking pool as before, which then makes the real, blocking call and
//! reports its error. This is the rule io_uring applies to its own inline
//! attempts (a cached lookup, `O_NONBLOCK`, a no-wait read), without the
//! ring: for what can complete at once a direct call costs the same
//! syscall, and only a direct call may write into a buffer the caller
//! lends for one poll. What cannot complete at once (creating, writing,
//! removing: ext4 has no no-wait buffered write) goes to the pool, whose
//! trip measured cheaper here than the ring's kernel workers
//! (BENCHMARKS.md, `bench fs`).
//!
//! The calling thread is the loop's: one call copies at most
//! [`INLINE_MAX`] bytes (a `File` read, at most its `max_buf_size`), about
//! as long as a few dozen socket reads take.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// The largest whole file [`read_file`] reads on the calling thread; a
/// larger one is handed to the pool (opened already).
pub(super) const INLINE_MAX: usize = 2 * 1024 * 1024;

/// What a no-wait attempt came to.
#[derive(Debug)]
pub(super) enum Nowait<T> {
    /// Done, or failed for good: the same result the blocking call would
    /// have given.
    Done(io::Result<T>),
    /// It would have waited for the disk (or for a pipe's writer): ask the
    /// pool.
    WouldBlock,
    /// This file (or kernel) cannot answer without waiting, or cannot say:
    /// ask the pool, and do not try no-wait calls on it again.
    Unsupported,
}

/// Cleared once the kernel turns `openat2` down (before Linux 5.6, or
/// `RESOLVE_CACHED` before 5.12): later opens go to the pool at once.
static OPENAT2: AtomicBool = AtomicBool::new(true);

/// Reads into `dst` from the file's offset (moving it, as `read(2)`) what
/// the page cache holds, without waiting. `Done(Ok(0))` is the end of the
/// file (a no-wait read that would wait fails instead).
pub(super) fn read(file: &File, dst: &mut [u8]) -> Nowait<usize> {
    read_raw(file, dst.as_mut_ptr(), dst.len())
}

/// [`read`] into `len` bytes at `dst`, which must be writable.
fn read_raw(file: &File, dst: *mut u8, len: usize) -> Nowait<usize> {
    let iov = libc::iovec {
        iov_base: dst.cast(),
        iov_len: len,
    };
    loop {
        // SAFETY: `iov` describes `len` writable bytes at `dst` (both
        // callers pass memory they hold exclusively: a `&mut [u8]`, or a
        // `Vec`'s spare capacity), and the call returns before anything
        // else touches them; the descriptor is `file`'s, open while
        // borrowed. Offset -1: the file's own offset, moved as `readv`.
        let n = unsafe { libc::preadv2(file.as_raw_fd(), &iov, 1, -1, libc::RWF_NOWAIT) };
        if let Ok(n) = usize::try_from(n) {
            return Nowait::Done(Ok(n));
        }
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) => Nowait::WouldBlock,
            // No RWF_NOWAIT for this file (a tty, some /proc files, before
            // Linux 4.14), or a read the pool's plain `read` answers better
            // (EINVAL: an O_DIRECT file's alignment, say).
            Some(libc::EOPNOTSUPP | libc::ENOSYS | libc::EINVAL) => Nowait::Unsupported,
            _ => Nowait::Done(Err(e)),
        };
    }
}

/// Opens `path` with `flags` if the kernel can without waiting for a
/// disk: every component in its lookup cache.
fn open(path: &Path, flags: libc::c_int) -> Nowait<File> {
    if !OPENAT2.load(Relaxed) {
        return Nowait::Unsupported;
    }
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else {
        // A NUL inside: std's open says so.
        return Nowait::Unsupported;
    };
    // SAFETY: `open_how` is plain integers; all-zero is a valid value.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    // `O_PATH` takes no flag but `O_CLOEXEC` (and two unused here):
    // `openat2` fails any other with `EINVAL`, unlike `openat`.
    let extra = if flags & libc::O_PATH != 0 {
        libc::O_CLOEXEC
    } else {
        libc::O_CLOEXEC | libc::O_NOCTTY
    };
    how.flags = (flags | extra) as u64;
    how.resolve = libc::RESOLVE_CACHED;
    // SAFETY: `c_path` is a NUL-terminated string and `how` an `open_how`
    // of the size passed, both live across the call; `openat2` only reads
    // them and returns a new descriptor or -1.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            libc::AT_FDCWD,
            c_path.as_ptr(),
            &how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::EAGAIN) => Nowait::WouldBlock,
            Some(libc::ENOSYS | libc::E2BIG | libc::EINVAL | libc::EPERM) => {
                // EPERM: a seccomp filter that refuses the call.
                OPENAT2.store(false, Relaxed);
                Nowait::Unsupported
            }
            _ => Nowait::Done(Err(e)),
        };
    }
    // SAFETY: `openat2` returned a new descriptor, which nothing else owns.
    Nowait::Done(Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd as i32) })))
}

/// What [`read_file`] leaves to the pool.
#[derive(Debug)]
pub(super) enum Rest {
    /// Nothing opened: the pool reads the path.
    Path,
    /// A regular file, opened, whose data is not all cached: the pool reads
    /// on from here, after `bytes` ([`blocking`]).
    Open(File, Vec<u8>),
}

/// Reads a whole regular file of at most [`INLINE_MAX`] bytes if the kernel
/// can without waiting; else says what the pool is to do.
///
/// Only a regular file is opened for reading here: the path is first
/// opened `O_PATH` (which opens nothing: no FIFO waits for a writer, no
/// device sees an open) to learn its type and size. The open for reading
/// is `O_NONBLOCK`, so that a FIFO put in its place meanwhile is not
/// waited on either; it is then found not to be the same file and closed
/// (the pool opens the path as `std::fs::read` does). Regular files ignore
/// `O_NONBLOCK`.
pub(super) fn read_file(path: &Path) -> Result<io::Result<Vec<u8>>, Rest> {
    let probe = match open(path, libc::O_PATH) {
        Nowait::Done(Ok(probe)) => probe,
        Nowait::Done(Err(e)) => return Ok(Err(e)),
        Nowait::WouldBlock | Nowait::Unsupported => return Err(Rest::Path),
    };
    let meta = match probe.metadata() {
        Ok(meta) if meta.is_file() && meta.len() <= INLINE_MAX as u64 => meta,
        _ => return Err(Rest::Path),
    };
    drop(probe);
    let file = match open(path, libc::O_RDONLY | libc::O_NONBLOCK) {
        Nowait::Done(Ok(file)) => file,
        Nowait::Done(Err(e)) => return Ok(Err(e)),
        Nowait::WouldBlock | Nowait::Unsupported => return Err(Rest::Path),
    };
    let size = match file.metadata() {
        Ok(now) if now.is_file() && (now.dev(), now.ino()) == (meta.dev(), meta.ino()) => now.len(),
        Ok(_) => return Err(Rest::Path),
        Err(e) => return Ok(Err(e)),
    };
    // One byte more than the size, so that the end shows in one read when
    // the file has not grown meanwhile.
    let mut bytes = Vec::with_capacity(size.min(INLINE_MAX as u64) as usize + 1);
    loop {
        if bytes.len() == bytes.capacity() {
            if bytes.len() >= INLINE_MAX {
                return Err(Rest::Open(file, bytes));
            }
            bytes.reserve(4096);
        }
        let spare = bytes.spare_capacity_mut();
        match read_raw(&file, spare.as_mut_ptr().cast(), spare.len()) {
            Nowait::Done(Ok(0)) => return Ok(Ok(bytes)),
            Nowait::Done(Ok(n)) => {
                // SAFETY: the kernel wrote `n` bytes (at most the spare
                // capacity it was given) just past the initialised part.
                unsafe { bytes.set_len(bytes.len() + n) };
            }
            Nowait::Done(Err(e)) => return Ok(Err(e)),
            Nowait::WouldBlock | Nowait::Unsupported => return Err(Rest::Open(file, bytes)),
        }
    }
}

/// The pool's part of [`read_file`]: reads the regular file it opened to
/// the end after `bytes`, waiting as a plain read does.
pub(super) fn blocking(file: File, mut bytes: Vec<u8>) -> io::Result<Vec<u8>> {
    (&file).read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::OpenOptionsExt;

    fn scratch(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("weft-nowait-{name}-{}", std::process::id()))
    }

    #[test]
    fn a_cached_file_is_read_whole_at_once() {
        let path = scratch("whole");
        let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        std::fs::write(&path, &data).unwrap();
        std::fs::read(&path).unwrap(); // in the page cache now
        let got = read_file(&path);
        std::fs::remove_file(&path).unwrap();
        match got {
            Ok(Ok(bytes)) => assert_eq!(bytes, data),
            Ok(Err(e)) => panic!("{e}"),
            // Only a kernel without `openat2` sends a cached file there.
            Err(Rest::Path) => assert!(!OPENAT2.load(Relaxed), "a cached file went to the pool"),
            Err(Rest::Open(file, bytes)) => assert_eq!(blocking(file, bytes).unwrap(), data),
        }
    }

    #[test]
    fn a_missing_file_fails_as_open_fails() {
        let path = scratch("missing");
        // A lookup that failed before is cached (a negative entry); one
        // never made would need the disk, and go to the pool.
        assert!(std::fs::metadata(&path).is_err());
        match read_file(&path) {
            Ok(result) => assert_eq!(result.unwrap_err().kind(), io::ErrorKind::NotFound),
            Err(rest) => assert!(!OPENAT2.load(Relaxed), "{rest:?}"),
        }
    }

    #[test]
    fn a_fifo_is_left_to_the_pool_unopened() {
        let path = scratch("fifo");
        let c_path = CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        // Would hang here if the open waited for a writer.
        let got = read_file(&path);
        // Not opened for reading: a writer's non-blocking open still finds
        // no reader (ENXIO).
        let writer = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path);
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(got, Err(Rest::Path)), "{got:?}");
        assert_eq!(writer.unwrap_err().raw_os_error(), Some(libc::ENXIO));
    }

    #[test]
    fn a_read_moves_the_offset_and_sees_the_end() {
        let path = scratch("offset");
        std::fs::write(&path, b"0123456789").unwrap();
        let file = File::open(&path).unwrap();
        let mut buf = [0u8; 4];
        let mut seen = Vec::new();
        loop {
            match read(&file, &mut buf) {
                Nowait::Done(Ok(0)) => break,
                Nowait::Done(Ok(n)) => seen.extend_from_slice(&buf[..n]),
                Nowait::Done(Err(e)) => panic!("{e}"),
                Nowait::WouldBlock | Nowait::Unsupported => {
                    let n = (&file).read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    seen.extend_from_slice(&buf[..n]);
                }
            }
        }
        std::fs::remove_file(&path).unwrap();
        assert_eq!(seen, b"0123456789");
    }
}

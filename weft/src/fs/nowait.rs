//! File calls the kernel answers at once from its caches, made on the
//! calling thread: reads of cached data, opens that create and truncate
//! nothing, metadata.
//!
//! A [`File`](super::File) read and [`fs::read`](super::read) first ask the
//! kernel for the bytes without waiting for a disk: `preadv2(RWF_NOWAIT)`
//! copies what the page cache holds straight into the caller's buffer (no
//! trip to the blocking pool, no copy through the `File`'s buffer), and
//! `openat2(RESOLVE_CACHED)` opens a path whose every component is in the
//! kernel's lookup cache. Where either would wait (`EAGAIN`), or the file
//! cannot say (`EOPNOTSUPP`, ...), the call goes to the blocking pool as
//! before, which then makes the real, blocking call and reports its error.
//! This is the rule io_uring applies to its own inline attempts (a cached
//! lookup, `O_NONBLOCK`, a no-wait read), without the ring: for what can
//! complete at once a direct call costs the same syscall, and only a direct
//! call may write into a buffer the caller lends for one poll. What cannot
//! complete at once (creating, writing, removing: ext4 has no no-wait
//! buffered write) goes to the pool, whose trip measured cheaper here than
//! the ring's kernel workers (BENCHMARKS.md, `bench fs`).
//!
//! **Only on local disk file systems** (ext2/3/4, XFS, Btrfs, F2FS): there
//! an open, an `fstat` and a close do no I/O for a file whose lookup is
//! cached. On NFS, SMB or FUSE an open is a request to a server or a daemon,
//! and tmpfs answers no-wait reads with `EOPNOTSUPP`, so those files go to
//! the pool as before; so do overlayfs files (a container's root), whose
//! layers may be anything. A mount's file system is learnt on the pool
//! (`fstatfs` may itself be a request), keyed by device and mount id (a
//! device number alone is reused by other kinds of file system after an
//! unmount): an `open` learns it for its `File`; an `fs::read` on a mount
//! not seen yet goes to the pool, which learns it for the next. Files
//! opened `O_DIRECT` always read on the pool (a direct read waits for the
//! disk even when asked not to); `O_DIRECT` set later through the
//! descriptor (`fcntl`) is not seen.
//!
//! What stays: an open for writing may start a journal transaction (ext4's
//! first one after mount, a quota entry read for the first time) and runs
//! the integrity and permission hooks (IMA, fanotify) as any open does; a
//! no-wait read that misses the cache may still start the
//! read-ahead of the pages it lacks (queued, not waited for), an access
//! time update may touch the journal, and ext4's close of a file just
//! truncated and rewritten starts its writeback (`auto_da_alloc`), as
//! io_uring's inline calls and any close do; a fanotify permission watch
//! (an anti-virus daemon) is consulted on the calling thread, as on every
//! other thread. `fs::read`'s first look at a path (`statx` asking only
//! for the mount, from what is cached) is made before its file system is
//! known: NFS and FUSE answer it from their caches, SMB asks its server if
//! its cached attributes were thrown away (after a truncate). Between the
//! `O_PATH` probe and the open for reading the path could be replaced (a
//! rename, a mount): the open is `O_NONBLOCK`, so a FIFO or device put
//! there does not wait, and the file is found to be another one and closed
//! on the pool; but that open itself could then reach a network file
//! system.
//!
//! The calling thread is the loop's: one call copies at most
//! [`INLINE_MAX`] bytes (a `File` read, at most its `max_buf_size`), about
//! as long as a few dozen socket reads take.

use std::fs::{File, Metadata};
use std::io::{self, IoSliceMut, Read};
use std::path::Path;
use std::sync::{OnceLock, PoisonError, RwLock};

use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags, StatxFlags, CWD};
use rustix::io::{Errno, ReadWriteFlags};

/// The largest whole file [`read_file`] reads on the calling thread; a
/// larger one is left to the pool.
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
    /// This file cannot answer without waiting, or cannot say: ask the
    /// pool, and do not try no-wait reads on it again.
    Unsupported,
}

/// Reads into `dst` from the file's offset (moving it, as `read(2)`) what
/// the page cache holds, without waiting. `Done(Ok(0))` is the end of the
/// file (a no-wait read that would wait fails instead).
pub(super) fn read(file: &File, dst: &mut [u8]) -> Nowait<usize> {
    loop {
        // Offset `u64::MAX` (-1): the file's own, moved as by `readv`.
        match rustix::io::preadv2(
            file,
            &mut [IoSliceMut::new(&mut *dst)],
            u64::MAX,
            ReadWriteFlags::NOWAIT,
        ) {
            Ok(n) => return Nowait::Done(Ok(n)),
            Err(Errno::INTR) => continue,
            Err(Errno::AGAIN) => return Nowait::WouldBlock,
            // No RWF_NOWAIT for this file (a tty, tmpfs, some /proc files,
            // before Linux 4.14), or a read the pool's plain `read` answers
            // better (EINVAL: an O_DIRECT file's alignment, say).
            Err(Errno::OPNOTSUPP | Errno::NOSYS | Errno::INVAL) => return Nowait::Unsupported,
            Err(e) => return Nowait::Done(Err(e.into())),
        }
    }
}

/// Whether `openat2` with `RESOLVE_CACHED` works here (Linux 5.12, and no
/// seccomp filter refusing it): asked once, of `/`.
fn cached_opens() -> bool {
    static WORKS: OnceLock<bool> = OnceLock::new();
    *WORKS.get_or_init(|| loop {
        let root = rustix::fs::openat2(
            CWD,
            "/",
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::CACHED,
        );
        match root {
            Err(Errno::INTR) => continue,
            // EAGAIN: supported, `/` just not cached (it always is).
            other => break matches!(other, Ok(_) | Err(Errno::AGAIN)),
        }
    })
}

/// The file systems whose open, `fstat`, close and cached reads wait for
/// nothing: `statfs`'s `f_type` magic numbers.
const LOCAL_DISKS: [u32; 4] = [
    0xEF53,      // ext2, ext3, ext4
    0x5846_5342, // XFS
    0x9123_683E, // Btrfs
    0xF2F5_2010, // F2FS
];

/// `f_type` is 32 or 64 bits wide, signed or not, by architecture: its low
/// 32 bits are the magic number.
#[allow(clippy::unnecessary_cast)]
fn is_local_disk(fs: &rustix::fs::StatFs) -> bool {
    LOCAL_DISKS.contains(&(fs.f_type as u32))
}

/// `STATX_MNT_ID_UNIQUE` (Linux 6.8): a mount id never reused.
const MNT_ID_UNIQUE: u32 = 0x4000;

/// Where a file lives: its device, and its mount's id (unique for the
/// boot where the kernel has such ids, 6.8; else the reusable one, 5.8;
/// else 0). A device number alone may be reused by a file system of
/// another kind after an unmount (anonymous devices: Btrfs subvolumes,
/// NFS, FUSE, tmpfs), the pair far less readily.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Mount {
    dev: u64,
    mnt: u64,
}

/// The mount of an open file (an `O_PATH` one too), from what the kernel
/// has cached (`AT_STATX_DONT_SYNC`, asking for no attribute a network
/// file system would have to fetch).
fn mount_of(file: &File) -> Option<Mount> {
    let ids = StatxFlags::MNT_ID | StatxFlags::from_bits_retain(MNT_ID_UNIQUE);
    let dont_sync = AtFlags::EMPTY_PATH | AtFlags::STATX_DONT_SYNC;
    let meta = rustix::fs::statx(file, "", dont_sync, ids).ok()?;
    let has_id = meta.stx_mask & (StatxFlags::MNT_ID.bits() | MNT_ID_UNIQUE) != 0;
    Some(Mount {
        dev: (u64::from(meta.stx_dev_major) << 32) | u64::from(meta.stx_dev_minor),
        mnt: if has_id { meta.stx_mnt_id } else { 0 },
    })
}

/// What each mount's file system allows, as learnt ([`learn`]); at most
/// [`MOUNTS_KEPT`], the oldest forgotten first.
static MOUNTS: RwLock<Vec<(Mount, bool)>> = RwLock::new(Vec::new());
const MOUNTS_KEPT: usize = 64;

/// Whether no-wait calls may be made on the mount: `None` until learnt.
fn allowed(mount: Mount) -> Option<bool> {
    MOUNTS
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .find(|(known, _)| *known == mount)
        .map(|&(_, allowed)| allowed)
}

/// The pool's part: learns the file system of the mount `file` lives on
/// (`fstatfs` may wait: NFS asks its server, so this runs on the pool, and
/// always asks, replacing what was known), and says whether no-wait reads
/// suit `file` (a local disk, not `O_DIRECT`).
pub(super) fn learn(file: &File) -> bool {
    let (Some(mount), Ok(fs)) = (mount_of(file), rustix::fs::fstatfs(file)) else {
        return false;
    };
    let local = is_local_disk(&fs);
    let mut mounts = MOUNTS.write().unwrap_or_else(PoisonError::into_inner);
    match mounts.iter_mut().find(|(known, _)| *known == mount) {
        Some(entry) => entry.1 = local,
        None => {
            if mounts.len() == MOUNTS_KEPT {
                mounts.remove(0);
            }
            mounts.push((mount, local));
        }
    }
    drop(mounts);
    local && not_direct(file)
}

/// Whether no-wait reads suit a file opened elsewhere (`File::from_std`),
/// as far as known without waiting: its mount learnt as a local disk, and
/// not `O_DIRECT`.
pub(super) fn suits(file: &File) -> bool {
    mount_of(file).and_then(allowed) == Some(true) && not_direct(file)
}

fn not_direct(file: &File) -> bool {
    rustix::fs::fcntl_getfl(file).is_ok_and(|flags| !flags.contains(OFlags::DIRECT))
}

/// Opens `path` with `flags` (and `O_CLOEXEC`) if the kernel can without
/// waiting for a disk: every component in its lookup cache.
fn open(path: &Path, flags: OFlags) -> Nowait<File> {
    loop {
        return match rustix::fs::openat2(
            CWD,
            path,
            flags | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::CACHED,
        ) {
            Ok(fd) => Nowait::Done(Ok(File::from(fd))),
            Err(Errno::INTR) => continue,
            // EMFILE/ENFILE: a descriptor the pool's call may not need (a
            // `stat`), or that it will report itself.
            Err(Errno::AGAIN | Errno::MFILE | Errno::NFILE) => Nowait::WouldBlock,
            // A path the pool's open reports on better (a NUL inside, a
            // name the file system's lookup refuses in this mode).
            Err(Errno::INVAL | Errno::TOOBIG | Errno::NOSYS) => Nowait::Unsupported,
            Err(e) => Nowait::Done(Err(e.into())),
        };
    }
}

/// What [`read_file`] leaves to the pool.
#[derive(Debug)]
pub(super) enum Rest {
    /// Nothing opened: the pool reads the path.
    Path,
    /// Nothing opened, on a mount whose file system is not known yet: the
    /// pool reads the path and learns it.
    Learn,
    /// The path was replaced between the probe and the open: the pool
    /// closes what was opened and reads the path.
    Replaced(File),
    /// A regular file on a local disk, opened, whose data is not all
    /// cached: the pool reads on from here, after `bytes` ([`blocking`]).
    Open(File, Vec<u8>),
}

/// Opens `path` `O_PATH` (which opens nothing: no FIFO waits for a writer,
/// no device sees an open, no server is asked; `nofollow`: a last symbolic
/// link itself) if its lookup is cached and it lives on a mount known to be
/// a local disk. The first look is only at where it lives (`statx` for the
/// mount, from what is cached): a network file system may have to ask its
/// server for other attributes.
fn probe(path: &Path, nofollow: bool) -> Result<io::Result<File>, Rest> {
    if !cached_opens() {
        return Err(Rest::Path);
    }
    let flags = if nofollow {
        OFlags::PATH | OFlags::NOFOLLOW
    } else {
        OFlags::PATH
    };
    let probe = match open(path, flags) {
        Nowait::Done(Ok(probe)) => probe,
        Nowait::Done(Err(e)) => return Ok(Err(e)),
        Nowait::WouldBlock | Nowait::Unsupported => return Err(Rest::Path),
    };
    match mount_of(&probe).map(allowed) {
        Some(Some(true)) => Ok(Ok(probe)),
        Some(Some(false)) | None => Err(Rest::Path),
        Some(None) => Err(Rest::Learn),
    }
}

fn is_regular(meta: &rustix::fs::Statx) -> bool {
    u32::from(meta.stx_mode) & libc::S_IFMT == libc::S_IFREG
}

/// Opens for real, with `flags`, the regular file a probe found (`probed`:
/// its type and inode): `O_NONBLOCK`, so that a FIFO or device put in its
/// place meanwhile does not wait (taken off again unless `flags` has it),
/// and it must be the same file, else it goes to the pool to be closed
/// ([`Rest::Replaced`]). Returns the file and its size (0 if unknown).
fn reopen(
    path: &Path,
    flags: OFlags,
    probed: &rustix::fs::Statx,
) -> Result<io::Result<(File, u64)>, Rest> {
    let file = match open(path, flags | OFlags::NONBLOCK | OFlags::NOCTTY) {
        Nowait::Done(Ok(file)) => file,
        // What opening the probed regular file may answer, as std's open
        // would (removed or replaced meanwhile, or not allowed).
        Nowait::Done(Err(e))
            if matches!(
                e.raw_os_error(),
                Some(libc::ENOENT | libc::EACCES | libc::EPERM | libc::EROFS | libc::ELOOP)
                    | Some(libc::ETXTBSY | libc::ENOTDIR)
            ) =>
        {
            return Ok(Err(e))
        }
        // Anything else may come of `O_NONBLOCK` on something put in its
        // place (ENXIO: a FIFO without a reader) or of this open's own
        // flags (EOVERFLOW): the pool opens it as std does.
        Nowait::Done(Err(_)) | Nowait::WouldBlock | Nowait::Unsupported => return Err(Rest::Path),
    };
    let wanted = StatxFlags::TYPE | StatxFlags::SIZE | StatxFlags::INO;
    let size = match rustix::fs::statx(&file, "", AtFlags::EMPTY_PATH, wanted) {
        Ok(now)
            if is_regular(&now)
                && (now.stx_dev_major, now.stx_dev_minor, now.stx_ino)
                    == (probed.stx_dev_major, probed.stx_dev_minor, probed.stx_ino) =>
        {
            now.stx_size
        }
        // Not the file probed (replaced meanwhile, maybe by one on a network
        // file system, whose close may be a request too), or not known to
        // be: closed on the pool, which opens the path as std does.
        _ => return Err(Rest::Replaced(file)),
    };
    if !flags.contains(OFlags::NONBLOCK) {
        // Regular files ignore it, but the descriptor may be handed on
        // (`into_std`): its flags are the ones asked for.
        let cleared = rustix::fs::fcntl_getfl(&file)
            .and_then(|now| rustix::fs::fcntl_setfl(&file, now - OFlags::NONBLOCK));
        if cleared.is_err() {
            return Err(Rest::Replaced(file));
        }
    }
    Ok(Ok((file, size)))
}

/// `fs::metadata` (`nofollow`: `fs::symlink_metadata`) if the kernel can
/// answer at once: the `fstat` of an `O_PATH` probe on a local disk.
pub(super) fn metadata(path: &Path, nofollow: bool) -> Result<io::Result<Metadata>, Rest> {
    Ok(probe(path, nofollow)?.and_then(|probe| probe.metadata()))
}

/// Opens a regular file on a local disk with `flags` at once, if the kernel
/// can: no create or truncate (those wait for the journal), no flag but
/// the access mode, `O_APPEND`, `O_NOFOLLOW` and `O_CLOEXEC` (the caller
/// checks).
pub(super) fn open_file(path: &Path, flags: OFlags) -> Result<io::Result<File>, Rest> {
    let probe = match probe(path, flags.contains(OFlags::NOFOLLOW))? {
        Ok(probe) => probe,
        Err(e) => return Ok(Err(e)),
    };
    let wanted = StatxFlags::TYPE | StatxFlags::INO;
    let Ok(meta) = rustix::fs::statx(&probe, "", AtFlags::EMPTY_PATH, wanted) else {
        return Err(Rest::Path);
    };
    if !is_regular(&meta) {
        // Directories, FIFOs, devices, a symbolic link under `O_NOFOLLOW`:
        // opened on the pool, with std's errors.
        return Err(Rest::Path);
    }
    drop(probe);
    Ok(reopen(path, flags, &meta)?.map(|(file, _)| file))
}

/// The pool's part of a [`Rest::Learn`] for a path not opened otherwise:
/// learns its mount's file system from an `O_PATH` open (`nofollow`: of a
/// last symbolic link itself, as the probe that asked).
pub(super) fn learn_path(path: &Path, nofollow: bool) {
    let mut flags = OFlags::PATH | OFlags::CLOEXEC;
    if nofollow {
        flags |= OFlags::NOFOLLOW;
    }
    if let Ok(fd) = rustix::fs::open(path, flags, Mode::empty()) {
        learn(&File::from(fd));
    }
}

/// Reads a whole regular file of at most [`INLINE_MAX`] bytes if the kernel
/// can without waiting; else says what the pool is to do.
///
/// Only a regular file on a local disk is opened for reading here: the
/// path is first opened `O_PATH` (which opens nothing: no FIFO waits for a
/// writer, no device sees an open, no server is asked) to learn its type,
/// size and device (`statx` with `AT_STATX_DONT_SYNC`: what is cached). The
/// open for reading is `O_NONBLOCK` and must find the same file.
pub(super) fn read_file(path: &Path) -> Result<io::Result<Vec<u8>>, Rest> {
    let probe = match probe(path, false)? {
        Ok(probe) => probe,
        Err(e) => return Ok(Err(e)),
    };
    let wanted = StatxFlags::TYPE | StatxFlags::SIZE | StatxFlags::INO;
    let dont_sync = AtFlags::EMPTY_PATH | AtFlags::STATX_DONT_SYNC;
    let Ok(meta) = rustix::fs::statx(&probe, "", dont_sync, wanted) else {
        return Err(Rest::Path);
    };
    if !is_regular(&meta) || meta.stx_size > INLINE_MAX as u64 {
        return Err(Rest::Path);
    }
    drop(probe);
    let (file, size) = match reopen(path, OFlags::RDONLY | OFlags::NONBLOCK, &meta)? {
        Ok(opened) => opened,
        Err(e) => return Ok(Err(e)),
    };
    // One byte more than the size, so that the end shows in one read when
    // the file has not grown meanwhile; never more than `INLINE_MAX` read
    // here, however it grows.
    let mut bytes = vec![0u8; size.min(INLINE_MAX as u64) as usize + 1];
    let mut len = 0;
    loop {
        if len == bytes.len() {
            if len > INLINE_MAX {
                bytes.truncate(len);
                return Err(Rest::Open(file, bytes));
            }
            let more = (len + 4096).min(INLINE_MAX + 1);
            bytes.resize(more, 0);
        }
        match read(&file, &mut bytes[len..]) {
            Nowait::Done(Ok(0)) => {
                bytes.truncate(len);
                return Ok(Ok(bytes));
            }
            Nowait::Done(Ok(n)) => len += n,
            Nowait::Done(Err(e)) => return Ok(Err(e)),
            Nowait::WouldBlock | Nowait::Unsupported => {
                bytes.truncate(len);
                return Err(Rest::Open(file, bytes));
            }
        }
    }
}

/// The pool's part of [`read_file`]: reads the regular file it opened to
/// the end after `bytes`, waiting as a plain read does (its `O_NONBLOCK`,
/// which some special files honour, taken off first).
pub(super) fn blocking(file: File, mut bytes: Vec<u8>) -> io::Result<Vec<u8>> {
    let flags = rustix::fs::fcntl_getfl(&file)?;
    rustix::fs::fcntl_setfl(&file, flags - OFlags::NONBLOCK)?;
    (&file).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The pool's part of a [`Rest::Learn`]: `std::fs::read`, and the device's
/// file system learnt from the file it opened.
pub(super) fn read_and_learn(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    learn(&file);
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Whether `dir` is on a local disk (for tests).
#[cfg(test)]
fn local_disk(dir: &Path) -> bool {
    rustix::fs::statfs(dir).is_ok_and(|fs| is_local_disk(&fs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("weft-nowait-{name}-{}", std::process::id()))
    }

    /// Whether the temp directory takes no-wait calls; says so if not.
    fn expected() -> bool {
        let dir = std::env::temp_dir();
        let expected = cached_opens() && local_disk(&dir);
        if !expected {
            println!(
                "no-wait reads are not expected in {} (no openat2, or not a local disk): \
                 checking only that the pool's part reads the same",
                dir.display()
            );
        }
        expected
    }

    /// Learns the temp directory's device, as an open on the pool would.
    fn learnt(path: &Path) {
        learn(&File::open(path).unwrap());
    }

    #[test]
    fn a_cached_file_is_read_whole_at_once() {
        let path = scratch("whole");
        let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        std::fs::write(&path, &data).unwrap();
        std::fs::read(&path).unwrap(); // in the page cache now
        learnt(&path);
        let got = read_file(&path);
        std::fs::remove_file(&path).unwrap();
        match got {
            Ok(Ok(bytes)) => assert_eq!(bytes, data),
            Ok(Err(e)) => panic!("{e}"),
            Err(rest) => assert!(!expected(), "a cached file went to the pool: {rest:?}"),
        }
    }

    #[test]
    fn a_mount_not_learnt_yet_goes_to_the_pool_which_learns_it() {
        let path = scratch("learn");
        std::fs::write(&path, b"learn me").unwrap();
        let mount = mount_of(&File::open(&path).unwrap()).unwrap();
        let first = read_file(&path);
        // Still unknown afterwards (other tests may learn it meanwhile, never
        // unlearn it): it was unknown to `read_file` too.
        if allowed(mount).is_none() && cached_opens() {
            assert!(matches!(first, Err(Rest::Learn)), "{first:?}");
        }
        assert_eq!(read_and_learn(&path).unwrap(), b"learn me");
        assert_eq!(allowed(mount), Some(local_disk(&path)));
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_missing_file_fails_as_open_fails() {
        let path = scratch("missing");
        learnt(&std::env::temp_dir());
        // A lookup that failed before may be cached (a negative entry;
        // tmpfs keeps none); one that is not goes to the pool.
        assert!(std::fs::metadata(&path).is_err());
        match read_file(&path) {
            Ok(result) => assert_eq!(result.unwrap_err().kind(), io::ErrorKind::NotFound),
            Err(rest) => assert!(matches!(rest, Rest::Path), "{rest:?}"),
        }
    }

    #[test]
    fn a_fifo_is_left_to_the_pool() {
        let path = scratch("fifo");
        rustix::fs::mknodat(
            CWD,
            &path,
            rustix::fs::FileType::Fifo,
            Mode::RUSR | Mode::WUSR,
            0,
        )
        .unwrap();
        learnt(&std::env::temp_dir());
        let got = read_file(&path);
        std::fs::remove_file(&path).unwrap();
        // `Learn` where the FIFO's mount differs from the directory's (an
        // overlay's upper layer).
        assert!(matches!(got, Err(Rest::Path | Rest::Learn)), "{got:?}");
    }

    #[test]
    fn a_read_moves_the_offset_and_sees_the_end() {
        let path = scratch("offset");
        std::fs::write(&path, b"0123456789").unwrap();
        std::fs::read(&path).unwrap();
        let file = File::open(&path).unwrap();
        let mut buf = [0u8; 4];
        let mut seen = Vec::new();
        let mut at_once = 0;
        loop {
            match read(&file, &mut buf) {
                Nowait::Done(Ok(0)) => break,
                Nowait::Done(Ok(n)) => {
                    at_once += 1;
                    seen.extend_from_slice(&buf[..n]);
                }
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
        if expected() {
            assert_eq!(at_once, 3, "every read made at once");
        }
    }

    #[test]
    fn an_o_direct_file_is_never_read_without_the_pool() {
        let path = scratch("direct");
        std::fs::write(&path, vec![3u8; 4096]).unwrap();
        let plain = File::open(&path).unwrap();
        let direct = std::os::unix::fs::OpenOptionsExt::custom_flags(
            std::fs::OpenOptions::new().read(true),
            libc::O_DIRECT,
        )
        .open(&path);
        let plain_suits = learn(&plain);
        let local = local_disk(&path);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(plain_suits, local);
        // Some file systems refuse O_DIRECT altogether (tmpfs before 6.6).
        if let Ok(direct) = direct {
            assert!(!learn(&direct) && !suits(&direct));
        }
    }
}

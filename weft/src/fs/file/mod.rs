//! `File`.
//!
//! A `File` runs each read, write and seek as a job on the blocking pool,
//! one at a time and in order: a `File` never uses more than one pool thread
//! at once. A read first takes what the page cache holds straight into the
//! caller's buffer on the calling thread (`../nowait.rs`), and only a read
//! that would wait for the disk becomes a job. Reads fill a buffer of up to `max_buf_size` bytes (`MAX_BUF`
//! unless set) that later reads
//! take from; writes copy into a buffer and return at once (write-behind),
//! the job writing it in the background. The next operation waits for that
//! job, and reports its error if it failed. The buffer is `buf.rs`; the
//! options `File`s open with are `OpenOptions` (`../open_options.rs`).

mod buf;

use std::fmt;
use std::fs::{Metadata, Permissions};
use std::future::Future;
use std::io::{self, Seek, SeekFrom};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use buf::Buf;

use super::nowait::Nowait;
use super::OpenOptions;
use crate::sys::lock::{get_mut, lock};
use crate::task::JoinHandle;

/// Largest buffer one job reads or writes, unless
/// [`File::set_max_buf_size`] says otherwise (tokio's default too).
const MAX_BUF: usize = 2 * 1024 * 1024;

/// An open file, read and written through the `futures-io` traits
/// ([`AsyncRead`](futures_io::AsyncRead), [`AsyncWrite`](futures_io::AsyncWrite),
/// [`AsyncSeek`](futures_io::AsyncSeek); use the extension traits in
/// [`weft::io`](crate::io)).
///
/// **What `flush` and drop guarantee.** A write returns as soon as its bytes
/// are copied into the `File`'s buffer; a job on the blocking pool then
/// writes them. `flush` (and `close`) wait for that job and return its
/// error, if any: after `flush` the bytes are in the kernel (use
/// [`sync_all`](Self::sync_all) for the disk). A `File` dropped before
/// `flush` still has its accepted bytes written — the job owns them, and
/// runs even if the runtime shuts down before the pool starts it (runtime
/// shutdown waits for it) — but an error in that write is then lost. So:
/// `flush` before dropping whenever the outcome matters.
///
/// **Reads.** For a file on a local disk (ext4, XFS, Btrfs, F2FS; not
/// opened `O_DIRECT`), what the page cache holds is copied straight into
/// the caller's buffer on the calling thread (`preadv2(RWF_NOWAIT)`: no
/// trip to the blocking pool, no copy through the `File`'s buffer; at most
/// [`max_buf_size`](Self::max_buf_size) bytes per read, and a read of
/// partly cached data may return fewer bytes than are left, as any read
/// may). A read that would wait for the disk, and every read of other
/// files (network and FUSE file systems, tmpfs, a [`from_std`](Self::from_std)
/// file on a mount weft has not opened a file on yet), is a job on the
/// pool, which reads ahead into the `File`'s buffer as tokio's `File` does.
///
/// ```
/// use weft::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() -> std::io::Result<()> {
///     let path = std::env::temp_dir().join(format!("weft-file-doc-{}", std::process::id()));
///     let mut file = weft::fs::OpenOptions::new()
///         .read(true)
///         .write(true)
///         .create(true)
///         .truncate(true)
///         .open(&path)
///         .await?;
///     file.write_all(b"hello, file").await?;
///     file.flush().await?;
///     file.seek(std::io::SeekFrom::Start(7)).await?;
///     let mut tail = String::new();
///     file.read_to_string(&mut tail).await?;
///     assert_eq!(tail, "file");
///     weft::fs::remove_file(&path).await?;
///     Ok(())
/// }
/// ```
pub struct File {
    std: Arc<std::fs::File>,
    path: Arc<PathBuf>,
    inner: Mutex<Inner>,
    /// Largest buffer one read or write job handles (at least 1).
    max_buf: usize,
    /// Reads first try the page cache on the calling thread
    /// (`../nowait.rs`); cleared when the file cannot answer that way.
    nowait: bool,
    /// A seek started through tokio's `AsyncSeek::start_seek`.
    #[cfg(feature = "tokio-io")]
    pub(crate) tokio_seek: Option<SeekFrom>,
}

struct Inner {
    state: State,
    /// An error from a background write, reported by the next operation.
    last_write_err: Option<io::Error>,
    /// Tasks waiting for the job in flight. The job's `JoinHandle` keeps
    /// one waker, so it is polled with `fan_waker`, which wakes them all:
    /// two tasks sharing a `File` through `&self` methods both get woken,
    /// even if the last one to poll has gone.
    fan: Arc<FanOut>,
    fan_waker: std::task::Waker,
}

/// A waker that wakes every task registered with it.
#[derive(Default)]
struct FanOut(Mutex<Vec<std::task::Waker>>);

impl std::task::Wake for FanOut {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let waiters = std::mem::take(&mut *lock(&self.0));
        waiters.into_iter().for_each(std::task::Waker::wake);
    }
}

enum State {
    Idle(Option<Buf>),
    Busy(JoinHandle<(Operation, Buf)>),
}

enum Operation {
    Read(io::Result<usize>),
    Write(io::Result<()>),
    /// A seek: asked for by `poll_seek` (with the position asked for), or
    /// giving the read-ahead back (`None`).
    Seek(io::Result<u64>, Option<SeekFrom>),
    /// A job of a `&self` method (`sync_all`, `metadata`, ...), whose
    /// result went to its caller.
    Other,
}

impl File {
    /// Opens `path` for reading.
    ///
    /// # Errors
    ///
    /// As [`std::fs::File::open`], naming the path.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Opens `path` for writing, creating it or truncating it.
    ///
    /// # Errors
    ///
    /// As [`std::fs::File::create`], naming the path.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Options to open a file with, as [`std::fs::OpenOptions`].
    #[must_use]
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// A `File` on `std`, opened at `path` (named in errors); `nowait`:
    /// reads may try the page cache first (`../nowait.rs`).
    pub(super) fn new(std: std::fs::File, path: PathBuf, nowait: bool) -> File {
        File {
            std: Arc::new(std),
            path: Arc::new(path),
            inner: Mutex::new({
                let fan = Arc::new(FanOut::default());
                Inner {
                    state: State::Idle(Some(Buf::default())),
                    last_write_err: None,
                    fan_waker: std::task::Waker::from(Arc::clone(&fan)),
                    fan,
                }
            }),
            max_buf: MAX_BUF,
            nowait,
            #[cfg(feature = "tokio-io")]
            tokio_seek: None,
        }
    }

    /// Wraps a `std` file (its path unknown: errors say `<file>`).
    pub fn from_std(std: std::fs::File) -> File {
        let nowait = super::nowait::suits(&std);
        File::new(std, PathBuf::from("<file>"), nowait)
    }

    /// Opens `path` for reading and writing, creating it; fails if it
    /// exists (`O_CREAT | O_EXCL`: no race with another creator).
    ///
    /// # Errors
    ///
    /// As [`std::fs::File::create_new`] (`AlreadyExists` if the path
    /// exists), naming the path.
    pub async fn create_new(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .await
    }

    /// Sets the largest buffer one read or write job handles: a read
    /// fetches at most this many bytes ahead, a write accepts at most this
    /// many at once (2 MiB by default, as tokio). `0` is taken as `1`: a
    /// 0-byte buffer would make every read look like the end of the file.
    ///
    /// ```
    /// use weft::io::AsyncWriteExt;
    ///
    /// #[weft::main(flavor = "current_thread")]
    /// async fn main() -> std::io::Result<()> {
    ///     let path = std::env::temp_dir().join(format!("weft-maxbuf-doc-{}", std::process::id()));
    ///     let mut file = weft::fs::File::create(&path).await?;
    ///     file.set_max_buf_size(1);
    ///     assert_eq!(file.max_buf_size(), 1);
    ///     assert_eq!(file.write(b"hello").await?, 1);
    ///     file.flush().await?;
    ///     weft::fs::remove_file(&path).await
    /// }
    /// ```
    pub fn set_max_buf_size(&mut self, max_buf_size: usize) {
        self.max_buf = max_buf_size.max(1);
    }

    /// Makes every read a job on the blocking pool, as when the page cache
    /// never has the data at once: for weft's own tests of that path (its
    /// read-ahead, its ordering behind other jobs), with the `test-util`
    /// feature.
    #[cfg(feature = "test-util")]
    #[doc(hidden)]
    pub fn read_through_pool_only(&mut self) {
        self.nowait = false;
    }

    /// The largest buffer one read or write job handles (see
    /// [`set_max_buf_size`](Self::set_max_buf_size)).
    pub fn max_buf_size(&self) -> usize {
        self.max_buf
    }

    /// Waits for the operation in flight, then returns the `std` file,
    /// positioned where this `File`'s reads and writes left it (the
    /// read-ahead is given back first).
    ///
    /// As tokio's, this cannot fail: an error of that last write (or of
    /// giving the read-ahead back) is dropped. Call
    /// [`flush`](futures_util::AsyncWriteExt::flush) first when the outcome
    /// of the writes matters.
    ///
    /// ```
    /// use std::io::Write;
    /// use weft::io::AsyncWriteExt;
    ///
    /// #[weft::main(flavor = "current_thread")]
    /// async fn main() -> std::io::Result<()> {
    ///     let path = std::env::temp_dir().join(format!("weft-into-std-doc-{}", std::process::id()));
    ///     let mut file = weft::fs::File::create(&path).await?;
    ///     file.write_all(b"written behind").await?;
    ///     file.flush().await?; // reports the write's error, if any
    ///     let mut std_file = file.into_std().await;
    ///     std_file.write_all(b", then in front")?; // where the weft File left off
    ///     assert_eq!(std::fs::read_to_string(&path)?, "written behind, then in front");
    ///     weft::fs::remove_file(&path).await
    /// }
    /// ```
    pub async fn into_std(self) -> std::fs::File {
        std::future::poll_fn(|cx| loop {
            match lock(&self.inner).poll_idle(cx, &self.std, &self.path) {
                Poll::Ready(Ok(())) => return Poll::Ready(()),
                // Dropped, as tokio's `into_std` drops it; the next round
                // finds the file idle.
                Poll::Ready(Err(_)) => continue,
                Poll::Pending => return Poll::Pending,
            }
        })
        .await;
        unwrap_shared(self.std)
    }

    /// Returns the `std` file at once if nothing is pending: `Err(self)`
    /// while an operation is in flight (a write's bytes not yet written, a
    /// read, a seek), while read-ahead is buffered (the OS offset is ahead
    /// of this `File`'s), or while a failed write has not been reported.
    /// `flush().await` settles all three; [`into_std`](Self::into_std)
    /// waits instead.
    ///
    /// ```
    /// #[weft::main(flavor = "current_thread")]
    /// async fn main() -> std::io::Result<()> {
    ///     let path = std::env::temp_dir().join(format!("weft-try-std-doc-{}", std::process::id()));
    ///     let file = weft::fs::File::create(&path).await?;
    ///     let std_file = file.try_into_std().expect("nothing pending");
    ///     assert!(std_file.metadata()?.is_file());
    ///     weft::fs::remove_file(&path).await
    /// }
    /// ```
    #[allow(clippy::result_large_err)] // tokio's signature
    pub fn try_into_std(mut self) -> Result<std::fs::File, File> {
        #[cfg(feature = "tokio-io")]
        if self.tokio_seek.is_some() {
            return Err(self);
        }
        let inner = get_mut(&mut self.inner);
        let settled = match &inner.state {
            State::Idle(buf) => {
                buf.as_ref().map_or(0, Buf::remaining) == 0 && inner.last_write_err.is_none()
            }
            State::Busy(_) => false,
        };
        if !settled {
            return Err(self);
        }
        match Arc::try_unwrap(self.std) {
            Ok(std) => Ok(std),
            Err(shared) => {
                self.std = shared;
                Err(self)
            }
        }
    }

    fn error(&self, e: io::Error, op: &str) -> io::Error {
        super::with_path(e, op, &self.path)
    }

    /// Runs `f` on the file on the blocking pool as the file's one job in
    /// flight: after the operation before it, and before any started later
    /// (also if this future is dropped while the job runs).
    async fn run<T, F>(&self, op: &'static str, f: F) -> io::Result<T>
    where
        F: FnOnce(&std::fs::File) -> io::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        // The job leaves its result here: whichever task polls the file
        // next may be the one that sees the job finish.
        let slot: Arc<Mutex<Option<io::Result<T>>>> = Arc::default();
        let mut f = Some(f);
        std::future::poll_fn(|cx| {
            let mut inner = lock(&self.inner);
            ready!(inner.poll_idle(cx, &self.std, &self.path))?;
            let State::Idle(buf) = &mut inner.state else {
                unreachable!("poll_idle returned with a job in flight")
            };
            let buf = buf.take().unwrap_or_default();
            let (std, slot) = (Arc::clone(&self.std), Arc::clone(&slot));
            let f = f.take().expect("the job is started once");
            inner.state = State::Busy(super::spawn_job(move || {
                let result = f(&std);
                *lock(&slot) = Some(result);
                (Operation::Other, buf)
            }));
            Poll::Ready(Ok::<(), io::Error>(()))
        })
        .await?;
        let take = || lock(&slot).take();
        std::future::poll_fn(|cx| {
            let mut inner = lock(&self.inner);
            // Looked at under the lock: with the slot still empty, the job in
            // flight is this one (the job fills the slot before it ends, and
            // no other job can start before it ends): wait for it.
            if let Some(result) = take() {
                return Poll::Ready(result);
            }
            if let State::Busy(_) = inner.state {
                let (done, buf) = ready!(inner.poll_job(cx, &self.path))?;
                inner.state = State::Idle(Some(buf));
                if let Operation::Write(Err(e)) = done {
                    inner.last_write_err = Some(e);
                }
            }
            Poll::Ready(take().unwrap_or_else(|| {
                // Its job panicked; the task that saw it end got the error.
                Err(io::Error::other("the blocking job failed"))
            }))
        })
        .await
        .map_err(|e| self.error(e, op))
    }

    /// Flushes to the disk: data and metadata (`fsync`).
    ///
    /// # Errors
    ///
    /// A pending write's error, or `fsync`'s, naming the path.
    pub async fn sync_all(&self) -> io::Result<()> {
        self.run("syncing", |f| f.sync_all()).await
    }

    /// Flushes the data to the disk (`fdatasync`).
    ///
    /// # Errors
    ///
    /// As [`sync_all`](Self::sync_all).
    pub async fn sync_data(&self) -> io::Result<()> {
        self.run("syncing", |f| f.sync_data()).await
    }

    /// Truncates or extends the file to `size` bytes.
    ///
    /// # Errors
    ///
    /// As [`std::fs::File::set_len`], naming the path.
    pub async fn set_len(&self, size: u64) -> io::Result<()> {
        self.run("resizing", move |f| f.set_len(size)).await
    }

    /// The file's metadata, once the operation in flight (a write behind,
    /// say) is done. With none in flight, on a local disk, the `fstat` is
    /// made at once on the calling thread (it waits for nothing there).
    ///
    /// # Errors
    ///
    /// As [`std::fs::File::metadata`], naming the path.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        if self.nowait {
            crate::task::consume_budget().await;
            let inner = lock(&self.inner);
            if matches!(inner.state, State::Idle(_)) && inner.last_write_err.is_none() {
                // Under the lock: no job can start before the `fstat`.
                let meta = self.std.metadata();
                drop(inner);
                return meta.map_err(|e| self.error(e, "reading metadata of"));
            }
        }
        self.run("reading metadata of", |f| f.metadata()).await
    }

    /// Sets the file's permissions.
    ///
    /// # Errors
    ///
    /// As [`std::fs::File::set_permissions`], naming the path.
    pub async fn set_permissions(&self, permissions: Permissions) -> io::Result<()> {
        self.run("setting permissions of", move |f| {
            f.set_permissions(permissions)
        })
        .await
    }

    /// A second `File` on the same open file (shared offset).
    ///
    /// # Errors
    ///
    /// As [`std::fs::File::try_clone`], naming the path.
    pub async fn try_clone(&self) -> io::Result<File> {
        let std = self.run("duplicating", |f| f.try_clone()).await?;
        let mut file = File::new(std, PathBuf::clone(&self.path), self.nowait);
        file.max_buf = self.max_buf;
        Ok(file)
    }
}

impl Inner {
    /// Polls the job in flight (the state must be `Busy`). On completion
    /// the state is left for the caller to set, and every waiting task is
    /// woken; a failed job leaves the file idle with an empty buffer.
    fn poll_job(
        &mut self,
        cx: &mut Context<'_>,
        path: &Path,
    ) -> Poll<io::Result<(Operation, Buf)>> {
        let State::Busy(job) = &mut self.state else {
            unreachable!("poll_job on an idle file")
        };
        {
            let mut waiters = lock(&self.fan.0);
            if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
                waiters.push(cx.waker().clone());
            }
        }
        let done = match Pin::new(job).poll(&mut Context::from_waker(&self.fan_waker)) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(done) => done,
        };
        // Others waiting on this job can go on now.
        std::task::Wake::wake_by_ref(&self.fan);
        match done {
            Ok(done) => Poll::Ready(Ok(done)),
            Err(e) => {
                self.state = State::Idle(Some(Buf::default()));
                Poll::Ready(Err(join_error(e, path)))
            }
        }
    }

    /// Ready once nothing is in flight and the OS offset matches the
    /// logical one; reports (and clears) a failed background write or a
    /// failed give-back of the read-ahead.
    fn poll_idle(
        &mut self,
        cx: &mut Context<'_>,
        std: &Arc<std::fs::File>,
        path: &Path,
    ) -> Poll<io::Result<()>> {
        loop {
            match &mut self.state {
                State::Busy(_) => {
                    let (op, buf) = ready!(self.poll_job(cx, path))?;
                    self.state = State::Idle(Some(buf));
                    match op {
                        Operation::Write(Err(e)) => self.last_write_err = Some(e),
                        Operation::Seek(Err(e), _) => {
                            return Poll::Ready(Err(super::with_path(e, "seeking in", path)))
                        }
                        _ => {}
                    }
                }
                State::Idle(buf) => {
                    let unread = buf.as_ref().map_or(0, Buf::remaining);
                    if unread > 0 {
                        // Give back the read-ahead: move the OS offset to
                        // where the reader is.
                        let mut buf = buf.take().unwrap_or_default();
                        buf.clear();
                        let std = Arc::clone(std);
                        self.state = State::Busy(super::spawn_job(move || {
                            let result = (&*std).seek(SeekFrom::Current(-(unread as i64)));
                            (Operation::Seek(result, None), buf)
                        }));
                        continue;
                    }
                    if let Some(e) = self.last_write_err.take() {
                        return Poll::Ready(Err(super::with_path(e, "writing", path)));
                    }
                    return Poll::Ready(Ok(()));
                }
            }
        }
    }
}

/// The `std` file out of a `File` with no job in flight. A job drops its
/// clone of the `Arc` before its result is handed back, so once the file is
/// idle this one is the only one; if that ever failed to hold, the file is
/// duplicated (same open file, same offset) rather than lost.
fn unwrap_shared(std: Arc<std::fs::File>) -> std::fs::File {
    Arc::try_unwrap(std).unwrap_or_else(|shared| {
        shared
            .try_clone()
            .unwrap_or_else(|e| panic!("weft: duplicating a shared file descriptor failed: {e}"))
    })
}

fn join_error(e: crate::task::JoinError, path: &Path) -> io::Error {
    io::Error::other(format!(
        "the blocking job for {} failed: {e}",
        path.display()
    ))
}

impl futures_io::AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let path = Arc::clone(&this.path);
        let inner = get_mut(&mut this.inner);
        loop {
            match &mut inner.state {
                State::Idle(buf) => {
                    let mut buf = buf.take().unwrap_or_default();
                    if buf.remaining() > 0 || dst.is_empty() {
                        let n = buf.copy_to(dst);
                        inner.state = State::Idle(Some(buf));
                        return Poll::Ready(Ok(n));
                    }
                    let len = dst.len().min(this.max_buf);
                    if this.nowait {
                        // The OS offset is the reader's (nothing read
                        // ahead): what the page cache holds goes straight
                        // into `dst`.
                        let Poll::Ready(coop) = crate::task::coop::proceed(cx) else {
                            inner.state = State::Idle(Some(buf));
                            return Poll::Pending;
                        };
                        match super::nowait::read(&this.std, &mut dst[..len]) {
                            Nowait::Done(result) => {
                                inner.state = State::Idle(Some(buf));
                                coop.made_progress();
                                return Poll::Ready(
                                    result.map_err(|e| super::with_path(e, "reading", &path)),
                                );
                            }
                            Nowait::WouldBlock => {}
                            Nowait::Unsupported => this.nowait = false,
                        }
                    }
                    let std = Arc::clone(&this.std);
                    inner.state = State::Busy(super::spawn_job(move || {
                        let result = buf.read_from(&std, len);
                        (Operation::Read(result), buf)
                    }));
                }
                State::Busy(_) => {
                    let (op, mut buf) = ready!(inner.poll_job(cx, &path))?;
                    match op {
                        Operation::Read(Ok(_)) => {
                            let n = buf.copy_to(dst);
                            inner.state = State::Idle(Some(buf));
                            return Poll::Ready(Ok(n));
                        }
                        Operation::Read(Err(e)) => {
                            buf.clear();
                            inner.state = State::Idle(Some(buf));
                            return Poll::Ready(Err(super::with_path(e, "reading", &path)));
                        }
                        Operation::Write(result) => {
                            inner.state = State::Idle(Some(buf));
                            if let Err(e) = result {
                                inner.last_write_err = Some(e);
                            }
                        }
                        Operation::Seek(result, _) => {
                            inner.state = State::Idle(Some(buf));
                            if let Err(e) = result {
                                return Poll::Ready(Err(super::with_path(e, "seeking in", &path)));
                            }
                        }
                        Operation::Other => inner.state = State::Idle(Some(buf)),
                    }
                }
            }
        }
    }
}

impl futures_io::AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[io::IoSlice::new(src)])
    }

    /// Takes every slice (up to the buffer's size) in one write-behind job,
    /// as tokio's `File` does: a vectored write is not cut to its first
    /// slice.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        srcs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let path = Arc::clone(&this.path);
        let inner = get_mut(&mut this.inner);
        loop {
            if let Some(e) = inner.last_write_err.take() {
                return Poll::Ready(Err(super::with_path(e, "writing", &path)));
            }
            match &mut inner.state {
                State::Idle(buf) => {
                    let mut buf = buf.take().unwrap_or_default();
                    // Read-ahead is given back before writing at the
                    // reader's position.
                    let rewind = buf.remaining() as i64;
                    buf.clear();
                    let n = buf.copy_from(srcs, this.max_buf);
                    let std = Arc::clone(&this.std);
                    // Outside a runtime `File` cannot be polled at all (its
                    // jobs need a pool): the same panic as `spawn_blocking`.
                    let handle = crate::runtime::Handle::current();
                    // Must run: the caller is told the bytes are written.
                    let job = handle.spawn_blocking_must_run(move || {
                        let result = (|| {
                            if rewind > 0 {
                                (&*std).seek(SeekFrom::Current(-rewind))?;
                            }
                            buf.write_to(&std)
                        })();
                        (Operation::Write(result), buf)
                    });
                    // (No spin window: nobody waits for a write behind
                    // until a flush or the next operation.)
                    let Some(job) = job else {
                        // The runtime has shut down: nothing would write
                        // these bytes, so they are not accepted.
                        inner.state = State::Idle(Some(Buf::default()));
                        return Poll::Ready(Err(io::Error::other(format!(
                            "writing {}: the runtime is shut down",
                            path.display()
                        ))));
                    };
                    inner.state = State::Busy(job);
                    return Poll::Ready(Ok(n));
                }
                State::Busy(_) => {
                    let (op, buf) = ready!(inner.poll_job(cx, &path))?;
                    inner.state = State::Idle(Some(buf));
                    match op {
                        Operation::Write(Err(e)) => {
                            return Poll::Ready(Err(super::with_path(e, "writing", &path)))
                        }
                        Operation::Seek(Err(e), _) => {
                            return Poll::Ready(Err(super::with_path(e, "seeking in", &path)))
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let (std, path) = (Arc::clone(&this.std), Arc::clone(&this.path));
        get_mut(&mut this.inner).poll_idle(cx, &std, &path)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl futures_io::AsyncSeek for File {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        let path = Arc::clone(&this.path);
        let inner = get_mut(&mut this.inner);
        loop {
            match &mut inner.state {
                State::Idle(buf) => {
                    let mut buf = buf.take().unwrap_or_default();
                    // The OS offset is ahead of the reader by the read-ahead.
                    let os_pos = match pos {
                        SeekFrom::Current(offset) => {
                            SeekFrom::Current(offset - buf.remaining() as i64)
                        }
                        other => other,
                    };
                    buf.clear();
                    let std = Arc::clone(&this.std);
                    inner.state = State::Busy(super::spawn_job(move || {
                        (Operation::Seek((&*std).seek(os_pos), Some(pos)), buf)
                    }));
                }
                State::Busy(_) => {
                    let (op, buf) = ready!(inner.poll_job(cx, &path))?;
                    inner.state = State::Idle(Some(buf));
                    match op {
                        // The seek this call started (or an identical one
                        // whose future was dropped: the same target).
                        Operation::Seek(result, Some(asked)) if asked == pos => {
                            return Poll::Ready(
                                result.map_err(|e| super::with_path(e, "seeking in", &path)),
                            );
                        }
                        Operation::Seek(Err(e), None) => {
                            return Poll::Ready(Err(super::with_path(e, "seeking in", &path)))
                        }
                        Operation::Write(Err(e)) => inner.last_write_err = Some(e),
                        // Another operation finished: now start this seek.
                        _ => {}
                    }
                }
            }
        }
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("path", &self.path)
            .field("std", &self.std)
            .finish()
    }
}

impl From<std::fs::File> for File {
    /// As [`File::from_std`].
    fn from(std: std::fs::File) -> File {
        File::from_std(std)
    }
}

impl From<OwnedFd> for File {
    /// Takes ownership of an open file descriptor (errors say `<file>`).
    fn from(fd: OwnedFd) -> File {
        File::from_std(std::fs::File::from(fd))
    }
}

impl AsRawFd for File {
    /// The file's descriptor; see [`as_fd`](File::as_fd) for what a job in
    /// flight means for using it.
    fn as_raw_fd(&self) -> RawFd {
        self.std.as_raw_fd()
    }
}

impl AsFd for File {
    /// Borrows the file's descriptor, which stays open as long as the
    /// `File` (also while a job is in flight: the job shares it, it never
    /// closes it).
    ///
    /// It may be borrowed at any time, but while a job is in flight (a
    /// write's bytes not yet written, a read, a seek) that job may be using
    /// it: calls that use or move the file offset (`read`, `write`, `lseek`)
    /// race with the job, and after reads the OS offset is ahead of this
    /// `File`'s by the read-ahead. Calls that do not use the offset
    /// (`fstat`, `pread`, `flock`, `fsync`) are unaffected. `flush().await`
    /// first settles both: it waits for the job and gives the read-ahead
    /// back. (tokio's `as_fd` behaves the same way.)
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.std.as_fd()
    }
}

impl FromRawFd for File {
    /// Wraps a raw descriptor (errors say `<file>`).
    ///
    /// # Safety
    ///
    /// As [`std::fs::File::from_raw_fd`]: `fd` must be an open file
    /// descriptor that the caller owns, and ownership moves into the
    /// `File`: nothing else may close it or use it as its own afterwards,
    /// and the `File` closes it when dropped.
    unsafe fn from_raw_fd(fd: RawFd) -> File {
        // SAFETY: this function's caller guarantees that `fd` is open and
        // owned by them, and hands that ownership over: exactly
        // `std::fs::File::from_raw_fd`'s contract.
        File::from_std(unsafe { std::fs::File::from_raw_fd(fd) })
    }
}

impl IntoRawFd for File {
    /// Gives up the descriptor without waiting (tokio's `File` has no
    /// `IntoRawFd`; prefer [`into_std`](File::into_std)`.await`, which
    /// waits for the job in flight).
    ///
    /// Read-ahead is given back at once with a non-blocking `lseek`, and
    /// a pending write error is dropped, as in `into_std`. If a job is in
    /// flight, the descriptor returned is a duplicate (same open file, same
    /// offset; the job closes the original when it ends): bytes a write
    /// accepted are still written, possibly after this returns; a read or
    /// seek job in flight still moves the shared offset after this returns,
    /// and what a read job fetches ahead is lost; and record
    /// locks (`fcntl(F_SETLK)`) the process holds on the file are released
    /// when the job's descriptor closes, as POSIX does for any close.
    ///
    /// # Panics
    ///
    /// If a job is in flight and the descriptor cannot be duplicated (the
    /// process is out of descriptors): the trait has no way to report it.
    fn into_raw_fd(mut self) -> RawFd {
        let inner = get_mut(&mut self.inner);
        if let State::Idle(Some(buf)) = &mut inner.state {
            let unread = buf.remaining();
            if unread > 0 {
                buf.clear();
                // `lseek` does no I/O; it fails only on unseekable files,
                // whose read-ahead cannot be given back anyway.
                let _ = (&*self.std).seek(SeekFrom::Current(-(unread as i64)));
            }
        }
        match Arc::try_unwrap(self.std) {
            Ok(std) => std.into_raw_fd(),
            Err(shared) => match shared.try_clone() {
                Ok(dup) => dup.into_raw_fd(),
                Err(e) => panic!(
                    "weft: into_raw_fd of {} with a job in flight needs a duplicate \
                     descriptor: {e}; use into_std().await",
                    self.path.display()
                ),
            },
        }
    }
}

//! `read_dir`, `ReadDir`, `DirEntry`.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::fs::{FileType, Metadata};
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use crate::task::JoinHandle;

/// Entries fetched per trip to the blocking pool.
const BATCH: usize = 32;

/// Lists the directory at `path`.
///
/// # Errors
///
/// As [`std::fs::read_dir`] (`NotFound`, `NotADirectory`, ...), naming the
/// path.
///
/// ```
/// #[weft::main(flavor = "current_thread")]
/// async fn main() -> std::io::Result<()> {
///     let mut entries = weft::fs::read_dir(".").await?;
///     while let Some(entry) = entries.next_entry().await? {
///         let _name = entry.file_name();
///     }
///     Ok(())
/// }
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = path.as_ref().to_path_buf();
    let listing = super::on_path("reading directory", &path, |p| std::fs::read_dir(p)).await?;
    Ok(ReadDir {
        path: Arc::new(path),
        state: State::Idle(Some(Batch {
            listing,
            entries: VecDeque::new(),
            done: false,
        })),
    })
}

/// The entries of a directory, fetched from the blocking pool in batches.
/// Use [`next_entry`](Self::next_entry), or it as a
/// [`futures_core::Stream`].
pub struct ReadDir {
    path: Arc<PathBuf>,
    state: State,
}

enum State {
    Idle(Option<Batch>),
    Pending(JoinHandle<Batch>),
    /// The listing's job failed (its error was returned): the end.
    Failed,
}

struct Batch {
    listing: std::fs::ReadDir,
    entries: VecDeque<io::Result<DirEntry>>,
    done: bool,
}

impl ReadDir {
    /// The next entry, or `None` at the end.
    ///
    /// # Errors
    ///
    /// An error reading the directory, naming it.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        std::future::poll_fn(|cx| self.poll_next_entry(cx)).await
    }

    /// Polls for [`next_entry`](Self::next_entry).
    pub fn poll_next_entry(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<DirEntry>>> {
        loop {
            match &mut self.state {
                State::Idle(batch) => {
                    let mut batch = batch.take().expect("a batch when idle");
                    if let Some(entry) = batch.entries.pop_front() {
                        self.state = State::Idle(Some(batch));
                        return Poll::Ready(entry.map(Some));
                    }
                    if batch.done {
                        self.state = State::Idle(Some(batch));
                        return Poll::Ready(Ok(None));
                    }
                    let path = Arc::clone(&self.path);
                    self.state = State::Pending(super::spawn_job(move || {
                        for _ in 0..BATCH {
                            match batch.listing.next() {
                                Some(entry) => batch.entries.push_back(
                                    entry.map(|inner| DirEntry { inner }).map_err(|e| {
                                        super::with_path(e, "reading directory", &path)
                                    }),
                                ),
                                None => {
                                    batch.done = true;
                                    break;
                                }
                            }
                        }
                        batch
                    }));
                }
                State::Pending(job) => match ready!(Pin::new(job).poll(cx)) {
                    Ok(batch) => self.state = State::Idle(Some(batch)),
                    Err(e) => {
                        self.state = State::Failed;
                        return Poll::Ready(Err(io::Error::other(format!(
                            "reading directory {}: the blocking job failed: {e}",
                            self.path.display()
                        ))));
                    }
                },
                State::Failed => return Poll::Ready(Ok(None)),
            }
        }
    }
}

impl futures_core::Stream for ReadDir {
    type Item = io::Result<DirEntry>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_next_entry(cx).map(Result::transpose)
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir").field("path", &self.path).finish()
    }
}

/// One entry of a directory.
#[derive(Debug)]
pub struct DirEntry {
    inner: std::fs::DirEntry,
}

impl DirEntry {
    /// The entry's full path (the directory's path joined with its name).
    pub fn path(&self) -> PathBuf {
        self.inner.path()
    }

    /// The entry's name.
    pub fn file_name(&self) -> OsString {
        self.inner.file_name()
    }

    /// The entry's inode number.
    pub fn ino(&self) -> u64 {
        std::os::unix::fs::DirEntryExt::ino(&self.inner)
    }

    /// The entry's metadata (not following a symbolic link).
    ///
    /// # Errors
    ///
    /// As [`std::fs::DirEntry::metadata`], naming the path.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        super::symlink_metadata(self.path()).await
    }

    /// The entry's file type (usually known without a system call).
    ///
    /// # Errors
    ///
    /// As [`std::fs::DirEntry::file_type`], naming the path.
    pub async fn file_type(&self) -> io::Result<FileType> {
        match self.inner.file_type() {
            Ok(kind) => Ok(kind),
            Err(_) => self.metadata().await.map(|m| m.file_type()),
        }
    }
}

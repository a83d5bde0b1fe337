//! Files and directories, without blocking the loop: every call runs on the
//! blocking pool (libuv's rule: file system calls are made asynchronous by a
//! thread pool), except what the kernel answers at once from its caches on
//! a local disk, which is made on the calling thread (`nowait.rs`): reads
//! of cached data (`File` reads, [`read`], [`read_to_string`]), opens that
//! create and truncate nothing, and metadata ([`metadata`],
//! [`symlink_metadata`], [`try_exists`], [`File::metadata`]). Every error
//! names the path it is about.
//!
//! ```
//! #[weft::main(flavor = "current_thread")]
//! async fn main() -> std::io::Result<()> {
//!     let dir = std::env::temp_dir().join(format!("weft-fs-doc-{}", std::process::id()));
//!     weft::fs::create_dir_all(&dir).await?;
//!     let file = dir.join("hello.txt");
//!     weft::fs::write(&file, "hello").await?;
//!     assert_eq!(weft::fs::read_to_string(&file).await?, "hello");
//!     let err = weft::fs::read(dir.join("missing")).await.unwrap_err();
//!     assert!(err.to_string().contains("missing"));
//!     weft::fs::remove_dir_all(&dir).await?;
//!     Ok(())
//! }
//! ```

mod dir_builder;
mod file;
mod nowait;
mod open_options;
mod read_dir;

use std::fs::{Metadata, Permissions};
use std::io;
use std::path::{Path, PathBuf};

pub use dir_builder::DirBuilder;
pub use file::File;
pub use open_options::OpenOptions;
pub use read_dir::{read_dir, DirEntry, ReadDir};

/// Adds what was being done, and to which path, to an error.
pub(crate) fn with_path(e: io::Error, op: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{op} {}: {e}", path.display()))
}

fn with_paths(e: io::Error, op: &str, from: &Path, to: &Path) -> io::Error {
    io::Error::new(
        e.kind(),
        format!("{op} {} to {}: {e}", from.display(), to.display()),
    )
}

/// Hands `f` to the blocking pool as a file call's job: the loop on this
/// thread may spin for it for a moment rather than sleep (see
/// `blocking::expect_soon`).
fn spawn_job<T, F>(f: F) -> crate::task::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let job = crate::task::spawn_blocking(f);
    crate::blocking::expect_soon();
    job
}

/// Runs `f` on the blocking pool; a job that fails (panics, or is dropped
/// at runtime shutdown) becomes an `io::Error` starting with `what()`.
async fn blocking<T, F>(what: impl FnOnce() -> String, f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    match spawn_job(f).await {
        Ok(result) => result,
        Err(e) => Err(io::Error::other(format!(
            "{}: the blocking job failed: {e}",
            what()
        ))),
    }
}

/// `f(path)` on the blocking pool, its error naming `op` and the path.
async fn on_path<T, F>(op: &'static str, path: &Path, f: F) -> io::Result<T>
where
    F: FnOnce(&Path) -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let owned = path.to_path_buf();
    blocking(
        || format!("{op} {}", path.display()),
        move || f(&owned).map_err(|e| with_path(e, op, &owned)),
    )
    .await
}

/// `f(from, to)` on the blocking pool, its error naming both paths.
async fn on_paths<T, F>(op: &'static str, from: &Path, to: &Path, f: F) -> io::Result<T>
where
    F: FnOnce(&Path, &Path) -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let owned = (from.to_path_buf(), to.to_path_buf());
    blocking(
        || format!("{op} {} to {}", from.display(), to.display()),
        move || f(&owned.0, &owned.1).map_err(|e| with_paths(e, op, &owned.0, &owned.1)),
    )
    .await
}

/// Reads the whole file.
///
/// # Errors
///
/// As [`std::fs::read`], naming the path.
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    read_whole(path.as_ref()).await
}

/// [`read`]: at once if the page cache holds the file (`nowait.rs`), else
/// on the blocking pool, going on from what was read at once.
async fn read_whole(path: &Path) -> io::Result<Vec<u8>> {
    // An answer at once is still a step: a loop of cached reads yields.
    crate::task::consume_budget().await;
    match nowait::read_file(path) {
        Ok(done) => done.map_err(|e| with_path(e, "reading", path)),
        Err(nowait::Rest::Path) => on_path("reading", path, |p| std::fs::read(p)).await,
        Err(nowait::Rest::Learn) => on_path("reading", path, nowait::read_and_learn).await,
        Err(nowait::Rest::Replaced(file)) => {
            on_path("reading", path, move |p| {
                drop(file);
                std::fs::read(p)
            })
            .await
        }
        Err(nowait::Rest::Open(file, bytes)) => {
            on_path("reading", path, move |_| nowait::blocking(file, bytes)).await
        }
    }
}

/// Reads the whole file as UTF-8.
///
/// # Errors
///
/// As [`std::fs::read_to_string`] (`InvalidData` for bytes that are not
/// UTF-8), naming the path.
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let path = path.as_ref();
    String::from_utf8(read_whole(path).await?).map_err(|_| {
        with_path(
            io::Error::new(
                io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            ),
            "reading",
            path,
        )
    })
}

/// Writes `contents` as the whole file, creating or truncating it.
///
/// # Errors
///
/// As [`std::fs::write`], naming the path.
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let contents = contents.as_ref().to_vec();
    on_path("writing", path.as_ref(), move |p| {
        std::fs::write(p, contents)
    })
    .await
}

/// Copies the contents and permissions of `from` to `to`; returns the bytes
/// copied.
///
/// # Errors
///
/// As [`std::fs::copy`], naming both paths.
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    on_paths("copying", from.as_ref(), to.as_ref(), |f, t| {
        std::fs::copy(f, t)
    })
    .await
}

/// Renames `from` to `to`, replacing `to` if it is a file.
///
/// # Errors
///
/// As [`std::fs::rename`], naming both paths.
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    on_paths("renaming", from.as_ref(), to.as_ref(), |f, t| {
        std::fs::rename(f, t)
    })
    .await
}

/// Removes a file.
///
/// # Errors
///
/// As [`std::fs::remove_file`], naming the path.
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("removing", path.as_ref(), |p| std::fs::remove_file(p)).await
}

/// Removes an empty directory.
///
/// # Errors
///
/// As [`std::fs::remove_dir`], naming the path.
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("removing directory", path.as_ref(), |p| {
        std::fs::remove_dir(p)
    })
    .await
}

/// Removes a directory and everything in it.
///
/// # Errors
///
/// As [`std::fs::remove_dir_all`], naming the path.
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("removing directory", path.as_ref(), |p| {
        std::fs::remove_dir_all(p)
    })
    .await
}

/// Creates a directory (its parent must exist).
///
/// # Errors
///
/// As [`std::fs::create_dir`], naming the path.
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("creating directory", path.as_ref(), |p| {
        std::fs::create_dir(p)
    })
    .await
}

/// Creates a directory and any missing parents.
///
/// # Errors
///
/// As [`std::fs::create_dir_all`], naming the path.
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("creating directory", path.as_ref(), |p| {
        std::fs::create_dir_all(p)
    })
    .await
}

/// Metadata of `path`, following symbolic links.
///
/// # Errors
///
/// As [`std::fs::metadata`], naming the path.
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    stat(path.as_ref(), false).await
}

/// [`metadata`] (`nofollow`: [`symlink_metadata`]): at once where the
/// kernel can answer without waiting (`nowait.rs`), else on the pool.
async fn stat(path: &Path, nofollow: bool) -> io::Result<Metadata> {
    const OP: &str = "reading metadata of";
    crate::task::consume_budget().await;
    let on_pool = move |p: &Path| {
        if nofollow {
            std::fs::symlink_metadata(p)
        } else {
            std::fs::metadata(p)
        }
    };
    match nowait::metadata(path, nofollow) {
        Ok(done) => done.map_err(|e| with_path(e, OP, path)),
        Err(nowait::Rest::Learn) => {
            on_path(OP, path, move |p| {
                nowait::learn_path(p, nofollow);
                on_pool(p)
            })
            .await
        }
        Err(_) => on_path(OP, path, on_pool).await,
    }
}

/// Metadata of `path` itself, not following a symbolic link.
///
/// # Errors
///
/// As [`std::fs::symlink_metadata`], naming the path.
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    stat(path.as_ref(), true).await
}

/// The absolute path with every symbolic link resolved.
///
/// # Errors
///
/// As [`std::fs::canonicalize`], naming the path.
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    on_path("canonicalizing", path.as_ref(), |p| {
        std::fs::canonicalize(p)
    })
    .await
}

/// Makes `link` a new name for the file `original`.
///
/// # Errors
///
/// As [`std::fs::hard_link`], naming both paths.
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    on_paths("linking", original.as_ref(), link.as_ref(), |o, l| {
        std::fs::hard_link(o, l)
    })
    .await
}

/// Makes `link` a symbolic link to `original`.
///
/// # Errors
///
/// As [`std::os::unix::fs::symlink`], naming both paths.
pub async fn symlink(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    on_paths("symlinking", original.as_ref(), link.as_ref(), |o, l| {
        std::os::unix::fs::symlink(o, l)
    })
    .await
}

/// What the symbolic link at `path` points to.
///
/// # Errors
///
/// As [`std::fs::read_link`] (`InvalidInput` if it is not a link), naming
/// the path.
pub async fn read_link(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    on_path("reading link", path.as_ref(), |p| std::fs::read_link(p)).await
}

/// Sets the permissions of `path`.
///
/// # Errors
///
/// As [`std::fs::set_permissions`], naming the path.
pub async fn set_permissions(path: impl AsRef<Path>, permissions: Permissions) -> io::Result<()> {
    on_path("setting permissions of", path.as_ref(), move |p| {
        std::fs::set_permissions(p, permissions)
    })
    .await
}

/// Whether `path` exists: `Ok(false)` if it does not, an error if that
/// cannot be told (a permission problem on the way).
///
/// # Errors
///
/// As [`std::fs::exists`], naming the path.
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    let path = path.as_ref();
    crate::task::consume_budget().await;
    // As `std::fs::exists`: metadata found, or not found, or an error.
    match nowait::metadata(path, false) {
        Ok(Ok(_)) => Ok(true),
        Ok(Err(e)) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Ok(Err(e)) => Err(with_path(e, "checking", path)),
        Err(nowait::Rest::Learn) => {
            on_path("checking", path, |p| {
                nowait::learn_path(p, false);
                std::fs::exists(p)
            })
            .await
        }
        Err(_) => on_path("checking", path, |p| std::fs::exists(p)).await,
    }
}

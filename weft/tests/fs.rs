//! Files and directories on the blocking pool.

mod common;

use std::io::{ErrorKind, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use common::within;
use weft::fs::{self, File, OpenOptions};
use weft::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// A fresh directory for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("weft-fs-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A current-thread runtime whose blocking pool has one thread.
fn one_pool_thread() -> weft::runtime::Runtime {
    weft::runtime::Builder::new_current_thread()
        .max_blocking_threads(1)
        .build()
        .unwrap()
}

/// Occupies the pool's one thread with a job that waits for the returned
/// sender (or for it to be dropped); returns once that job is running, so
/// every job after it waits in the queue.
async fn hold_the_only_pool_thread() -> std::sync::mpsc::Sender<()> {
    let metrics = weft::runtime::Handle::current().metrics();
    let (release, released) = std::sync::mpsc::channel::<()>();
    drop(weft::task::spawn_blocking(move || released.recv()));
    while metrics.num_blocking_threads() == 0 || metrics.blocking_queue_depth() > 0 {
        weft::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    release
}

fn names_path(err: &std::io::Error, path: &std::path::Path) {
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
}

#[test]
fn every_function_works_and_errors_name_the_path() {
    within(60, || {
        common::rt().block_on(async {
            let dir = TempDir::new("functions");
            let a = dir.join("a.txt");
            fs::write(&a, "alpha").await.unwrap();
            assert_eq!(fs::read(&a).await.unwrap(), b"alpha");
            assert_eq!(fs::read_to_string(&a).await.unwrap(), "alpha");
            let b = dir.join("b.txt");
            assert_eq!(fs::copy(&a, &b).await.unwrap(), 5);
            let c = dir.join("c.txt");
            fs::rename(&b, &c).await.unwrap();
            assert!(!fs::try_exists(&b).await.unwrap());
            assert!(fs::try_exists(&c).await.unwrap());
            assert_eq!(fs::metadata(&c).await.unwrap().len(), 5);
            let sub = dir.join("x/y/z");
            fs::create_dir_all(&sub).await.unwrap();
            fs::create_dir(dir.join("single")).await.unwrap();
            fs::remove_dir(dir.join("single")).await.unwrap();
            let link = dir.join("link");
            fs::symlink(&a, &link).await.unwrap();
            assert_eq!(fs::read_link(&link).await.unwrap(), a);
            assert!(fs::symlink_metadata(&link)
                .await
                .unwrap()
                .file_type()
                .is_symlink());
            assert_eq!(
                fs::canonicalize(&link).await.unwrap(),
                fs::canonicalize(&a).await.unwrap()
            );
            let hard = dir.join("hard");
            fs::hard_link(&a, &hard).await.unwrap();
            assert_eq!(fs::read(&hard).await.unwrap(), b"alpha");
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&a, std::fs::Permissions::from_mode(0o600))
                .await
                .unwrap();
            assert_eq!(
                fs::metadata(&a).await.unwrap().permissions().mode() & 0o777,
                0o600
            );
            // read_dir, by next_entry and as a stream.
            let mut names = Vec::new();
            let mut entries = fs::read_dir(&dir.0).await.unwrap();
            while let Some(entry) = entries.next_entry().await.unwrap() {
                assert!(entry.ino() > 0);
                let _ = entry.file_type().await.unwrap();
                names.push(entry.file_name().into_string().unwrap());
            }
            names.sort();
            assert_eq!(names, ["a.txt", "c.txt", "hard", "link", "x"]);
            use futures_util::StreamExt;
            let streamed = fs::read_dir(&dir.0).await.unwrap().count().await;
            assert_eq!(streamed, 5);
            fs::remove_file(&c).await.unwrap();
            fs::remove_dir_all(dir.join("x")).await.unwrap();

            // Error paths name the path.
            let missing = dir.join("missing");
            // Looked up once, so that its absence is cached.
            assert!(std::fs::metadata(&missing).is_err());
            let err = fs::read(&missing).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotFound);
            names_path(&err, &missing);
            names_path(&fs::metadata(&missing).await.unwrap_err(), &missing);
            names_path(&fs::remove_file(&missing).await.unwrap_err(), &missing);
            names_path(&File::open(&missing).await.unwrap_err(), &missing);
            let err = fs::copy(&missing, &b).await.unwrap_err();
            names_path(&err, &missing);
            names_path(&err, &b);
            // Not a directory.
            let err = fs::read_dir(&a).await.err().unwrap();
            assert_eq!(err.kind(), ErrorKind::NotADirectory);
            names_path(&err, &a);
            let under_file = a.join("child");
            names_path(&fs::create_dir(&under_file).await.unwrap_err(), &under_file);
            // Every other function's failure names its path(s) too.
            let in_missing_dir = missing.join("f");
            let other = dir.join("other");
            let err = fs::create_dir_all(under_file.join("deeper"))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotADirectory);
            names_path(&err, &under_file.join("deeper"));
            let err = fs::try_exists(&under_file).await.unwrap_err();
            names_path(&err, &under_file);
            let err = fs::read_link(&a).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "not a link");
            names_path(&err, &a);
            let err = fs::symlink(&a, &link).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::AlreadyExists);
            names_path(&err, &link);
            let single: [(&str, std::io::Error, &std::path::Path); 9] = [
                (
                    "read_to_string",
                    fs::read_to_string(&missing).await.unwrap_err(),
                    &missing,
                ),
                (
                    "write",
                    fs::write(&in_missing_dir, "x").await.unwrap_err(),
                    &in_missing_dir,
                ),
                (
                    "remove_dir",
                    fs::remove_dir(&missing).await.unwrap_err(),
                    &missing,
                ),
                (
                    "remove_dir_all",
                    fs::remove_dir_all(&missing).await.unwrap_err(),
                    &missing,
                ),
                (
                    "symlink_metadata",
                    fs::symlink_metadata(&missing).await.unwrap_err(),
                    &missing,
                ),
                (
                    "canonicalize",
                    fs::canonicalize(&missing).await.unwrap_err(),
                    &missing,
                ),
                (
                    "set_permissions",
                    fs::set_permissions(&missing, std::fs::Permissions::from_mode(0o600))
                        .await
                        .unwrap_err(),
                    &missing,
                ),
                (
                    "File::create",
                    File::create(&in_missing_dir).await.unwrap_err(),
                    &in_missing_dir,
                ),
                (
                    "OpenOptions::open",
                    OpenOptions::new()
                        .write(true)
                        .open(&missing)
                        .await
                        .unwrap_err(),
                    &missing,
                ),
            ];
            for (function, err, path) in single {
                assert_eq!(err.kind(), ErrorKind::NotFound, "{function}: {err}");
                names_path(&err, path);
            }
            for (function, err) in [
                ("rename", fs::rename(&missing, &other).await.unwrap_err()),
                (
                    "hard_link",
                    fs::hard_link(&missing, &other).await.unwrap_err(),
                ),
            ] {
                assert_eq!(err.kind(), ErrorKind::NotFound, "{function}: {err}");
                names_path(&err, &missing);
                names_path(&err, &other);
            }
            // Permission denied (root bypasses permissions: skip then).
            let locked = dir.join("locked");
            fs::create_dir(&locked).await.unwrap();
            fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o500))
                .await
                .unwrap();
            let inside = locked.join("f");
            match fs::write(&inside, "x").await {
                Err(err) => {
                    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
                    names_path(&err, &inside);
                }
                Ok(()) => println!("skipped the permission check: running as root"),
            }
            fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700))
                .await
                .unwrap();
        });
    });
}

#[test]
fn a_64_mib_file_written_then_copied_round_trips() {
    within(120, || {
        weft::runtime::Runtime::new().unwrap().block_on(async {
            let dir = TempDir::new("big");
            let original = dir.join("big.bin");
            let data: Vec<u8> = (0..64 * 1024 * 1024u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
                .collect();
            let mut file = File::create(&original).await.unwrap();
            for chunk in data.chunks(1024 * 1024 + 17) {
                file.write_all(chunk).await.unwrap();
            }
            file.flush().await.unwrap();
            file.sync_all().await.unwrap();
            assert_eq!(file.metadata().await.unwrap().len(), data.len() as u64);
            drop(file);
            let copy = dir.join("copy.bin");
            assert_eq!(fs::copy(&original, &copy).await.unwrap(), data.len() as u64);
            let mut back = Vec::new();
            File::open(&copy)
                .await
                .unwrap()
                .read_to_end(&mut back)
                .await
                .unwrap();
            assert!(back == data, "the copy differs");
        });
    });
}

#[test]
fn reads_writes_and_seeks_keep_their_order() {
    // Reads at once from the page cache, and reads through the pool (which
    // read ahead: later writes and seeks must account for it).
    for through_pool in [false, true] {
        reads_writes_and_seeks_keep_their_order_with(through_pool);
    }
}

fn reads_writes_and_seeks_keep_their_order_with(through_pool: bool) {
    within(30, move || {
        common::rt().block_on(async {
            let dir = TempDir::new(if through_pool { "order-pool" } else { "order" });
            let path = dir.join("f");
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)
                .await
                .unwrap();
            if through_pool {
                file.read_through_pool_only();
            }
            file.write_all(b"0123456789").await.unwrap();
            assert_eq!(file.seek(SeekFrom::Start(2)).await.unwrap(), 2);
            let mut two = [0u8; 2];
            file.read_exact(&mut two).await.unwrap();
            assert_eq!(&two, b"23");
            // A write after a read lands where the reader is, not where the
            // read-ahead left the OS offset.
            file.write_all(b"ab").await.unwrap();
            assert_eq!(file.seek(SeekFrom::Current(0)).await.unwrap(), 6);
            file.seek(SeekFrom::Start(0)).await.unwrap();
            let mut all = String::new();
            file.read_to_string(&mut all).await.unwrap();
            assert_eq!(all, "0123ab6789");
            file.set_len(4).await.unwrap();
            assert_eq!(file.metadata().await.unwrap().len(), 4);
            let clone = file.try_clone().await.unwrap();
            assert_eq!(clone.metadata().await.unwrap().len(), 4);
            let std_file = file.into_std().await;
            assert_eq!(std_file.metadata().unwrap().len(), 4);
            let mut appender = OpenOptions::new().append(true).open(&path).await.unwrap();
            appender.write_all(b"END").await.unwrap();
            appender.close().await.unwrap();
            assert_eq!(fs::read_to_string(&path).await.unwrap(), "0123END");
        });
    });
}

#[test]
fn an_accepted_write_survives_dropping_the_file_unflushed() {
    within(30, || {
        // One pool thread: jobs run in order, so the job after the drop
        // runs after the write.
        one_pool_thread().block_on(async {
            let dir = TempDir::new("drop");
            let path = dir.join("f");
            let mut file = File::create(&path).await.unwrap();
            file.write_all(b"kept").await.unwrap();
            drop(file);
            weft::task::spawn_blocking(|| ()).await.unwrap();
            assert_eq!(fs::read(&path).await.unwrap(), b"kept");
        });
    });
}

#[test]
fn two_tasks_sharing_a_file_are_both_woken() {
    within(30, || {
        weft::runtime::Runtime::new().unwrap().block_on(async {
            let dir = TempDir::new("shared");
            let path = dir.join("f");
            let mut file = File::create(&path).await.unwrap();
            file.write_all(&vec![1u8; 1 << 20]).await.unwrap();
            let file = std::sync::Arc::new(file);
            let (a, b) = (std::sync::Arc::clone(&file), std::sync::Arc::clone(&file));
            let metadata = weft::spawn(async move { a.metadata().await.map(|m| m.len()) });
            let sync = weft::spawn(async move { b.sync_all().await });
            assert_eq!(metadata.await.unwrap().unwrap(), 1 << 20);
            sync.await.unwrap().unwrap();
        });
    });
}

#[test]
fn a_cancelled_poller_does_not_swallow_another_task_s_wake() {
    within(30, || {
        weft::runtime::Runtime::new().unwrap().block_on(async {
            let dir = TempDir::new("fanout");
            let mut file = File::create(dir.join("f")).await.unwrap();
            file.write_all(&vec![3u8; 4 << 20]).await.unwrap();
            let file = std::sync::Arc::new(file);
            let waiter = {
                let file = std::sync::Arc::clone(&file);
                weft::spawn(async move { file.sync_all().await })
            };
            // Another task polls the same job, then gives up.
            let quitter = std::sync::Arc::clone(&file);
            let _ =
                weft::time::timeout(std::time::Duration::from_micros(1), quitter.metadata()).await;
            drop(quitter);
            waiter.await.unwrap().unwrap();
        });
    });
}

#[test]
fn a_file_queues_one_pool_job_at_a_time_also_from_self_methods() {
    // One pool thread, held by a blocker: every job queues, and the pool's
    // queue depth shows how many jobs the file put there. Three tasks call
    // `&self` methods of one shared `File`; only the first may queue a job,
    // the others wait for it (they would otherwise run side by side on a
    // bigger pool, and a cancelled `set_len` could land after a later
    // write).
    within(30, || {
        one_pool_thread().block_on(async {
            let dir = TempDir::new("one-job");
            let file = std::sync::Arc::new(File::create(dir.join("f")).await.unwrap());
            let metrics = weft::runtime::Handle::current().metrics();
            let release = hold_the_only_pool_thread().await;
            let calls = [0, 1, 2].map(|which| {
                let file = std::sync::Arc::clone(&file);
                weft::spawn(async move {
                    match which {
                        0 => file.metadata().await.map(|_| ()),
                        1 => file.sync_all().await,
                        _ => file.set_len(3).await,
                    }
                })
            });
            for _ in 0..5 {
                weft::task::yield_now().await;
            }
            assert_eq!(metrics.blocking_queue_depth(), 1, "the file queued one job");
            release.send(()).unwrap();
            for call in calls {
                call.await.unwrap().unwrap();
            }
            assert_eq!(file.metadata().await.unwrap().len(), 3);
        });
    });
}

#[test]
fn every_self_method_of_a_file_reports_errors_with_the_path() {
    within(30, || {
        common::rt().block_on(async {
            let dir = TempDir::new("self-methods");
            let path = dir.join("f");
            let mut file = File::create(&path).await.unwrap();
            file.write_all(b"data").await.unwrap();
            file.sync_data().await.unwrap();
            file.sync_all().await.unwrap();
            let mut permissions = file.metadata().await.unwrap().permissions();
            permissions.set_readonly(true);
            file.set_permissions(permissions).await.unwrap();
            assert!(fs::metadata(&path).await.unwrap().permissions().readonly());
            // A file opened for reading only cannot be resized.
            let reader = File::open(&path).await.unwrap();
            let err = reader.set_len(1).await.unwrap_err();
            assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
        });
    });
}

#[test]
fn an_accepted_write_is_written_even_if_the_runtime_shuts_down_before_its_job_starts() {
    // One pool thread, held by a blocker, so the write's job and an
    // ordinary job both wait in the queue when the runtime shuts down
    // (without waiting). Both still run once the blocker is released: the
    // caller was told the bytes were written, and a job spawned before the
    // shutdown runs (as tokio's).
    within(60, || {
        let rt = one_pool_thread();
        let dir = TempDir::new("shutdown-write");
        let path = dir.join("f");
        let metrics = rt.handle().metrics();
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (release, ordinary) = rt.block_on(async {
            let mut file = File::create(&path).await.unwrap();
            let release = hold_the_only_pool_thread().await;
            file.write_all(b"kept").await.unwrap();
            drop(file);
            let ran = std::sync::Arc::clone(&ran);
            let ordinary = weft::task::spawn_blocking(move || ran.store(true, Ordering::SeqCst));
            assert_eq!(metrics.blocking_queue_depth(), 2);
            (release, ordinary)
        });
        rt.shutdown_background();
        release.send(()).unwrap();
        common::rt().block_on(ordinary).unwrap();
        assert!(ran.load(Ordering::SeqCst), "the ordinary queued job ran");
        // The write job runs on the same (only) thread, before or after.
        while std::fs::read(&path).unwrap() != b"kept" {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    });
}

#[test]
fn a_write_after_the_runtime_shut_down_is_an_error_not_lost_bytes() {
    within(30, || {
        let rt = common::rt();
        let handle = rt.handle().clone();
        let dir = TempDir::new("after-shutdown");
        let path = dir.join("f");
        let mut file = rt.block_on(File::create(&path)).unwrap();
        drop(rt);
        // Nothing will run a job on this runtime's pool any more: the write
        // must not be accepted.
        let err = handle.block_on(file.write_all(b"lost?")).unwrap_err();
        assert!(err.to_string().contains("shut down"), "{err}");
        assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"");
    });
}

#[test]
fn dir_builder_creates_recursively_with_a_mode_and_errors_name_the_path() {
    use std::os::unix::fs::PermissionsExt;
    within(30, || {
        common::rt().block_on(async {
            let dir = TempDir::new("dir-builder");
            let deep = dir.join("a/b/c");
            // Not recursive: the missing parent is an error naming the path.
            let err = fs::DirBuilder::new().create(&deep).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotFound);
            names_path(&err, &deep);
            // tokio's test: recursive, then non-recursive on the same path.
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&deep)
                .await
                .unwrap();
            assert!(deep.is_dir());
            let mode = std::fs::metadata(&deep).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "mode {mode:o}");
            let parent_mode = std::fs::metadata(dir.join("a"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(parent_mode & 0o777, 0o700, "parents get the mode too");
            // Recursive: an existing directory is fine.
            let mut builder = fs::DirBuilder::default();
            builder.recursive(true);
            builder.create(&deep).await.unwrap();
            let err = fs::DirBuilder::new()
                .recursive(false)
                .create(&deep)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::AlreadyExists);
            names_path(&err, &deep);
            // tokio's `build_dir_mode_read_only`.
            let read_only = dir.join("ro");
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o444)
                .create(&read_only)
                .await
                .unwrap();
            assert!(fs::metadata(&read_only)
                .await
                .unwrap()
                .permissions()
                .readonly());
        });
    });
}

const HELLO: &[u8] = b"hello, world!";

/// Opens `path` (holding `HELLO`) and takes `n` bytes from it in a way that
/// leaves the rest read ahead in the `File`: a read with a big buffer is
/// started (its job queued behind the held pool thread) and abandoned, and
/// a read of `n` bytes takes the first of what that job fetched. (Reads go
/// through the pool, as for data not in the page cache: a cached read is
/// made at once, straight into the caller's buffer, with no read-ahead.)
async fn with_read_ahead(path: &std::path::Path, n: usize) -> File {
    use futures_util::FutureExt;
    let mut file = File::open(path).await.unwrap();
    file.read_through_pool_only();
    let release = hold_the_only_pool_thread().await;
    let mut big = [0u8; 1024];
    assert!(
        file.read(&mut big).now_or_never().is_none(),
        "the job waits"
    );
    release.send(()).unwrap();
    let mut small = vec![0u8; n];
    file.read_exact(&mut small).await.unwrap();
    assert_eq!(small, HELLO[..n]);
    file
}

#[test]
fn tokio_s_file_conversions_compile_and_work() {
    // tokio's fs_file.rs tests, renamed: into_std, try_into_std, From,
    // set_max_buf_size, as_raw_fd, from_raw_fd, create_new.
    use std::io::{Read, Write};
    use std::os::unix::io::{AsRawFd, FromRawFd, IntoRawFd};
    within(30, || {
        common::rt().block_on(async {
            let dir = TempDir::new("conversions");
            let path = dir.join("f");

            let file = File::create(&path).await.unwrap();
            let mut std_file = file.into_std().await;
            std_file.write_all(HELLO).unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), HELLO);

            let file = File::create(&path).await.unwrap();
            let mut std_file = file.try_into_std().unwrap();
            std_file.write_all(HELLO).unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), HELLO);

            let mut file = File::from(std::fs::File::open(&path).unwrap());
            let mut buf = [0; 1024];
            let n = file.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], HELLO);

            let mut file = File::open(&path).await.unwrap();
            file.set_max_buf_size(1);
            assert_eq!(file.max_buf_size(), 1);
            assert_eq!(file.read(&mut buf).await.unwrap(), 1, "one byte per read");
            let mut file = File::create(dir.join("g")).await.unwrap();
            file.set_max_buf_size(0);
            assert_eq!(file.max_buf_size(), 1, "0 is taken as 1");
            assert_eq!(file.write(HELLO).await.unwrap(), 1, "one byte per write");
            file.flush().await.unwrap();
            assert_eq!(file.try_clone().await.unwrap().max_buf_size(), 1);
            assert!(file.as_raw_fd() > 0);

            let file1 = File::open(&path).await.unwrap();
            let raw_fd = file1.into_std().await.into_raw_fd();
            // SAFETY: `raw_fd` was just released by `into_raw_fd` and is
            // owned by nothing else.
            let mut file2 = unsafe { File::from_raw_fd(raw_fd) };
            let n = file2.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], HELLO);

            let mut file = File::from(std::os::fd::OwnedFd::from(
                std::fs::File::open(&path).unwrap(),
            ));
            let n = file.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], HELLO);
            let mut std_options = std::fs::OpenOptions::new();
            std_options.read(true);
            let mut file = OpenOptions::from(std_options).open(&path).await.unwrap();
            let mut text = String::new();
            file.read_to_string(&mut text).await.unwrap();
            assert_eq!(text.as_bytes(), HELLO);

            let fresh = dir.join("fresh");
            let mut file = File::create_new(&fresh).await.unwrap();
            file.write_all(b"new").await.unwrap();
            file.seek(SeekFrom::Start(0)).await.unwrap();
            let mut back = String::new();
            file.read_to_string(&mut back).await.unwrap();
            assert_eq!(back, "new", "create_new opens for reading too");
            let err = File::create_new(&fresh).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::AlreadyExists);
            names_path(&err, &fresh);

            let mut std_read = std::fs::File::open(&path).unwrap();
            let mut all = Vec::new();
            std_read.read_to_end(&mut all).unwrap();
            assert_eq!(all, HELLO);
        });
    });
}

#[test]
fn try_into_std_refuses_while_a_write_is_in_flight_or_read_ahead_is_buffered() {
    use std::io::Seek;
    within(30, || {
        one_pool_thread().block_on(async {
            let dir = TempDir::new("try-into-std");
            let path = dir.join("f");
            let mut file = File::create(&path).await.unwrap();
            let release = hold_the_only_pool_thread().await;
            file.write_all(HELLO).await.unwrap();
            // The write's job is queued behind the held thread.
            let mut file = file.try_into_std().expect_err("a write is in flight");
            release.send(()).unwrap();
            file.flush().await.unwrap();
            let std_file = file.try_into_std().expect("flushed");
            assert_eq!(std_file.metadata().unwrap().len(), HELLO.len() as u64);

            // Read-ahead: the OS offset is past what the reader took.
            let file = with_read_ahead(&path, 2).await;
            let mut file = file.try_into_std().expect_err("read-ahead is buffered");
            file.flush().await.unwrap();
            let mut std_file = file.try_into_std().expect("read-ahead given back");
            assert_eq!(std_file.stream_position().unwrap(), 2);

            // An unreported write error: a read collects the failed
            // write's job (and keeps its error for the next write or flush).
            let mut file = File::open(&path).await.unwrap();
            file.write_all(b"x").await.unwrap(); // accepted; its job fails
            let mut buf = [0u8; 64];
            let n = file.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], HELLO);
            let mut file = file.try_into_std().expect_err("a write error is pending");
            let err = file.flush().await.unwrap_err();
            names_path(&err, &path);
            assert!(file.try_into_std().is_ok(), "reported by flush");
        });
    });
}

#[test]
fn into_std_waits_for_the_write_in_flight_and_gives_back_the_read_ahead() {
    use std::io::Seek;
    within(30, || {
        one_pool_thread().block_on(async {
            let dir = TempDir::new("into-std");
            let path = dir.join("f");
            let mut file = File::create(&path).await.unwrap();
            let release = hold_the_only_pool_thread().await;
            file.write_all(HELLO).await.unwrap();
            let converting = weft::spawn(file.into_std());
            for _ in 0..5 {
                weft::task::yield_now().await;
            }
            assert!(!converting.is_finished(), "waits for the write's job");
            release.send(()).unwrap();
            let std_file = converting.await.unwrap();
            // Written before into_std returned.
            assert_eq!(std::fs::read(&path).unwrap(), HELLO);
            drop(std_file);

            let file = with_read_ahead(&path, 3).await;
            let mut std_file = file.into_std().await;
            assert_eq!(std_file.stream_position().unwrap(), 3);

            // A failed write's error is dropped, as tokio's into_std drops it.
            let mut file = File::open(&path).await.unwrap();
            file.write_all(b"x").await.unwrap(); // accepted; its job fails
            let std_file = file.into_std().await;
            assert_eq!(std_file.metadata().unwrap().len(), HELLO.len() as u64);
            assert_eq!(std::fs::read(&path).unwrap(), HELLO);
        });
    });
}

#[test]
fn the_descriptor_is_usable_while_a_job_is_in_flight_and_into_raw_fd_keeps_the_bytes() {
    use std::io::Seek;
    use std::os::fd::{AsFd, AsRawFd, FromRawFd, IntoRawFd};
    within(30, || {
        one_pool_thread().block_on(async {
            let dir = TempDir::new("as-fd");
            let path = dir.join("f");
            let mut file = File::create(&path).await.unwrap();
            let release = hold_the_only_pool_thread().await;
            file.write_all(HELLO).await.unwrap();
            // The job is queued: the descriptor is still the file's, open.
            let borrowed = file.as_fd();
            assert_eq!(borrowed.as_raw_fd(), file.as_raw_fd());
            let stat = rustix::fs::fstat(borrowed).unwrap();
            assert_eq!(stat.st_ino, std::fs::metadata(&path).unwrap().ino_of());
            // into_raw_fd with the write in flight: a duplicate; the job
            // still writes the accepted bytes.
            let raw = file.into_raw_fd();
            release.send(()).unwrap();
            weft::task::spawn_blocking(|| ()).await.unwrap(); // the write ran
                                                              // SAFETY: `raw` came from `into_raw_fd` and nothing else owns it.
            let mut std_file = unsafe { std::fs::File::from_raw_fd(raw) };
            assert_eq!(std::fs::read(&path).unwrap(), HELLO);
            assert_eq!(std_file.stream_position().unwrap(), HELLO.len() as u64);

            // Idle with read-ahead: given back before the descriptor goes.
            let file = with_read_ahead(&path, 4).await;
            // SAFETY: as above.
            let mut std_file = unsafe { std::fs::File::from_raw_fd(file.into_raw_fd()) };
            assert_eq!(std_file.stream_position().unwrap(), 4);
        });
    });
}

trait Ino {
    fn ino_of(&self) -> u64;
}

impl Ino for std::fs::Metadata {
    fn ino_of(&self) -> u64 {
        std::os::unix::fs::MetadataExt::ino(self)
    }
}

#[test]
fn a_vectored_write_takes_every_slice() {
    // tokio's `write_vectored`: both slices, not just the first.
    within(30, || {
        common::rt().block_on(async {
            let dir = TempDir::new("write-vectored");
            let path = dir.join("f");
            let mut file = File::create(&path).await.unwrap();
            let hello = b"hello, world!\n";
            let slices = [std::io::IoSlice::new(hello), std::io::IoSlice::new(hello)];
            let n = file.write_vectored(&slices).await.unwrap();
            assert_eq!(n, hello.len() * 2);
            file.flush().await.unwrap();
            assert_eq!(
                std::fs::read(&path).unwrap(),
                [&hello[..], &hello[..]].concat()
            );
            // Past the buffer's size, a vectored write is a short write.
            let mut file = File::create(&path).await.unwrap();
            file.set_max_buf_size(5);
            assert_eq!(file.write_vectored(&slices).await.unwrap(), 5);
            file.flush().await.unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), b"hello");
        });
    });
}

/// Whether reads of cached files in the temp directory are made at once
/// (`openat2`, Linux 5.12; a local disk file system: weft leaves network,
/// FUSE and tmpfs files to the pool); prints why not.
fn cached_reads_expected() -> bool {
    use rustix::fs::{Mode, OFlags, ResolveFlags, CWD};
    let dir = std::env::temp_dir();
    // The library's own probe: `openat2` with `RESOLVE_CACHED` (Linux 5.12,
    // and no seccomp filter refusing it).
    let cached_opens = matches!(
        rustix::fs::openat2(CWD, "/", OFlags::PATH, Mode::empty(), ResolveFlags::CACHED),
        Ok(_) | Err(rustix::io::Errno::AGAIN)
    );
    #[allow(clippy::unnecessary_cast)] // `f_type`'s type differs between architectures
    let local = rustix::fs::statfs(&dir).is_ok_and(|fs| {
        [0xEF53, 0x5846_5342, 0x9123_683E, 0xF2F5_2010].contains(&(fs.f_type as u32))
    });
    if !(cached_opens && local) {
        println!(
            "skipped: reads at once need openat2 with RESOLVE_CACHED (Linux 5.12, allowed \
             here: {cached_opens}) and a temp directory on ext4, XFS, Btrfs or F2FS ({}: \
             {local})",
            dir.display()
        );
    }
    cached_opens && local
}

/// Reads the page cache answers at once need no pool thread: with the
/// pool's one thread held (every job waits), a cached `fs::read`,
/// `fs::read_to_string` and `File` reads still complete, in one poll, and
/// the `File`'s offset moves as its reads go.
#[test]
fn cached_reads_complete_at_once_without_a_pool_thread() {
    use futures_util::FutureExt;
    if !cached_reads_expected() {
        return;
    }
    within(30, || {
        one_pool_thread().block_on(async {
            let dir = TempDir::new("cached");
            let path = dir.join("f");
            let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
            std::fs::write(&path, &data).unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), data); // now cached
            let text = dir.join("t");
            std::fs::write(&text, "cached text").unwrap();
            let bad = dir.join("not-utf8");
            std::fs::write(&bad, [0xff, 0xfe]).unwrap();
            // The open (on the pool) learns the device's file system.
            let mut file = File::open(&path).await.unwrap();

            let release = hold_the_only_pool_thread().await;
            let whole = fs::read(&path).now_or_never().expect("read at once");
            assert_eq!(whole.unwrap(), data);
            let string = fs::read_to_string(&text).now_or_never().expect("at once");
            assert_eq!(string.unwrap(), "cached text");
            let err = fs::read_to_string(&bad).now_or_never().expect("at once");
            let err = err.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidData);
            names_path(&err, &bad);
            let missing = dir.join("missing");
            // Looked up once, so that its absence is cached.
            assert!(std::fs::metadata(&missing).is_err());
            let err = fs::read(&missing).now_or_never().expect("at once");
            let err = err.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotFound);
            names_path(&err, &missing);

            // Opens that create and truncate nothing, metadata, existence.
            let link = dir.join("link");
            std::os::unix::fs::symlink(&path, &link).unwrap();
            let opened = File::open(&text).now_or_never().expect("open at once");
            let mut opened = opened.unwrap();
            let mut both = OpenOptions::new();
            both.read(true).write(true);
            let writable = both.open(&text).now_or_never().expect("read-write at once");
            drop(writable.unwrap());
            let mut appending = OpenOptions::new();
            appending.append(true);
            let appender = appending.open(&bad).now_or_never().expect("append at once");
            let mut appender = appender.unwrap();
            appender.write_all(b"!").await.unwrap(); // accepted, written behind
                                                     // std's options cannot be read back: such opens go to the pool.
            let mut from_std = OpenOptions::from(std::fs::OpenOptions::new());
            from_std.read(true);
            let mut from_std = Box::pin(from_std.open(&text));
            assert!(
                from_std.as_mut().now_or_never().is_none(),
                "left to the pool"
            );
            // (Following a symbolic link may need its access time
            // written, which is left to the pool: not checked here.)
            let meta = fs::metadata(&path)
                .now_or_never()
                .expect("at once")
                .unwrap();
            assert!(meta.is_file() && meta.len() == data.len() as u64);
            let meta = fs::symlink_metadata(&link).now_or_never().expect("at once");
            assert!(meta.unwrap().is_symlink());
            assert!(fs::try_exists(&path)
                .now_or_never()
                .expect("at once")
                .unwrap());
            let exists = fs::try_exists(&missing).now_or_never().expect("at once");
            assert!(!exists.unwrap());
            let meta = opened.metadata().now_or_never().expect("at once").unwrap();
            assert_eq!(meta.len(), "cached text".len() as u64);
            let mut back = String::new();
            let read = opened
                .read_to_string(&mut back)
                .now_or_never()
                .expect("at once");
            read.unwrap();
            assert_eq!(back, "cached text");
            let mut nofollow = OpenOptions::new();
            nofollow.read(true).custom_flags(libc::O_NOFOLLOW);
            // A symbolic link: on the pool, as std (waiting for the thread).
            let mut err = Box::pin(nofollow.open(&link));
            assert!(err.as_mut().now_or_never().is_none(), "left to the pool");

            let mut got = Vec::new();
            let mut buf = vec![0u8; 65_536];
            loop {
                let n = file.read(&mut buf).now_or_never().expect("at once");
                let n = n.unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            assert_eq!(got, data);
            release.send(()).unwrap();
            let err = err.await.unwrap_err();
            assert!(err.to_string().contains("os error 40"), "ELOOP: {err}");
            drop(from_std.await.unwrap());
            appender.flush().await.unwrap();
            assert_eq!(std::fs::read(&bad).unwrap(), [0xff, 0xfe, b'!']);
            names_path(&err, &link);
            let meta = fs::metadata(&link).await.unwrap();
            assert!(meta.is_file() && meta.len() == data.len() as u64);
            assert!(fs::try_exists(&link).await.unwrap());

            // The offset is the reader's: a seek from the current position
            // lands where the reads left off.
            let pos = file.seek(SeekFrom::Current(-10)).await.unwrap();
            assert_eq!(pos, data.len() as u64 - 10);
            let mut tail = [0u8; 10];
            file.read_exact(&mut tail).await.unwrap();
            assert_eq!(tail, data[data.len() - 10..]);
        });
    });
}

/// A FIFO is read as `std::fs::read` reads it: the open waits for a writer
/// (on the pool: the loop goes on) and the read for its end.
#[test]
fn a_fifo_is_read_through_the_pool_as_std_reads_it() {
    within(30, || {
        common::rt().block_on(async {
            let dir = TempDir::new("fifo");
            // One FIFO for `File::open`, one for `fs::read`: a writer's
            // second open of the same FIFO would find the first reader
            // still there.
            let fifos = [dir.join("opened"), dir.join("read")];
            for fifo in &fifos {
                common::mkfifo(fifo);
            }
            // Teaches the mount, so that the calls do not go to the pool
            // merely to learn it.
            drop(File::open(dir.join(".")).await.unwrap());
            let reader = weft::spawn({
                let fifos = fifos.clone();
                async move {
                    // Each open waits for a writer (on the pool), then the
                    // reads wait for its end.
                    let mut opened = File::open(&fifos[0]).await?;
                    let mut first = Vec::new();
                    opened.read_to_end(&mut first).await?;
                    let second = fs::read(&fifos[1]).await?;
                    Ok::<_, std::io::Error>((first, second))
                }
            });
            // Each write blocks until the reader has its FIFO open: only
            // then does the read start, and a reader that saw no writer yet
            // would have returned an empty read instead of waiting.
            let writer = std::thread::spawn(move || {
                std::fs::write(&fifos[0], b"through the pipe")?;
                std::fs::write(&fifos[1], b"and again")
            });
            let (first, second) = reader.await.unwrap().unwrap();
            assert_eq!(first, b"through the pipe");
            assert_eq!(second, b"and again");
            writer.join().unwrap().unwrap();
        });
    });
}

/// A cached read is still a step of the task's budget: a loop of reads
/// that never wait lets the other tasks of its thread run.
#[test]
fn a_loop_of_cached_reads_lets_other_tasks_run() {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    within(30, || {
        one_pool_thread().block_on(async {
            let dir = TempDir::new("cached-loop");
            let path = dir.join("f");
            std::fs::write(&path, vec![1u8; 100_000]).unwrap();
            std::fs::read(&path).unwrap();
            let mut file = File::open(&path).await.unwrap();
            for whole_files in [true, false] {
                let ran = Arc::new(AtomicBool::new(false));
                let flag = Arc::clone(&ran);
                weft::spawn(async move { flag.store(true, Ordering::SeqCst) });
                let mut reads = 0;
                while !ran.load(Ordering::SeqCst) {
                    if whole_files {
                        assert_eq!(fs::read(&path).await.unwrap().len(), 100_000);
                    } else {
                        let mut byte = [0u8; 1];
                        assert_eq!(file.read(&mut byte).await.unwrap(), 1);
                    }
                    reads += 1;
                    assert!(reads < 10_000, "the spawned task never ran");
                }
            }
        });
    });
}

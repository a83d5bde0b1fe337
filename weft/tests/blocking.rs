//! The blocking pool: results, panics, the slow-I/O cap, keep-alive,
//! shutdown.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{within, Signal};
use weft::runtime::Builder;
use weft::task::{spawn_blocking, spawn_blocking_with, BlockingKind};

#[test]
fn results_panics_and_runtime_context() {
    within(30, || {
        for rt in [common::rt(), weft::runtime::Runtime::new().unwrap()] {
            rt.block_on(async {
                assert_eq!(spawn_blocking(|| 6 * 7).await.unwrap(), 42);
                let err = spawn_blocking(|| panic!("blocking boom"))
                    .await
                    .unwrap_err();
                assert!(err.is_panic());
                // The runtime is current inside a job: it can spawn.
                let nested = spawn_blocking(|| weft::spawn(async { "nested" }))
                    .await
                    .unwrap();
                assert_eq!(nested.await.unwrap(), "nested");
                let from_handle = weft::runtime::Handle::current()
                    .spawn_blocking(|| std::thread::current().name().map(str::to_owned))
                    .await
                    .unwrap();
                assert!(from_handle.is_some());
            });
        }
    });
}

#[test]
fn slow_jobs_never_take_more_than_half_the_pool() {
    within(60, || {
        let rt = Builder::new_current_thread()
            .max_blocking_threads(4)
            .build()
            .unwrap();
        rt.block_on(async {
            let release = Arc::new(AtomicBool::new(false));
            let running = Arc::new(AtomicUsize::new(0));
            let peak = Arc::new(AtomicUsize::new(0));
            // Four slow jobs that block until released: only two may run.
            let slow: Vec<_> = (0..4)
                .map(|_| {
                    let (release, running, peak) = (
                        Arc::clone(&release),
                        Arc::clone(&running),
                        Arc::clone(&peak),
                    );
                    spawn_blocking_with(BlockingKind::SlowIo, move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        // A blocking job may block: that is what it is for.
                        while !release.load(Ordering::SeqCst) {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                })
                .collect();
            // Releases the slow jobs however this test ends (a failed
            // assertion must not leave the runtime's drop waiting on them).
            struct Release(Arc<AtomicBool>);
            impl Drop for Release {
                fn drop(&mut self) {
                    self.0.store(true, Ordering::SeqCst);
                }
            }
            let _release = Release(Arc::clone(&release));
            // Two of them are running (and blocked) before the fast jobs
            // arrive.
            while running.load(Ordering::SeqCst) < 2 {
                weft::time::sleep(Duration::from_millis(1)).await;
            }
            // 100 fast jobs still complete on the other two threads.
            let fast: Vec<_> = (0..100u64).map(|i| spawn_blocking(move || i * 2)).collect();
            let mut sum = 0;
            for job in fast {
                sum += job.await.unwrap();
            }
            assert_eq!(sum, 9900);
            release.store(true, Ordering::SeqCst);
            for job in slow {
                job.await.unwrap();
            }
            assert_eq!(
                peak.load(Ordering::SeqCst),
                2,
                "slow jobs exceeded half the pool"
            );
        });
    });
}

#[test]
fn idle_threads_exit_after_the_keep_alive() {
    within(30, || {
        let rt = Builder::new_current_thread()
            .thread_keep_alive(Duration::from_millis(20))
            .build()
            .unwrap();
        rt.block_on(async {
            let jobs: Vec<_> = (0..4)
                .map(|_| spawn_blocking(|| std::thread::sleep(Duration::from_millis(5))))
                .collect();
            for job in jobs {
                job.await.unwrap();
            }
            let metrics = rt.metrics();
            assert!(metrics.num_blocking_threads() >= 1);
            while metrics.num_blocking_threads() > 0 {
                weft::time::sleep(Duration::from_millis(5)).await;
            }
        });
    });
}

#[test]
fn shutdown_returns_within_the_timeout_and_queued_jobs_still_run() {
    within(30, || {
        let rt = Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(1)
            .build()
            .unwrap();
        let started = Arc::new(Barrier::new(2));
        let release = Arc::new(Signal::default());
        let running = {
            let (started, release) = (Arc::clone(&started), Arc::clone(&release));
            rt.spawn_blocking(move || {
                started.wait();
                // Blocks until the test releases it, after the shutdown.
                futures_executor_block_on(release.wait());
                "finished"
            })
        };
        let queued = rt.spawn_blocking(|| "ran after the shutdown");
        let handle = rt.handle().clone();
        started.wait();
        assert_eq!(rt.metrics().blocking_queue_depth(), 1);
        let begin = Instant::now();
        rt.shutdown_timeout(Duration::from_millis(100));
        assert!(begin.elapsed() < Duration::from_secs(10));
        release.set();
        // Handles outlive the runtime; await them on another one.
        let other = common::rt();
        assert_eq!(other.block_on(running).unwrap(), "finished");
        // Queued before the shutdown: it runs (tokio's
        // `spawn_blocking_started_before_shutdown_continues`).
        assert_eq!(other.block_on(queued).unwrap(), "ran after the shutdown");
        // Spawned after the shutdown: cancelled, never run.
        let late = handle.spawn_blocking(|| "never runs");
        assert!(other.block_on(late).unwrap_err().is_cancelled());
    });
}

/// Polls `future` to completion on this thread, outside any runtime.
fn futures_executor_block_on<F: std::future::Future>(future: F) -> F::Output {
    let rt = common::rt();
    rt.block_on(future)
}

#[test]
fn zero_blocking_threads_is_rejected() {
    let err = Builder::new_current_thread()
        .max_blocking_threads(0)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("max_blocking_threads"), "{err}");
}

#[test]
fn a_block_on_inside_a_job_is_not_limited_by_the_task_budget() {
    within(60, || {
        let rt = weft::runtime::Runtime::new().unwrap();
        let handle = rt.handle().clone();
        let done = rt.block_on(async move {
            spawn_blocking(move || {
                handle.block_on(async {
                    // Far more than the 128-poll budget of a task.
                    for i in 0..300u32 {
                        assert_eq!(weft::spawn(async move { i }).await.unwrap(), i);
                    }
                    "done"
                })
            })
            .await
            .unwrap()
        });
        assert_eq!(done, "done");
    });
}

#[test]
fn the_last_runtime_handle_dropped_in_its_own_job_does_not_deadlock() {
    within(30, || {
        let rt = Arc::new(
            Builder::new_current_thread()
                .max_blocking_threads(2)
                .build()
                .unwrap(),
        );
        let (tx, rx) = std::sync::mpsc::channel();
        let (dropped_tx, dropped) = std::sync::mpsc::channel();
        let job = {
            let inner = Arc::clone(&rt);
            rt.spawn_blocking(move || {
                // Wait until the test has let go of its own reference.
                rx.recv().unwrap();
                // The last reference: this shuts the runtime down from one
                // of its own pool threads, which must not wait for itself.
                drop(inner);
                dropped_tx.send(()).unwrap();
            })
        };
        drop(job);
        drop(rt);
        tx.send(()).unwrap();
        // A deadlock leaves this waiting, and `within` fails the test.
        dropped.recv().unwrap();
    });
}

#[test]
fn dropping_the_runtime_stops_waiting_for_a_stuck_job_after_its_shutdown_timeout() {
    within(30, || {
        let rt = Builder::new_current_thread()
            .shutdown_timeout(Duration::from_millis(50))
            .build()
            .unwrap();
        let (release, stuck) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = std::sync::mpsc::channel();
        let _job = rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            // Would wait forever but for the release at the end.
            let _ = stuck.recv();
        });
        started.recv().unwrap();
        // Returns (a hang would fail `within`) while the job still runs.
        drop(rt);
        release
            .send(())
            .expect("the job was left running, still holding its receiver");
    });
}

#[test]
fn a_job_spawned_just_before_shutdown_runs() {
    // tokio's `spawn_blocking_started_before_shutdown_continues`, both
    // flavours, many times: the job has rarely started when the shutdown
    // comes, and must run all the same.
    within(60, || {
        for multi in [false, true] {
            for _ in 0..50 {
                let rt = common::rt_one_worker(multi);
                let handle = {
                    let _enter = rt.enter();
                    weft::task::spawn_blocking(|| 42)
                };
                rt.shutdown_timeout(Duration::from_secs(30));
                assert_eq!(common::rt().block_on(handle).unwrap(), 42);
            }
        }
    });
}

#[test]
fn dropping_the_last_handle_inside_a_pool_job_does_not_wait_for_itself() {
    // The runtime is dropped from one of its own pool jobs while another
    // pool thread exists: the drop waits for the others only, and returns
    // as soon as they are gone (it waited out the whole shutdown timeout).
    within(60, || {
        let rt = Builder::new_current_thread()
            .shutdown_timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        // Two pool threads: one idle, one running the job below.
        let (tx, rx) = std::sync::mpsc::channel();
        rt.block_on(async {
            let a = spawn_blocking(|| std::thread::sleep(Duration::from_millis(20)));
            let b = spawn_blocking(|| std::thread::sleep(Duration::from_millis(20)));
            a.await.unwrap();
            b.await.unwrap();
        });
        let handle = rt.handle().clone();
        let holder = Arc::new(std::sync::Mutex::new(Some(rt)));
        let for_job = Arc::clone(&holder);
        let _job = handle.spawn_blocking(move || {
            let begin = Instant::now();
            drop(for_job.lock().unwrap().take());
            tx.send(begin.elapsed()).unwrap();
        });
        drop(handle);
        let took = rx.recv_timeout(Duration::from_secs(50)).unwrap();
        assert!(took < Duration::from_secs(15), "the drop took {took:?}");
    });
}

/// Opens each FIFO for writing without waiting when dropped, which lets a
/// reader blocked in its open go (it then reads the end): a failed
/// assertion leaves no pool thread stuck.
struct ReleaseFifos(Vec<std::path::PathBuf>);

impl Drop for ReleaseFifos {
    fn drop(&mut self) {
        use std::os::unix::fs::OpenOptionsExt;
        for fifo in &self.0 {
            let _ = std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
                .open(fifo);
        }
        if let Some(dir) = self.0.first().and_then(|f| f.parent()) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A loop with nothing to do right after a file call handed its job to the
/// pool spins for it a moment instead of sleeping (such a job is usually
/// tens of microseconds), but never longer: while a long one runs (a FIFO's
/// open waits for a writer), timers fire and sockets are accepted and read.
/// On a current-thread runtime; on a multi-thread one with one worker,
/// which runs every task (its spin before parking is the one to end: no
/// other worker would fire the timer); and with `block_on`'s own future
/// making a file call too.
#[test]
fn a_long_file_call_does_not_keep_its_loop_from_timers_and_sockets() {
    use weft::io::AsyncReadExt;
    for multi_thread in [false, true] {
        within(30, move || {
            let rt = if multi_thread {
                Builder::new_multi_thread().worker_threads(1).build()
            } else {
                Builder::new_current_thread().build()
            };
            let rt = rt.unwrap();
            let dir = std::env::temp_dir().join(format!(
                "weft-long-file-call-{}-{multi_thread}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            // One read in a task, one in `block_on`'s own future.
            let (fifo, mine) = (dir.join("fifo"), dir.join("mine"));
            for path in [&fifo, &mine] {
                common::mkfifo(path);
            }
            let release = ReleaseFifos(vec![fifo.clone(), mine.clone()]);
            rt.block_on(async {
                let mut own = Box::pin(weft::fs::read(&mine));
                assert!(futures_util::FutureExt::now_or_never(own.as_mut()).is_none());
                // Everything else in one task: on the multi-thread runtime,
                // on its one worker.
                let (fifo, theirs) = (fifo.clone(), mine.clone());
                let task = weft::spawn(async move {
                    // Its job waits in `open` until a writer comes.
                    let read = weft::spawn({
                        let fifo = fifo.clone();
                        async move { weft::fs::read(&fifo).await }
                    });
                    weft::task::yield_now().await; // the read hands its job in
                                                   // Nothing else to run: the loop waits on the timer only.
                    weft::time::sleep(Duration::from_millis(5)).await;
                    let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                    let addr = listener.local_addr().unwrap();
                    let client = std::thread::spawn(move || {
                        use std::io::Write;
                        std::net::TcpStream::connect(addr)?.write_all(b"ping")
                    });
                    let (mut conn, _) = listener.accept().await.unwrap();
                    let mut ping = [0u8; 4];
                    conn.read_exact(&mut ping).await.unwrap();
                    assert_eq!(&ping, b"ping");
                    client.join().unwrap().unwrap();
                    // Only now do the file calls end.
                    let writer = std::thread::spawn({
                        let fifo = fifo.clone();
                        move || {
                            std::fs::write(&fifo, b"at last")?;
                            std::fs::write(&theirs, b"mine too")
                        }
                    });
                    assert_eq!(read.await.unwrap().unwrap(), b"at last");
                    writer.join().unwrap().unwrap();
                });
                task.await.unwrap();
                assert_eq!(own.await.unwrap(), b"mine too");
            });
            drop(release);
        });
    }
}

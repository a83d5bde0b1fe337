//! Tasks: join, abort, panics, foreign threads, shutdown, fairness.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

use common::{rt, within, Signal};
use weft::runtime::Handle;
use weft::task::{spawn_local, yield_now};
use weft::time::sleep;

/// Counts its drops and remembers the thread of the last one.
struct DropProbe {
    drops: Arc<AtomicUsize>,
    thread: Arc<Mutex<Option<ThreadId>>>,
}

impl DropProbe {
    fn new() -> (DropProbe, Arc<AtomicUsize>, Arc<Mutex<Option<ThreadId>>>) {
        let drops = Arc::new(AtomicUsize::new(0));
        let thread = Arc::new(Mutex::new(None));
        (
            DropProbe {
                drops: Arc::clone(&drops),
                thread: Arc::clone(&thread),
            },
            drops,
            thread,
        )
    }
}

impl Drop for DropProbe {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        *self.thread.lock().unwrap() = Some(thread::current().id());
    }
}

#[test]
fn join_handle_returns_output_and_detaches_on_drop() {
    within(20, || {
        rt().block_on(async {
            assert_eq!(weft::spawn(async { 7 }).await.unwrap(), 7);
            let ran = Arc::new(Signal::default());
            let flag = Arc::clone(&ran);
            drop(weft::spawn(async move {
                sleep(Duration::from_millis(2)).await;
                flag.set();
            }));
            // The detached task still runs to completion.
            std::future::poll_fn(|cx| ran.poll(cx)).await;
        })
    });
}

#[test]
fn abort_cancels_at_the_next_yield_and_drops_the_future() {
    within(20, || {
        rt().block_on(async {
            let (probe, drops, _) = DropProbe::new();
            let handle = weft::spawn(async move {
                let _probe = probe;
                std::future::pending::<()>().await;
            });
            yield_now().await; // let it start and park
            assert!(!handle.is_finished());
            handle.abort();
            let err = handle.await.unwrap_err();
            assert!(err.is_cancelled());
            assert!(!err.is_panic());
            assert_eq!(drops.load(Ordering::SeqCst), 1);
            assert!(err.to_string().contains("cancelled"), "{err}");
        })
    });
}

#[test]
fn abort_before_first_poll_never_polls() {
    within(20, || {
        rt().block_on(async {
            let polled = Arc::new(AtomicBool::new(false));
            let flag = Arc::clone(&polled);
            let handle = weft::spawn(async move { flag.store(true, Ordering::SeqCst) });
            handle.abort();
            assert!(handle.await.unwrap_err().is_cancelled());
            assert!(!polled.load(Ordering::SeqCst));
        })
    });
}

#[test]
fn abort_after_completion_keeps_the_output() {
    within(20, || {
        rt().block_on(async {
            let handle = weft::spawn(async { "done" });
            while !handle.is_finished() {
                yield_now().await;
            }
            handle.abort();
            assert_eq!(handle.await.unwrap(), "done");
        })
    });
}

#[test]
fn a_task_aborting_itself_stops_at_its_next_yield() {
    within(20, || {
        rt().block_on(async {
            let slot: Arc<Mutex<Option<weft::task::AbortHandle>>> = Arc::default();
            let reached = Arc::new(AtomicBool::new(false));
            let (inner_slot, inner_reached) = (Arc::clone(&slot), Arc::clone(&reached));
            let handle = weft::spawn(async move {
                yield_now().await;
                inner_slot.lock().unwrap().as_ref().unwrap().abort();
                yield_now().await;
                inner_reached.store(true, Ordering::SeqCst);
            });
            *slot.lock().unwrap() = Some(handle.abort_handle());
            assert!(handle.await.unwrap_err().is_cancelled());
            assert!(!reached.load(Ordering::SeqCst));
        })
    });
}

#[test]
fn abort_handle_works_from_another_thread() {
    within(20, || {
        rt().block_on(async {
            let handle = weft::spawn(std::future::pending::<()>());
            let abort = handle.abort_handle();
            let id = handle.id();
            assert_eq!(abort.id(), id);
            thread::spawn(move || abort.abort()).join().unwrap();
            let err = handle.await.unwrap_err();
            assert!(err.is_cancelled());
            assert_eq!(err.id(), id);
        })
    });
}

#[test]
fn a_panicking_task_yields_a_join_error_and_the_runtime_keeps_going() {
    within(20, || {
        let rt = rt();
        rt.block_on(async {
            let err = weft::spawn(async {
                yield_now().await;
                panic!("boom in a task");
            })
            .await
            .unwrap_err();
            assert!(err.is_panic());
            assert!(!err.is_cancelled());
            assert!(format!("{err}").contains("boom in a task"), "{err}");
            assert!(format!("{err:?}").contains("boom in a task"), "{err:?}");
            let payload = err.into_panic();
            assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom in a task"));
            // Still alive: new tasks, timers and I/O work.
            assert_eq!(weft::spawn(async { 1 }).await.unwrap(), 1);
            sleep(Duration::from_millis(1)).await;
        });
        // And the runtime can be entered again after the panic.
        assert_eq!(
            rt.block_on(async { weft::spawn(async { 2 }).await.unwrap() }),
            2
        );
    });
}

#[test]
fn try_into_panic_gives_back_a_cancelled_error() {
    within(20, || {
        rt().block_on(async {
            let handle = weft::spawn(std::future::pending::<()>());
            handle.abort();
            let err = handle.await.unwrap_err();
            let err = err.try_into_panic().unwrap_err();
            assert!(err.is_cancelled());
        })
    });
}

#[test]
fn handle_spawns_from_a_foreign_thread() {
    within(20, || {
        let rt = rt();
        let handle = rt.handle().clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let sent = Arc::new(Signal::default());
        let signal = Arc::clone(&sent);
        let spawner = thread::spawn(move || {
            let loop_thread = handle.spawn(async { thread::current().id() });
            tx.send(loop_thread).unwrap();
            signal.set();
        });
        let loop_id = thread::current().id();
        let ran_on = rt.block_on(async move {
            // The JoinHandle arrives from the other thread; the loop is
            // parked meanwhile and must be woken through the eventfd.
            std::future::poll_fn(|cx| sent.poll(cx)).await;
            rx.recv().unwrap().await.unwrap()
        });
        spawner.join().unwrap();
        assert_eq!(ran_on, loop_id, "the task ran on the runtime's thread");
    });
}

#[test]
fn foreign_spawn_wakes_a_loop_parked_without_timers() {
    // The loop has nothing to do and no timer: only the eventfd can wake it.
    within(20, || {
        let rt = rt();
        let handle = rt.handle().clone();
        let started = Arc::new(Signal::default());
        let flag = Arc::clone(&started);
        let spawner = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            let task = handle.spawn(async move { flag.set() });
            drop(task);
        });
        rt.block_on(async {
            let signal = Arc::clone(&started);
            std::future::poll_fn(|cx| signal.poll(cx)).await
        });
        spawner.join().unwrap();
    });
}

#[test]
fn handle_block_on_from_another_thread_while_the_loop_runs() {
    within(20, || {
        let rt = rt();
        let handle = rt.handle().clone();
        let done = Arc::new(Signal::default());
        let signal = Arc::clone(&done);
        let other = thread::spawn(move || {
            let out = handle.block_on(async {
                let task = weft::spawn(async {
                    sleep(Duration::from_millis(2)).await;
                    21
                });
                task.await.unwrap() * 2
            });
            signal.set();
            out
        });
        rt.block_on(std::future::poll_fn(|cx| done.poll(cx)));
        assert_eq!(other.join().unwrap(), 42);
    });
}

#[test]
fn a_block_on_waiting_for_the_loop_takes_it_when_the_holder_returns() {
    // Thread B's `block_on` finds the loop held by this thread's, queues a
    // task and sleeps; this thread's `block_on` then returns, and only after
    // that is B's task woken. The return must wake B to take the loop over:
    // otherwise nobody runs the task and B sleeps until `within` fails.
    within(60, || {
        let rt = rt();
        for _ in 0..200 {
            let handle = rt.handle().clone();
            let go = Arc::new(Signal::default());
            let queued = Arc::new(Signal::default());
            let (go_b, queued_b) = (Arc::clone(&go), Arc::clone(&queued));
            let b = rt.block_on(async move {
                let b = thread::spawn(move || {
                    handle.block_on(async move {
                        let task = weft::spawn(async move {
                            std::future::poll_fn(|cx| go_b.poll(cx)).await;
                            7
                        });
                        queued_b.set();
                        task.await.unwrap()
                    })
                });
                std::future::poll_fn(|cx| queued.poll(cx)).await;
                b
            });
            go.set();
            assert_eq!(b.join().unwrap(), 7);
        }
    });
}

#[test]
fn handle_current_and_try_current() {
    let err = Handle::try_current().unwrap_err();
    assert!(err.is_missing_context());
    assert!(err.to_string().contains("no weft runtime"), "{err}");
    let panic = std::panic::catch_unwind(Handle::current).unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("no weft runtime"), "{message}");
    let spawn_panic = std::panic::catch_unwind(|| weft::spawn(async {})).unwrap_err();
    let message = spawn_panic
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("weft::spawn"), "{message}");

    let rt = rt();
    rt.block_on(async {
        let handle = Handle::current();
        assert_eq!(handle.spawn(async { 3 }).await.unwrap(), 3);
    });
    let _guard = rt.enter();
    assert!(Handle::try_current().is_ok());
}

#[test]
fn block_on_inside_the_loop_panics_instead_of_deadlocking() {
    within(20, || {
        let rt = rt();
        let handle = rt.handle().clone();
        let result =
            rt.block_on(async move { weft::spawn(async move { handle.block_on(async {}) }).await });
        let err = result.unwrap_err();
        assert!(err.is_panic());
        assert!(
            err.to_string().contains("cannot block_on inside a runtime"),
            "{err}"
        );
    });
}

#[test]
fn dropping_the_runtime_drops_every_pending_future_exactly_once() {
    within(20, || {
        let rt = rt();
        let mut counters = Vec::new();
        let runtime_thread = thread::current().id();
        // Kept alive past the runtime: a task waiting on it must still be dropped.
        let (_keep, mut listener_side) = (0, None);
        rt.block_on(async {
            // 1. pending forever, no waker stored anywhere
            let (probe, drops, on) = DropProbe::new();
            counters.push((drops, on));
            weft::spawn(async move {
                let _p = probe;
                std::future::pending::<()>().await
            });
            // 2. waiting on a timer (waker in the wheel)
            let (probe, drops, on) = DropProbe::new();
            counters.push((drops, on));
            weft::spawn(async move {
                let _p = probe;
                sleep(Duration::from_secs(3600)).await
            });
            // 3. waiting on a socket (waker in the readiness slab)
            let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let (probe, drops, on) = DropProbe::new();
            counters.push((drops, on));
            weft::spawn(async move {
                let _p = probe;
                let _ = listener.accept().await;
            });
            // 4. a local task
            let (probe, drops, on) = DropProbe::new();
            counters.push((drops, on));
            spawn_local(async move {
                let _p = probe;
                std::future::pending::<()>().await
            });
            // 5. its drop spawns another task, which must be dropped too
            let (probe, drops, on) = DropProbe::new();
            counters.push((drops, on));
            struct SpawnOnDrop(Option<DropProbe>);
            impl Drop for SpawnOnDrop {
                fn drop(&mut self) {
                    let probe = self.0.take();
                    let _ = Handle::try_current().map(|h| {
                        h.spawn(async move {
                            let _p = probe;
                            std::future::pending::<()>().await
                        })
                    });
                }
            }
            let spawner = SpawnOnDrop(Some(probe));
            weft::spawn(async move {
                let _s = spawner;
                std::future::pending::<()>().await
            });
            yield_now().await;
            yield_now().await;
            listener_side = Some(addr);
        });
        // 6. queued but never polled
        let (probe, drops, on) = DropProbe::new();
        counters.push((drops, on));
        rt.spawn(async move {
            let _p = probe;
        });
        drop(rt);
        assert!(listener_side.is_some());
        for (i, (drops, on)) in counters.iter().enumerate() {
            assert_eq!(
                drops.load(Ordering::SeqCst),
                1,
                "future {} dropped wrong number of times",
                i + 1
            );
            assert_eq!(
                *on.lock().unwrap(),
                Some(runtime_thread),
                "future {} dropped elsewhere",
                i + 1
            );
        }
    });
}

#[test]
fn spawn_after_shutdown_is_cancelled_not_leaked() {
    within(20, || {
        let rt = rt();
        let handle = rt.handle().clone();
        drop(rt);
        let (probe, drops, _) = DropProbe::new();
        let join = handle.spawn(async move {
            let _p = probe;
        });
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert!(join.is_finished());
    });
}

#[test]
fn a_task_that_yields_forever_does_not_starve_timers_or_io() {
    within(20, || {
        rt().block_on(async {
            let spinner = weft::spawn(async {
                loop {
                    yield_now().await;
                }
            });
            // A timer fires although the run queue never empties.
            sleep(Duration::from_millis(5)).await;
            // And I/O makes progress too.
            let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let accept = weft::spawn(async move { listener.accept().await.map(|_| ()) });
            weft::net::TcpStream::connect(addr).await.unwrap();
            accept.await.unwrap().unwrap();
            spinner.abort();
            assert!(spinner.await.unwrap_err().is_cancelled());
        })
    });
}

#[test]
fn a_task_always_ready_on_io_is_made_to_yield() {
    // A reader whose socket always has data never returns Pending on its
    // own; the cooperative budget must still let a timer fire.
    within(20, || {
        rt().block_on(async {
            use weft::io::AsyncWriteExt;
            let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let mut client = weft::net::TcpStream::connect(addr).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            client.write_all(&[7u8; 4096]).await.unwrap();
            let stop = Arc::new(AtomicBool::new(false));
            let flag = Arc::clone(&stop);
            let greedy = weft::spawn(async move {
                let mut one = [0u8; 1];
                let mut n = 0u64;
                // Peek never consumes: the socket stays readable forever.
                while !flag.load(Ordering::SeqCst) {
                    server.peek(&mut one).await.unwrap();
                    n += 1;
                }
                n
            });
            sleep(Duration::from_millis(5)).await;
            stop.store(true, Ordering::SeqCst);
            let peeks = greedy.await.unwrap();
            assert!(peeks > 0);
            drop(client);
        })
    });
}

#[test]
fn spawn_local_runs_non_send_futures_on_the_loop_thread() {
    within(20, || {
        let rt = rt();
        let here = thread::current().id();
        rt.block_on(async move {
            let rc = std::rc::Rc::new(std::cell::Cell::new(0));
            let inner = rc.clone();
            let task = spawn_local(async move {
                yield_now().await;
                inner.set(inner.get() + 1);
                thread::current().id()
            });
            assert_eq!(task.await.unwrap(), here);
            assert_eq!(rc.get(), 1);
        });
    });
    let err = std::panic::catch_unwind(|| spawn_local(async {})).unwrap_err();
    let message = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("not running a weft runtime"), "{message}");
}

#[test]
fn block_on_future_panics_propagate_and_the_runtime_stays_usable() {
    within(20, || {
        let rt = rt();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(async { panic!("main future panicked") })
        }));
        assert!(caught.is_err());
        assert_eq!(
            rt.block_on(async { weft::spawn(async { 9 }).await.unwrap() }),
            9
        );
    });
}

#[test]
fn a_runtime_kept_in_a_thread_local_shuts_down_at_thread_exit() {
    // The runtime's thread-local is created first, so (destructors running
    // in reverse order) it is dropped after weft's own thread-locals are
    // gone. Shutting down must still drop every future, without a panic
    // (which would abort the process here).
    thread_local! {
        static KEPT: std::cell::RefCell<Option<weft::runtime::Runtime>> =
            const { std::cell::RefCell::new(None) };
    }
    within(20, || {
        let (probe, drops, _) = DropProbe::new();
        let (queued, queued_drops, _) = DropProbe::new();
        thread::spawn(move || {
            KEPT.with(|slot| drop(slot.borrow()));
            let rt = rt();
            rt.block_on(async move {
                weft::spawn(async move {
                    let _p = probe;
                    sleep(Duration::from_secs(3600)).await;
                });
                yield_now().await;
            });
            rt.spawn(async move {
                let _p = queued;
            });
            KEPT.with(|slot| *slot.borrow_mut() = Some(rt));
        })
        .join()
        .expect("thread exit with a runtime in a thread-local");
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert_eq!(queued_drops.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn a_task_spawned_by_the_park_hook_of_a_current_thread_runtime_runs() {
    // The hook runs just before the loop blocks in epoll_wait with no
    // timeout; a task it spawns (or a wake it makes) must keep the loop
    // from blocking, with no other event to come.
    within(30, || {
        let spawned = Arc::new(AtomicBool::new(false));
        let ran = Arc::new(Signal::default());
        let (spawned_in_hook, ran_in_hook) = (Arc::clone(&spawned), Arc::clone(&ran));
        let rt = weft::runtime::Builder::new_current_thread()
            .on_thread_park(move || {
                if !spawned_in_hook.swap(true, Ordering::SeqCst) {
                    let ran = Arc::clone(&ran_in_hook);
                    weft::spawn(async move { ran.set() });
                }
            })
            .build()
            .unwrap();
        rt.block_on(ran.wait());
        assert!(spawned.load(Ordering::SeqCst));
    });
}

/// Spawns `busy` (which returns whether `other` had run when it finished)
/// and, after it, a task that only sets `other`; returns `busy`'s answer.
/// On a current-thread runtime `other` can run before `busy` finishes only
/// if `busy` yields.
fn other_ran_before_busy_finished<F, Fut>(busy: F) -> bool
where
    F: FnOnce(Arc<AtomicBool>) -> Fut,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    rt().block_on(async {
        let other = Arc::new(AtomicBool::new(false));
        let busy = weft::spawn(busy(Arc::clone(&other)));
        let flag = Arc::clone(&other);
        let other_task = weft::spawn(async move { flag.store(true, Ordering::SeqCst) });
        let answer = busy.await.unwrap();
        other_task.await.unwrap();
        answer
    })
}

#[test]
fn consume_budget_yields_once_the_budget_is_spent_and_unconstrained_never_does() {
    within(20, || {
        let yielded = other_ran_before_busy_finished(|other| async move {
            for _ in 0..1_000 {
                weft::task::consume_budget().await;
            }
            other.load(Ordering::SeqCst)
        });
        assert!(yielded, "1,000 units of budget were spent without a yield");

        // The re-exports and the module's items are the same functions.
        let yielded = other_ran_before_busy_finished(|other| {
            weft::task::unconstrained(async move {
                for _ in 0..1_000 {
                    weft::task::coop::consume_budget().await;
                }
                assert!(weft::task::coop::has_budget_remaining());
                other.load(Ordering::SeqCst)
            })
        });
        assert!(!yielded, "an unconstrained future was made to yield");
    });
}

#[test]
fn a_task_poll_has_a_budget_of_128_units() {
    within(20, || {
        rt().block_on(async {
            let spent = weft::spawn(async {
                let mut spent = 0;
                while weft::task::coop::has_budget_remaining() {
                    weft::task::consume_budget().await;
                    spent += 1;
                }
                // The next unit is not there: this one yields.
                let mut next = std::pin::pin!(weft::task::consume_budget());
                assert!(futures_util::poll!(next.as_mut()).is_pending());
                next.await;
                assert!(weft::task::coop::has_budget_remaining());
                spent
            });
            assert_eq!(spent.await.unwrap(), 128);
        })
    });
}

/// An always-ready stream that spends the budget through `poll_proceed`.
struct Numbers {
    next: u32,
    end: u32,
}

impl futures_core::Stream for Numbers {
    type Item = u32;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<u32>> {
        let coop = std::task::ready!(weft::task::coop::poll_proceed(cx));
        if self.next == self.end {
            // Nothing produced: the unit goes back when `coop` drops.
            return std::task::Poll::Ready(None);
        }
        self.next += 1;
        coop.made_progress();
        std::task::Poll::Ready(Some(self.next))
    }
}

#[test]
fn poll_proceed_and_cooperative_make_always_ready_futures_yield() {
    use futures_util::StreamExt;
    within(20, || {
        let yielded = other_ran_before_busy_finished(|other| async move {
            let mut numbers = Numbers {
                next: 0,
                end: 1_000,
            };
            let mut sum = 0u64;
            while let Some(n) = numbers.next().await {
                sum += u64::from(n);
            }
            assert_eq!(sum, 500_500);
            other.load(Ordering::SeqCst)
        });
        assert!(yielded, "poll_proceed never ran out");

        let yielded = other_ran_before_busy_finished(|other| async move {
            for _ in 0..1_000 {
                weft::task::coop::cooperative(std::future::ready(())).await;
            }
            other.load(Ordering::SeqCst)
        });
        assert!(yielded, "cooperative never ran out");
    });
}

#[test]
fn a_restore_on_pending_dropped_without_progress_gives_the_unit_back() {
    within(20, || {
        rt().block_on(async {
            let left = weft::spawn(async {
                std::future::poll_fn(|cx| {
                    // 1,000 attempts that make no progress spend nothing.
                    for _ in 0..1_000 {
                        let coop = std::task::ready!(weft::task::coop::poll_proceed(cx));
                        drop(coop);
                    }
                    std::task::Poll::Ready(weft::task::coop::has_budget_remaining())
                })
                .await
            });
            assert!(left.await.unwrap());
        })
    });
}

/// Records `weft::task::try_id()` when dropped.
struct IdOnDrop(Arc<Mutex<Option<Option<weft::task::Id>>>>);

impl Drop for IdOnDrop {
    fn drop(&mut self) {
        *self.0.lock().unwrap() = Some(weft::task::try_id());
    }
}

fn id_slot() -> Arc<Mutex<Option<Option<weft::task::Id>>>> {
    Arc::new(Mutex::new(None))
}

#[test]
fn task_id_inside_a_task_is_its_join_handle_s_id() {
    within(20, || {
        for rt in [
            rt(),
            weft::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .unwrap(),
        ] {
            rt.block_on(async {
                let (tx, rx) = std::sync::mpsc::channel();
                let a = weft::spawn(async move {
                    yield_now().await;
                    let id = weft::task::id();
                    assert_eq!(weft::task::try_id(), Some(id));
                    tx.send(id).unwrap();
                    weft::task::id()
                });
                let b = weft::spawn(async { weft::task::id() });
                let (a_id, b_id) = (a.id(), b.id());
                assert_eq!(a.await.unwrap(), a_id);
                assert_eq!(rx.recv().unwrap(), a_id);
                assert_eq!(b.await.unwrap(), b_id);
                assert_ne!(a_id, b_id);
                // The block_on future itself is not a task.
                assert_eq!(weft::task::try_id(), None);
            });
        }
        assert_eq!(weft::task::try_id(), None);
    });
}

#[test]
fn task_id_outside_a_task_panics_and_try_id_is_none() {
    within(20, || {
        assert_eq!(weft::task::try_id(), None);
        let message = |payload: Box<dyn std::any::Any + Send>| {
            payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap()
        };
        let outside = message(std::panic::catch_unwind(weft::task::id).unwrap_err());
        assert!(outside.contains("outside a task"), "{outside}");
        let in_block_on = message(
            std::panic::catch_unwind(|| rt().block_on(async { weft::task::id() })).unwrap_err(),
        );
        assert!(in_block_on.contains("outside a task"), "{in_block_on}");
    });
}

#[test]
fn task_id_inside_spawn_blocking_and_spawn_local() {
    within(20, || {
        rt().block_on(async {
            let job = weft::task::spawn_blocking(weft::task::id);
            let job_id = job.id();
            assert_eq!(job.await.unwrap(), job_id);
            let local = spawn_local(async { weft::task::id() });
            let local_id = local.id();
            assert_eq!(local.await.unwrap(), local_id);
        })
    });
}

#[test]
fn a_task_s_future_sees_its_id_when_dropped_on_completion_abort_or_shutdown() {
    within(20, || {
        let rt = rt();
        rt.block_on(async {
            // Completed: the future is dropped right after its last poll.
            let seen = id_slot();
            let probe = IdOnDrop(Arc::clone(&seen));
            let handle = weft::spawn(async move {
                let _probe = probe;
            });
            let id = handle.id();
            handle.await.unwrap();
            assert_eq!(*seen.lock().unwrap(), Some(Some(id)));

            // Aborted while pending.
            let seen = id_slot();
            let probe = IdOnDrop(Arc::clone(&seen));
            let handle = weft::spawn(async move {
                let _probe = probe;
                std::future::pending::<()>().await;
            });
            yield_now().await;
            let id = handle.id();
            handle.abort();
            assert!(handle.await.unwrap_err().is_cancelled());
            assert_eq!(*seen.lock().unwrap(), Some(Some(id)));
        });
        // Dropped by the runtime's shutdown.
        let seen = id_slot();
        let probe = IdOnDrop(Arc::clone(&seen));
        let id = rt.block_on(async move {
            let handle = weft::spawn(async move {
                let _probe = probe;
                std::future::pending::<()>().await;
            });
            yield_now().await;
            handle.id()
        });
        drop(rt);
        assert_eq!(*seen.lock().unwrap(), Some(Some(id)));
    });
}

#[test]
fn a_task_s_output_sees_its_id_when_dropped_by_its_join_handle_or_the_task() {
    within(20, || {
        rt().block_on(async {
            // The handle is dropped after the task completed: the handle's
            // drop drops the output, on the block_on thread, as the task.
            let seen = id_slot();
            let output = IdOnDrop(Arc::clone(&seen));
            let handle = weft::spawn(async move { output });
            while !handle.is_finished() {
                yield_now().await;
            }
            let id = handle.id();
            assert_eq!(*seen.lock().unwrap(), None);
            drop(handle);
            assert_eq!(*seen.lock().unwrap(), Some(Some(id)));

            // The handle is dropped first: the task drops its output.
            let seen = id_slot();
            let output = IdOnDrop(Arc::clone(&seen));
            let handle = weft::spawn(async move { output });
            let id = handle.id();
            drop(handle);
            while seen.lock().unwrap().is_none() {
                yield_now().await;
            }
            assert_eq!(*seen.lock().unwrap(), Some(Some(id)));
        })
    });
}

#[test]
fn a_task_polled_inside_another_s_block_in_place_leaves_the_outer_id() {
    within(20, || {
        let mt = weft::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        mt.block_on(async {
            weft::spawn(async {
                let outer = weft::task::id();
                weft::task::block_in_place(move || {
                    let inner_rt = rt();
                    let inner = inner_rt
                        .block_on(inner_rt.spawn(async { weft::task::id() }))
                        .unwrap();
                    assert_ne!(inner, outer);
                    assert_eq!(weft::task::try_id(), Some(outer));
                });
                assert_eq!(weft::task::id(), outer);
            })
            .await
            .unwrap();
        });
    });
}

#[test]
fn join_and_abort_handles_are_unwind_safe_as_tokio_s() {
    fn unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    // `Rc` is neither: the handle does not take it from its output.
    unwind_safe::<weft::task::JoinHandle<std::rc::Rc<std::cell::Cell<u8>>>>();
    unwind_safe::<weft::task::AbortHandle>();
    within(20, || {
        rt().block_on(async {
            let handle = weft::spawn(async { 5 });
            let abort = handle.abort_handle();
            // Usable inside `catch_unwind` without `AssertUnwindSafe`.
            let id = std::panic::catch_unwind(|| (handle.id(), abort.id())).unwrap();
            assert_eq!(id.0, id.1);
            assert_eq!(handle.await.unwrap(), 5);
        })
    });
}

#[test]
fn enter_guards_dropped_out_of_order_panic_as_tokio_s() {
    // tokio's `interleave_enter_different_rt` / `interleave_enter_same_rt`.
    for same in [false, true] {
        let rt1 = rt();
        let rt2 = rt();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let first = rt1.enter();
            let second = if same { rt1.enter() } else { rt2.enter() };
            drop(first);
            drop(second);
        }));
        let err = result.expect_err("out-of-order drop must panic");
        let message = err.downcast_ref::<&str>().copied().unwrap_or_default();
        assert!(message.contains("dropped out of order"), "{message}");
    }
    // In order, nesting works, and nothing stays entered afterwards.
    let (rt1, rt2) = (rt(), rt());
    {
        let _first = rt1.enter();
        let _second = rt2.enter();
    }
    assert!(weft::runtime::Handle::try_current().is_err());
}

#[test]
fn a_panic_in_a_task_output_s_drop_stays_in_the_join_handle_s_drop() {
    // tokio's `test_panics_do_not_propagate_when_dropping_join_handle`.
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("the output's drop panics");
        }
    }
    within(20, || {
        rt().block_on(async {
            let handle = weft::spawn(async { PanicOnDrop });
            // Let it complete, so the output waits in the handle.
            while !handle.is_finished() {
                weft::task::yield_now().await;
            }
            drop(handle);
        });
    });
}

#[test]
fn panics_point_at_the_caller() {
    // tokio's `into_panic_panic_caller` and `block_in_place_panic_caller`.
    fn location_of(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let (tx, rx) = std::sync::mpsc::channel();
        let previous = std::panic::take_hook();
        // Only this thread's panics: tests run in parallel.
        let me = std::thread::current().id();
        let tx = std::sync::Mutex::new(tx);
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().id() == me {
                let location = info.location().map(|l| l.file().to_owned());
                let _ = tx.lock().unwrap().send(location);
            }
        }));
        let _ = std::panic::catch_unwind(f);
        std::panic::set_hook(previous);
        rx.try_iter().next().flatten().unwrap_or_default()
    }
    let cancelled = rt().block_on(async {
        let handle = weft::spawn(std::future::pending::<()>());
        handle.abort();
        handle.await.unwrap_err()
    });
    let file = location_of(move || {
        cancelled.into_panic();
    });
    assert!(file.ends_with("task.rs"), "into_panic blamed {file}");
    let file = location_of(|| {
        rt().block_on(async { weft::task::block_in_place(|| {}) });
    });
    assert!(file.ends_with("task.rs"), "block_in_place blamed {file}");
}

#[test]
fn enter_guards_dropped_out_of_order_twice_still_leave_the_thread_outside() {
    // Guards 1, 2, 3; drop 2 (panics), then 1 (panics), then 3: the
    // restores of 2 and 1 come due in turn, and no runtime stays current.
    let (rt1, rt2, rt3) = (rt(), rt(), rt());
    let first = rt1.enter();
    let second = rt2.enter();
    let third = rt3.enter();
    for guard in [second, first] {
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(guard)));
        assert!(dropped.is_err(), "an out-of-order drop panics");
    }
    drop(third);
    assert!(weft::runtime::Handle::try_current().is_err());
}

#[test]
fn a_leaked_enter_guard_inside_a_blocking_job_costs_the_pool_nothing() {
    // `mem::forget` of a guard is safe code: the job's own scope ends
    // regardless, and the pool thread goes on running jobs.
    within(30, || {
        let rt = weft::runtime::Builder::new_current_thread()
            .max_blocking_threads(1)
            .build()
            .unwrap();
        let other = weft::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let other_handle = other.handle().clone();
        rt.block_on(async move {
            weft::task::spawn_blocking(move || std::mem::forget(other_handle.enter()))
                .await
                .unwrap();
            // The one pool thread is still alive and runs the next job.
            assert_eq!(weft::task::spawn_blocking(|| 5).await.unwrap(), 5);
        });
        let begin = std::time::Instant::now();
        drop(rt);
        assert!(
            begin.elapsed() < std::time::Duration::from_secs(10),
            "the drop waited for a pool thread that had died"
        );
        drop(other);
    });
}

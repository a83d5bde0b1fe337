//! `task_local!`: tokio's tests/task_local.rs converted by renaming (each
//! test bounded by `within`), then weft's own checks.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use weft::sync::oneshot;

use common::within;
use weft::runtime::Builder;

/// Runs a test body on a current-thread runtime, bounded in time
/// (tokio's `#[tokio::test]`).
fn run(body: impl Future<Output = ()> + Send + 'static) {
    within(30, move || common::rt().block_on(body))
}

/// As [`run`], on a multi-thread runtime (tokio's
/// `#[tokio::test(flavor = "multi_thread")]`).
fn run_multi_thread(body: impl Future<Output = ()> + Send + 'static) {
    within(30, move || {
        Builder::new_multi_thread().build().unwrap().block_on(body)
    })
}

// ===== tokio's tests/task_local.rs =====

#[test]
fn local() {
    run_multi_thread(async {
        weft::task_local! {
            static REQ_ID: u32;
            pub static FOO: bool;
        }

        let j1 = weft::spawn(REQ_ID.scope(1, async move {
            assert_eq!(REQ_ID.get(), 1);
            assert_eq!(REQ_ID.get(), 1);
        }));

        let j2 = weft::spawn(REQ_ID.scope(2, async move {
            REQ_ID.with(|v| {
                assert_eq!(REQ_ID.get(), 2);
                assert_eq!(*v, 2);
            });

            weft::time::sleep(std::time::Duration::from_millis(10)).await;

            assert_eq!(REQ_ID.get(), 2);
        }));

        let j3 = weft::spawn(FOO.scope(true, async move {
            assert!(FOO.get());
        }));

        j1.await.unwrap();
        j2.await.unwrap();
        j3.await.unwrap();
    });
}

#[test]
fn task_local_available_on_abort() {
    run(async {
        weft::task_local! {
            static KEY: u32;
        }

        struct MyFuture {
            tx_poll: Option<oneshot::Sender<()>>,
            tx_drop: Option<oneshot::Sender<u32>>,
        }
        impl Future for MyFuture {
            type Output = ();

            fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
                if let Some(tx_poll) = self.tx_poll.take() {
                    let _ = tx_poll.send(());
                }
                Poll::Pending
            }
        }
        impl Drop for MyFuture {
            fn drop(&mut self) {
                let _ = self.tx_drop.take().unwrap().send(KEY.get());
            }
        }

        let (tx_drop, rx_drop) = oneshot::channel();
        let (tx_poll, rx_poll) = oneshot::channel();

        let h = weft::spawn(KEY.scope(
            42,
            MyFuture {
                tx_poll: Some(tx_poll),
                tx_drop: Some(tx_drop),
            },
        ));

        rx_poll.await.unwrap();
        h.abort();
        assert_eq!(rx_drop.await.unwrap(), 42);

        let err = h.await.unwrap_err();
        if !err.is_cancelled() {
            if let Ok(panic) = err.try_into_panic() {
                std::panic::resume_unwind(panic);
            } else {
                panic!();
            }
        }
    });
}

#[test]
fn task_local_available_on_completion_drop() {
    run(async {
        weft::task_local! {
            static KEY: u32;
        }

        struct MyFuture {
            tx: Option<oneshot::Sender<u32>>,
        }
        impl Future for MyFuture {
            type Output = ();

            fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
                Poll::Ready(())
            }
        }
        impl Drop for MyFuture {
            fn drop(&mut self) {
                let _ = self.tx.take().unwrap().send(KEY.get());
            }
        }

        let (tx, rx) = oneshot::channel();

        let h = weft::spawn(KEY.scope(42, MyFuture { tx: Some(tx) }));

        assert_eq!(rx.await.unwrap(), 42);
        h.await.unwrap();
    });
}

#[test]
fn take_value() {
    run(async {
        weft::task_local! {
            static KEY: u32
        }
        let fut = KEY.scope(1, async {});
        let mut pinned = Box::pin(fut);
        assert_eq!(pinned.as_mut().take_value(), Some(1));
        assert_eq!(pinned.as_mut().take_value(), None);
    });
}

#[test]
fn poll_after_take_value_should_fail() {
    run(async {
        weft::task_local! {
            static KEY: u32
        }
        let fut = KEY.scope(1, async {
            let result = KEY.try_with(|_| {});
            // The task local value no longer exists.
            assert!(result.is_err());
        });
        let mut fut = Box::pin(fut);
        fut.as_mut().take_value();

        // Poll the future after `take_value` has been called
        fut.await;
    });
}

#[test]
fn get_value() {
    run(async {
        weft::task_local! {
            static KEY: u32
        }

        KEY.scope(1, async {
            assert_eq!(KEY.get(), 1);
            assert_eq!(KEY.try_get().unwrap(), 1);
        })
        .await;

        let fut = KEY.scope(1, async {
            let result = KEY.try_get();
            // The task local value no longer exists.
            assert!(result.is_err());
        });
        let mut fut = Box::pin(fut);
        fut.as_mut().take_value();

        // Poll the future after `take_value` has been called
        fut.await;
    });
}

// ===== weft's own =====

weft::task_local! {
    static NUMBER: u32;
    pub static NAME: String;
}

#[test]
fn a_scope_s_value_follows_its_task_across_yields_and_threads() {
    within(30, || {
        let rt = Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        rt.block_on(async {
            let tasks: Vec<_> = (0..20u32)
                .map(|i| {
                    weft::spawn(NUMBER.scope(i, async move {
                        for _ in 0..50 {
                            assert_eq!(NUMBER.get(), i);
                            weft::task::yield_now().await;
                        }
                        NUMBER.get()
                    }))
                })
                .collect();
            for (i, task) in tasks.into_iter().enumerate() {
                assert_eq!(task.await.unwrap(), i as u32);
            }
        });
    });
}

#[test]
fn scopes_nest_and_unset_keys_are_errors() {
    within(30, || {
        common::rt().block_on(async {
            assert!(NUMBER.try_get().is_err());
            assert!(NUMBER.try_with(|_| ()).is_err());
            NUMBER
                .scope(1, async {
                    assert_eq!(NUMBER.get(), 1);
                    NUMBER
                        .scope(2, async {
                            assert_eq!(NUMBER.get(), 2);
                            weft::task::yield_now().await;
                            assert_eq!(NUMBER.get(), 2);
                        })
                        .await;
                    assert_eq!(NUMBER.get(), 1);
                    NAME.scope("weft".to_owned(), async {
                        NAME.with(|name| assert_eq!(name, "weft"));
                        assert_eq!(NUMBER.get(), 1);
                    })
                    .await;
                })
                .await;
            assert!(NUMBER.try_get().is_err());
            let err = NUMBER.try_get().unwrap_err();
            assert_eq!(err.to_string(), "task-local value not set");
            let missing = std::panic::catch_unwind(|| NUMBER.get()).unwrap_err();
            let message = missing.downcast_ref::<&str>().copied().unwrap_or_default();
            assert!(message.contains("without setting it first"), "{message}");
        });
    });
}

#[test]
fn sync_scope_and_take_value() {
    assert_eq!(NUMBER.sync_scope(5, || NUMBER.get() + 1), 6);
    assert!(NUMBER.try_get().is_err());
    within(30, || {
        common::rt().block_on(async {
            let mut scoped = std::pin::pin!(NUMBER.scope(9, async { NUMBER.try_get() }));
            assert_eq!(scoped.as_mut().take_value(), Some(9));
            // The scope's value is gone: the future runs without it.
            assert!(scoped.await.is_err());
        });
    });
}

#[test]
fn tasks_on_one_thread_see_only_their_own_values() {
    within(30, || {
        common::rt().block_on(async {
            let a = weft::spawn(NUMBER.scope(1, async {
                weft::task::yield_now().await;
                NUMBER.get()
            }));
            let b = weft::spawn(NUMBER.scope(2, async {
                weft::task::yield_now().await;
                NUMBER.get()
            }));
            let unscoped = weft::spawn(async {
                weft::task::yield_now().await;
                NUMBER.try_get().is_err()
            });
            assert_eq!(a.await.unwrap(), 1);
            assert_eq!(b.await.unwrap(), 2);
            assert!(unscoped.await.unwrap());
        });
    });
}

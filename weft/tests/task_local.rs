//! `task_local!`, as tokio's tests use it (tokio/tests/task_local.rs).

mod common;

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;

use common::within;
use weft::runtime::Builder;

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
fn the_value_is_set_while_an_aborted_task_s_future_drops() {
    // tokio's `task_local_available_on_abort`.
    struct CheckOnDrop(Arc<AtomicBool>);
    impl Drop for CheckOnDrop {
        fn drop(&mut self) {
            self.0.store(NUMBER.try_get() == Ok(42), SeqCst);
        }
    }
    within(30, || {
        common::rt().block_on(async {
            let saw = Arc::new(AtomicBool::new(false));
            let check = CheckOnDrop(Arc::clone(&saw));
            let task = weft::spawn(NUMBER.scope(42, async move {
                let _check = check;
                std::future::pending::<()>().await
            }));
            weft::task::yield_now().await;
            task.abort();
            assert!(task.await.unwrap_err().is_cancelled());
            assert!(
                saw.load(SeqCst),
                "the value was not set while the future dropped"
            );
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

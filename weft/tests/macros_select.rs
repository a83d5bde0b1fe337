//! `weft::select!`: tokio's tests/macros_select.rs converted by renaming,
//! then weft's own checks (random start, pattern mismatch, preconditions,
//! the coop budget on a runtime, the panic without `else`).
#![allow(clippy::disallowed_names)]
// The expansions hold no `unsafe` (the pinned tuple's projection is in weft).
#![forbid(unsafe_code)]

mod common;
#[path = "common/harness.rs"]
mod harness;

use harness::bounded;
use tokio_test::{assert_ok, assert_pending, assert_ready, task};

use std::cell::Cell;
use std::future::poll_fn;
use std::task::Poll::Ready;
use std::time::Duration;
use weft::sync::oneshot;

#[test]
fn sync_one_lit_expr_comma() {
    bounded(|| async {
        let foo = weft::select! {
            foo = async { 1 } => foo,
        };

        assert_eq!(foo, 1);
    });
}

#[test]
fn no_branch_else_only() {
    bounded(|| async {
        let foo = weft::select! {
            else => 1,
        };

        assert_eq!(foo, 1);
    });
}

#[test]
fn no_branch_else_only_biased() {
    bounded(|| async {
        let foo = weft::select! {
            biased;
            else => 1,
        };

        assert_eq!(foo, 1);
    });
}

#[test]
fn nested_one() {
    bounded(|| async {
        let foo = weft::select! {
            foo = async { 1 } => weft::select! {
                bar = async { foo } => bar,
            },
        };

        assert_eq!(foo, 1);
    });
}

#[test]
fn sync_one_lit_expr_no_comma() {
    bounded(|| async {
        let foo = weft::select! {
            foo = async { 1 } => foo
        };

        assert_eq!(foo, 1);
    });
}

#[test]
fn sync_one_lit_expr_block() {
    bounded(|| async {
        let foo = weft::select! {
            foo = async { 1 } => { foo }
        };

        assert_eq!(foo, 1);
    });
}

#[test]
fn sync_one_await() {
    bounded(|| async {
        let foo = weft::select! {
            foo = one() => foo,
        };

        assert_eq!(foo, 1);
    });
}

#[test]
fn sync_one_ident() {
    bounded(|| async {
        let one = one();

        let foo = weft::select! {
            foo = one => foo,
        };

        assert_eq!(foo, 1);
    });
}

#[test]
fn sync_two() {
    bounded(|| async {
        let cnt = Cell::new(0);

        let res = weft::select! {
            foo = async {
                cnt.set(cnt.get() + 1);
                1
            } => foo,
            bar = async {
                cnt.set(cnt.get() + 1);
                2
            } => bar,
        };

        assert_eq!(1, cnt.get());
        assert!(res == 1 || res == 2);
    });
}

#[test]
fn drop_in_fut() {
    bounded(|| async {
        let s = "hello".to_string();

        let res = weft::select! {
            foo = async {
                let v = one().await;
                drop(s);
                v
            } => foo
        };

        assert_eq!(res, 1);
    });
}

#[test]
fn one_ready() {
    bounded(|| async {
        let (tx1, rx1) = oneshot::channel::<i32>();
        let (_tx2, rx2) = oneshot::channel::<i32>();

        tx1.send(1).unwrap();

        let v = weft::select! {
            res = rx1 => {
                assert_ok!(res)
            },
            _ = rx2 => unreachable!(),
        };

        assert_eq!(1, v);
    });
}

#[test]
fn select_streams() {
    bounded(|| async {
        use weft::sync::mpsc;

        let (tx1, mut rx1) = mpsc::unbounded_channel::<i32>();
        let (tx2, mut rx2) = mpsc::unbounded_channel::<i32>();

        weft::spawn(async move {
            assert_ok!(tx2.send(1));
            weft::task::yield_now().await;

            assert_ok!(tx1.send(2));
            weft::task::yield_now().await;

            assert_ok!(tx2.send(3));
            weft::task::yield_now().await;

            drop((tx1, tx2));
        });

        let mut rem = true;
        let mut msgs = vec![];

        while rem {
            weft::select! {
                Some(x) = rx1.recv() => {
                    msgs.push(x);
                }
                Some(y) = rx2.recv() => {
                    msgs.push(y);
                }
                else => {
                    rem = false;
                }
            }
        }

        msgs.sort_unstable();
        assert_eq!(&msgs[..], &[1, 2, 3]);
    });
}

#[test]
fn move_uncompleted_futures() {
    bounded(|| async {
        let (tx1, mut rx1) = oneshot::channel::<i32>();
        let (tx2, mut rx2) = oneshot::channel::<i32>();

        tx1.send(1).unwrap();
        tx2.send(2).unwrap();

        let ran;

        weft::select! {
            res = &mut rx1 => {
                assert_eq!(1, assert_ok!(res));
                assert_eq!(2, assert_ok!(rx2.await));
                ran = true;
            },
            res = &mut rx2 => {
                assert_eq!(2, assert_ok!(res));
                assert_eq!(1, assert_ok!(rx1.await));
                ran = true;
            },
        }

        assert!(ran);
    });
}

#[test]
fn nested() {
    bounded(|| async {
        let res = weft::select! {
            x = async { 1 } => {
                weft::select! {
                    y = async { 2 } => x + y,
                }
            }
        };

        assert_eq!(res, 3);
    });
}

/// The same sizes as tokio's expansion: the futures, one pointer and the
/// disabled set, nothing boxed.
#[cfg(target_pointer_width = "64")]
mod pointer_64_tests {
    use super::bounded;
    use futures_util::future;
    use std::mem;

    #[test]
    fn struct_size_1() {
        bounded(|| async {
            let fut = async {
                let ready = future::ready(0i32);

                weft::select! {
                    _ = ready => {},
                }
            };

            assert_eq!(mem::size_of_val(&fut), 32);
        });
    }

    #[test]
    fn struct_size_2() {
        bounded(|| async {
            let fut = async {
                let ready1 = future::ready(0i32);
                let ready2 = future::ready(0i32);

                weft::select! {
                    _ = ready1 => {},
                    _ = ready2 => {},
                }
            };

            assert_eq!(mem::size_of_val(&fut), 40);
        });
    }

    #[test]
    fn struct_size_3() {
        bounded(|| async {
            let fut = async {
                let ready1 = future::ready(0i32);
                let ready2 = future::ready(0i32);
                let ready3 = future::ready(0i32);

                weft::select! {
                    _ = ready1 => {},
                    _ = ready2 => {},
                    _ = ready3 => {},
                }
            };

            assert_eq!(mem::size_of_val(&fut), 48);
        });
    }
}

#[test]
fn mutable_borrowing_future_with_same_borrow_in_block() {
    bounded(|| async {
        let mut value = 234;

        weft::select! {
            _ = require_mutable(&mut value) => { },
            _ = async_noop() => {
                value += 5;
            },
        }

        assert!(value >= 234);
    });
}

#[test]
fn mutable_borrowing_future_with_same_borrow_in_block_and_else() {
    bounded(|| async {
        let mut value = 234;

        weft::select! {
            _ = require_mutable(&mut value) => { },
            _ = async_noop() => {
                value += 5;
            },
            else => {
                value += 27;
            },
        }

        assert!(value >= 234);
    });
}

#[test]
fn future_panics_after_poll() {
    bounded(|| async {
        let (tx, rx) = oneshot::channel();

        let mut polled = false;

        let f = poll_fn(|_| {
            assert!(!polled);
            polled = true;
            Ready(None::<()>)
        });

        let mut f = task::spawn(async {
            weft::select! {
                Some(_) = f => unreachable!(),
                ret = rx => ret.unwrap(),
            }
        });

        assert_pending!(f.poll());
        assert_pending!(f.poll());

        assert_ok!(tx.send(1));

        let res = assert_ready!(f.poll());
        assert_eq!(1, res);
    });
}

#[test]
fn disable_with_if() {
    bounded(|| async {
        let f = poll_fn(|_| panic!());
        let (tx, rx) = oneshot::channel();

        let mut f = task::spawn(async {
            weft::select! {
                _ = f, if false => unreachable!(),
                _ = rx => (),
            }
        });

        assert_pending!(f.poll());

        assert_ok!(tx.send(()));
        assert!(f.is_woken());

        assert_ready!(f.poll());
    });
}

#[test]
fn join_with_select() {
    bounded(|| async {
        let (tx1, mut rx1) = oneshot::channel();
        let (tx2, mut rx2) = oneshot::channel();

        let mut f = task::spawn(async {
            let mut a = None;
            let mut b = None;

            while a.is_none() || b.is_none() {
                weft::select! {
                    v1 = &mut rx1, if a.is_none() => a = Some(assert_ok!(v1)),
                    v2 = &mut rx2, if b.is_none() => b = Some(assert_ok!(v2))
                }
            }

            (a.unwrap(), b.unwrap())
        });

        assert_pending!(f.poll());

        assert_ok!(tx1.send(123));
        assert!(f.is_woken());
        assert_pending!(f.poll());

        assert_ok!(tx2.send(456));
        assert!(f.is_woken());
        let (a, b) = assert_ready!(f.poll());

        assert_eq!(a, 123);
        assert_eq!(b, 456);
    });
}

#[test]
fn use_future_in_if_condition() {
    bounded(|| async {
        use weft::time::{self, Duration};

        weft::select! {
            _ = time::sleep(Duration::from_millis(10)), if false => {
                panic!("if condition ignored")
            }
            _ = async { 1u32 } => {
            }
        }
    });
}

#[test]
fn use_future_in_if_condition_biased() {
    bounded(|| async {
        use weft::time::{self, Duration};

        weft::select! {
            biased;
            _ = time::sleep(Duration::from_millis(10)), if false => {
                panic!("if condition ignored")
            }
            _ = async { 1u32 } => {
            }
        }
    });
}

#[test]
fn many_branches() {
    bounded(|| async {
        let num = weft::select! {
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
            x = async { 1 } => x,
        };

        assert_eq!(1, num);
    });
}

#[test]
fn never_branch_no_warnings() {
    bounded(|| async {
        let t = weft::select! {
            _ = async_never() => 0,
            one_async_ready = one() => one_async_ready,
        };
        assert_eq!(t, 1);
    });
}

async fn one() -> usize {
    1
}

async fn require_mutable(_: &mut i32) {}
async fn async_noop() {}

async fn async_never() -> ! {
    futures_util::future::pending().await
}

// From https://github.com/tokio-rs/tokio/issues/2857
#[test]
fn mut_on_left_hand_side() {
    bounded(|| async {
        let v = async move {
            let ok = async { 1 };
            weft::pin!(ok);
            weft::select! {
                mut a = &mut ok => {
                    a += 1;
                    a
                }
            }
        }
        .await;
        assert_eq!(v, 2);
    });
}

#[test]
fn biased_one_not_ready() {
    bounded(|| async {
        let (_tx1, rx1) = oneshot::channel::<i32>();
        let (tx2, rx2) = oneshot::channel::<i32>();
        let (tx3, rx3) = oneshot::channel::<i32>();

        tx2.send(2).unwrap();
        tx3.send(3).unwrap();

        let v = weft::select! {
            biased;

            _ = rx1 => unreachable!(),
            res = rx2 => {
                assert_ok!(res)
            },
            _ = rx3 => {
                panic!("This branch should never be activated because `rx2` should be polled before `rx3` due to `biased;`.")
            }
        };

        assert_eq!(2, v);
    });
}

#[test]
fn biased_eventually_ready() {
    bounded(|| async {
        use weft::task::yield_now;

        let one = async {};
        let two = async { yield_now().await };
        let three = async { yield_now().await };

        let mut count = 0u8;

        weft::pin!(one, two, three);

        loop {
            weft::select! {
                biased;

                _ = &mut two, if count < 2 => {
                    count += 1;
                    assert_eq!(count, 2);
                }
                _ = &mut three, if count < 3 => {
                    count += 1;
                    assert_eq!(count, 3);
                }
                _ = &mut one, if count < 1 => {
                    count += 1;
                    assert_eq!(count, 1);
                }
                else => break,
            }
        }

        assert_eq!(count, 3);
    });
}

// https://github.com/tokio-rs/tokio/issues/3830
// https://github.com/rust-lang/rust-clippy/issues/7304
#[warn(clippy::default_numeric_fallback)]
pub async fn default_numeric_fallback() {
    weft::select! {
        _ = async {} => (),
        else => (),
    }
}

// https://github.com/tokio-rs/tokio/issues/4182
#[test]
fn mut_ref_patterns() {
    bounded(|| async {
        weft::select! {
            Some(mut foo) = async { Some("1".to_string()) } => {
                assert_eq!(foo, "1");
                foo = "2".to_string();
                assert_eq!(foo, "2");
            },
        };

        weft::select! {
            Some(ref foo) = async { Some("1".to_string()) } => {
                assert_eq!(*foo, "1");
            },
        };

        weft::select! {
            Some(ref mut foo) = async { Some("1".to_string()) } => {
                assert_eq!(*foo, "1");
                *foo = "2".to_string();
                assert_eq!(*foo, "2");
            },
        };
    });
}

#[test]
fn select_into_future() {
    bounded(|| async {
        struct NotAFuture;
        impl std::future::IntoFuture for NotAFuture {
            type Output = ();
            type IntoFuture = std::future::Ready<()>;

            fn into_future(self) -> Self::IntoFuture {
                std::future::ready(())
            }
        }

        weft::select! {
            () = NotAFuture => {},
        }
    });
}

// regression test for https://github.com/tokio-rs/tokio/issues/6721
#[test]
fn temporary_lifetime_extension() {
    bounded(|| async {
        weft::select! {
            () = &mut std::future::ready(()) => {},
        }
    });
}

#[test]
fn select_is_budget_aware() {
    bounded(|| async {
        const BUDGET: usize = 128;

        let task = || {
            Box::pin(async move {
                weft::select! {
                    biased;

                    () = weft::task::coop::consume_budget() => {},
                    () = std::future::ready(()) => {}
                }
            })
        };

        for _ in 0..BUDGET {
            let poll = futures_util::poll!(&mut task());
            assert!(poll.is_ready());
        }

        let poll = futures_util::poll!(&mut task());
        assert!(poll.is_pending());
    });
}

// ===== weft's own checks =====

#[test]
fn default_start_is_random_and_biased_is_in_order() {
    bounded(|| async {
        let mut wins = [0u32; 2];
        for _ in 0..1_000 {
            let winner = weft::select! {
                a = async { 0 } => a,
                b = async { 1 } => b,
            };
            wins[winner] += 1;
        }
        // Each branch wins about half the time; both win at least once unless
        // the generator is broken (a fair coin failing 1,000 times in a row).
        assert!(wins[0] > 0 && wins[1] > 0, "{wins:?}");

        for _ in 0..100 {
            let winner = weft::select! {
                biased;
                a = async { 0 } => a,
                b = async { 1 } => b,
            };
            assert_eq!(winner, 0);
        }
    });
}

#[test]
fn a_mismatched_pattern_disables_the_branch_and_the_others_go_on() {
    bounded(|| async {
        let polls = Cell::new(0);
        let (tx, rx) = oneshot::channel::<u32>();
        let none_at_once = poll_fn(|_| {
            polls.set(polls.get() + 1);
            Ready(None::<u32>)
        });

        let mut f = task::spawn(async {
            weft::select! {
                Some(v) = none_at_once => v,
                Ok(v) = rx => v + 100,
            }
        });
        assert_pending!(f.poll());
        assert_pending!(f.poll());
        tx.send(5).unwrap();
        assert_eq!(assert_ready!(f.poll()), 105);
        assert_eq!(polls.get(), 1, "a disabled branch is not polled again");
    });
}

#[test]
fn a_false_precondition_evaluates_the_expression_but_never_polls() {
    bounded(|| async {
        let evaluated = Cell::new(false);
        let polled = Cell::new(false);
        let make = || {
            evaluated.set(true);
            poll_fn(|_| {
                polled.set(true);
                Ready(1)
            })
        };
        let v = weft::select! {
            v = make(), if false => v,
            v = async { 2 } => v,
        };
        assert_eq!(v, 2);
        assert!(
            evaluated.get(),
            "tokio evaluates a disabled branch's future"
        );
        assert!(!polled.get());
    });
}

#[test]
fn else_runs_when_every_branch_is_disabled() {
    bounded(|| async {
        let v = weft::select! {
            Some(v) = async { None::<u32> } => v,
            _ = async { 1 }, if false => 1,
            else => 99,
        };
        assert_eq!(v, 99);
    });
}

#[test]
#[should_panic(expected = "all branches are disabled and there is no else branch")]
fn no_else_panics_when_every_branch_is_disabled() {
    bounded(|| async {
        let _: u32 = weft::select! {
            Some(v) = async { None::<u32> } => v,
        };
    });
}

#[test]
fn not_unpin_futures_are_polled_in_place() {
    bounded(|| async {
        // An `async` block holding a reference across an await is `!Unpin`.
        let pinned_only = async {
            let x = 5;
            let r = &x;
            weft::task::yield_now().await;
            *r
        };
        let v = weft::select! {
            v = pinned_only => v,
        };
        assert_eq!(v, 5);
    });
}

#[test]
fn handlers_can_return_break_and_use_question_mark() {
    bounded(|| async {
        async fn inner() -> Result<u32, &'static str> {
            let x: u32 = weft::select! {
                r = async { Err::<u32, _>("boom") } => r?,
            };
            Ok(x)
        }
        assert_eq!(inner().await, Err("boom"));

        let mut n = 0;
        loop {
            weft::select! {
                _ = async {} => {
                    n += 1;
                    if n == 3 {
                        break;
                    }
                    continue;
                }
            }
        }
        assert_eq!(n, 3);
    });
}

#[test]
fn select_loop_on_always_ready_branches_yields_to_a_timer() {
    // A current-thread task selecting in a loop over a budget-aware branch
    // and an always-ready one: select!'s budget check makes it yield, so a
    // timer on the same thread fires and stops the loop.
    common::within(10, || {
        let rt = common::rt();
        rt.block_on(async {
            let fired = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let flag = fired.clone();
            let timer = weft::spawn(async move {
                weft::time::sleep(Duration::from_millis(10)).await;
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
            });
            let spinner = weft::spawn(async move {
                let mut rounds = 0u64;
                while !fired.load(std::sync::atomic::Ordering::SeqCst) {
                    weft::select! {
                        biased;
                        () = weft::task::coop::consume_budget() => {}
                        () = std::future::ready(()) => {}
                    }
                    rounds += 1;
                }
                rounds
            });
            timer.await.unwrap();
            assert!(spinner.await.unwrap() > 0);
        });
    });
}

#[test]
fn the_macros_make_send_futures_from_send_operands() {
    fn assert_send<T: Send>(_: &T) {}
    let fut = async {
        let a = weft::select! {
            v = async { 1 } => v,
            v = weft::task::yield_now() => { let () = v; 2 }
        };
        let (b, c) = weft::join!(async { 3 }, async { 4 });
        let d = weft::try_join!(async { Ok::<_, ()>(5) }).unwrap().0;
        a + b + c + d
    };
    assert_send(&fut);
    let rt = weft::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let total = common::within(30, move || {
        rt.block_on(async { weft::spawn(fut).await.unwrap() })
    });
    assert!(total == 13 || total == 14, "{total}");
}

#[test]
fn the_expansion_does_not_clash_with_the_caller_s_names() {
    bounded(|| async {
        // Names an expansion might use, as the caller's locals and items.
        #[allow(non_upper_case_globals, dead_code)]
        const BRANCHES: u32 = 99;
        enum Out {
            Disabled,
        }
        let futures = 1;
        let disabled = 2;
        let output = 3;
        let cx = 4;
        let start = 5;
        let v = weft::select! {
            biased;
            a = async { futures + disabled } => a + output + cx + start + BRANCHES as i32,
            _ = async { Out::Disabled } => 0,
        };
        assert_eq!(v, 1 + 2 + 3 + 4 + 5 + 99);
        let (x, y) = weft::join!(async { futures }, async { output });
        assert_eq!((x, y), (1, 3));
    });
}

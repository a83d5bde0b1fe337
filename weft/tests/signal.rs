//! Signals through the driver. Each test uses its own signals: signals are
//! process-wide and the tests run in parallel.

mod common;

use std::time::Duration;

use common::within;
use rustix::process::{getpid, kill_process, Signal as Sig};
use weft::signal::unix::{signal, SignalKind};

fn raise(sig: Sig) {
    kill_process(getpid(), sig).unwrap();
}

#[test]
fn each_listener_receives_its_own_signal() {
    within(30, || {
        common::rt().block_on(async {
            let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
            let mut usr2 = signal(SignalKind::user_defined2()).unwrap();
            raise(Sig::USR1);
            usr1.recv().await.unwrap();
            // USR2 has not been sent: nothing yet.
            assert!(weft::time::timeout(Duration::from_millis(20), usr2.recv())
                .await
                .is_err());
            raise(Sig::USR2);
            usr2.recv().await.unwrap();
        });
    });
}

#[test]
fn two_listeners_both_receive_one_signal_and_deliveries_coalesce() {
    within(30, || {
        common::rt().block_on(async {
            let mut a = signal(SignalKind::window_change()).unwrap();
            let mut b = signal(SignalKind::window_change()).unwrap();
            raise(Sig::WINCH);
            a.recv().await.unwrap();
            b.recv().await.unwrap();
            // Three while nobody waits: at least one delivery, not lost.
            for _ in 0..3 {
                raise(Sig::WINCH);
            }
            weft::time::sleep(Duration::from_millis(10)).await;
            a.recv().await.unwrap();
        });
    });
}

#[test]
fn listeners_on_two_runtimes_both_work() {
    within(30, || {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let other = std::thread::spawn(move || {
            common::rt().block_on(async {
                let mut hup = signal(SignalKind::hangup()).unwrap();
                ready_tx.send(()).unwrap();
                hup.recv().await.unwrap();
            })
        });
        weft::runtime::Runtime::new().unwrap().block_on(async {
            let mut hup = signal(SignalKind::hangup()).unwrap();
            // Both listeners exist before the signal is sent.
            ready_rx.recv().unwrap();
            raise(Sig::HUP);
            hup.recv().await.unwrap();
        });
        other.join().unwrap();
    });
}

#[test]
fn forbidden_signals_are_errors_naming_them() {
    within(30, || {
        common::rt().block_on(async {
            for (kind, name) in [
                (SignalKind::from_raw(9), "SIGKILL"),
                (SignalKind::from_raw(19), "SIGSTOP"),
                (SignalKind::from_raw(11), "SIGSEGV"),
                (SignalKind::from_raw(7), "SIGBUS"),
                (SignalKind::from_raw(4), "SIGILL"),
                (SignalKind::from_raw(8), "SIGFPE"),
                (SignalKind::from_raw(0), "signal 0"),
                (SignalKind::from_raw(99), "signal 99"),
            ] {
                let err = signal(kind).unwrap_err();
                assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
                assert!(err.to_string().contains(name), "{err}");
            }
        });
    });
}

#[test]
fn a_signal_delivered_while_nobody_listens_reaches_the_next_listener() {
    within(30, || {
        common::rt().block_on(async {
            let first = signal(SignalKind::quit()).unwrap();
            drop(first);
            // Delivered while nobody listens (the handler stays installed:
            // SIGQUIT's default action would kill the test). `raise`, not
            // `kill`: to this thread, so the handler has run when it returns.
            // SAFETY: `raise` has no preconditions.
            assert_eq!(unsafe { libc::raise(libc::SIGQUIT) }, 0);
            // The driver may turn meanwhile (the signal is not lost then
            // either: nobody listens, so it stays pending).
            weft::task::yield_now().await;
            let mut late = signal(SignalKind::quit()).unwrap();
            late.recv().await.unwrap();
            // It was delivered once: a listener created now does not see it
            // again, and `late` has nothing more.
            let mut later = signal(SignalKind::quit()).unwrap();
            assert!(weft::time::timeout(Duration::from_millis(30), later.recv())
                .await
                .is_err());
            assert!(weft::time::timeout(Duration::from_millis(30), late.recv())
                .await
                .is_err());
            raise(Sig::QUIT);
            late.recv().await.unwrap();
            later.recv().await.unwrap();
        });
    });
}

#[test]
fn ctrl_c_in_a_loop_does_not_lose_a_signal_between_iterations() {
    // The `loop { select! { _ = ctrl_c() => break, .. } }` shape: a fresh
    // listener per iteration; the signal lands while the loop body runs.
    within(30, || {
        common::rt().block_on(async {
            let mut iterations = 0;
            loop {
                iterations += 1;
                weft::select! {
                    biased;
                    _ = async {
                        signal(SignalKind::from_raw(libc::SIGURG))
                            .unwrap()
                            .recv()
                            .await
                    } => break,
                    () = weft::task::yield_now() => {
                        // `select!` has dropped the losing branch (the
                        // listener): the signal arrives now, while no
                        // listener exists.
                        if iterations == 3 {
                            // SAFETY: `raise` has no preconditions.
                            assert_eq!(unsafe { libc::raise(libc::SIGURG) }, 0);
                        }
                    }
                }
            }
            assert!(iterations > 3, "stopped before the signal was sent");
        });
    });
}

/// The handler now installed for `signal` (`SIG_DFL`, `SIG_IGN` or a
/// function's address).
fn disposition(signal: i32) -> libc::sighandler_t {
    // SAFETY: a null new action only reads the current one into a zeroed
    // `sigaction`.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        assert_eq!(libc::sigaction(signal, std::ptr::null(), &mut current), 0);
        current.sa_sigaction
    }
}

#[test]
fn listening_outside_a_runtime_fails_without_touching_the_disposition() {
    assert_eq!(disposition(libc::SIGALRM), libc::SIG_DFL);
    let err = signal(SignalKind::alarm()).unwrap_err();
    assert!(err.to_string().contains("runtime"), "{err}");
    assert_eq!(
        disposition(libc::SIGALRM),
        libc::SIG_DFL,
        "still the default action"
    );
}

static PREVIOUS_HANDLER_CALLS: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(0);

extern "C" fn previous_handler(_: libc::c_int) {
    PREVIOUS_HANDLER_CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

#[test]
fn a_handler_installed_before_weft_s_is_still_called() {
    within(30, || {
        // A plain (not `SA_SIGINFO`) handler, as a C library might install.
        // SAFETY: a zeroed `sigaction` with a valid handler of the plain
        // shape and an empty mask.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = previous_handler as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut action.sa_mask);
            assert_eq!(
                libc::sigaction(libc::SIGPWR, &action, std::ptr::null_mut()),
                0
            );
        }
        common::rt().block_on(async {
            let mut power = signal(SignalKind::from_raw(libc::SIGPWR)).unwrap();
            assert_ne!(
                disposition(libc::SIGPWR),
                previous_handler as extern "C" fn(libc::c_int) as usize,
                "weft's is in"
            );
            raise(Sig::POWER);
            power.recv().await.unwrap();
            // weft's handler calls the earlier one after waking the pipe, on
            // whichever thread took the signal: wait for it (bounded by
            // `within`), then check it ran exactly once.
            let calls = || PREVIOUS_HANDLER_CALLS.load(std::sync::atomic::Ordering::SeqCst);
            while calls() == 0 {
                weft::time::sleep(Duration::from_millis(1)).await;
            }
            assert_eq!(calls(), 1, "the earlier handler ran once, too");
        });
    });
}

#[test]
fn signal_kind_converts_to_and_from_c_int_as_tokio_s() {
    use std::os::raw::c_int;
    let kinds = [
        SignalKind::interrupt(),
        SignalKind::terminate(),
        SignalKind::hangup(),
        SignalKind::user_defined2(),
    ];
    // `as_raw_value` takes `&self`, as tokio's: usable as `fn(&SignalKind)`.
    let numbers: Vec<c_int> = kinds.iter().map(SignalKind::as_raw_value).collect();
    assert_eq!(
        numbers,
        [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGUSR2]
    );
    for (kind, number) in kinds.into_iter().zip(numbers) {
        assert_eq!(SignalKind::from(number), kind);
        assert_eq!(c_int::from(kind), number);
        let back: SignalKind = number.into();
        assert_eq!(back, SignalKind::from_raw(number));
    }
    // A real-time signal has no constructor of its own.
    let rt_min: SignalKind = libc::SIGRTMIN().into();
    assert_eq!(rt_min.as_raw_value(), libc::SIGRTMIN());
}

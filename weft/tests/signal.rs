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
fn a_new_listener_does_not_see_signals_from_before_it_existed() {
    within(30, || {
        common::rt().block_on(async {
            let first = signal(SignalKind::quit()).unwrap();
            drop(first);
            // Delivered while nobody listens (the handler stays installed).
            raise(Sig::QUIT);
            weft::time::sleep(Duration::from_millis(10)).await;
            let mut late = signal(SignalKind::quit()).unwrap();
            assert!(weft::time::timeout(Duration::from_millis(30), late.recv())
                .await
                .is_err());
            raise(Sig::QUIT);
            late.recv().await.unwrap();
        });
    });
}

#[test]
fn listening_outside_a_runtime_fails_without_touching_the_disposition() {
    let err = signal(SignalKind::alarm()).unwrap_err();
    assert!(err.to_string().contains("runtime"), "{err}");
}

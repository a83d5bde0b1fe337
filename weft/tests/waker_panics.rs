//! A waker that panics when the driver wakes it (a user's `Wake` impl) is
//! contained: reported, and every other wake-up of the same batch still
//! happens. With edge-triggered epoll a lost wake never comes again.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::Duration;

use common::{rt, within};

/// Counts its wakes.
#[derive(Default)]
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Panics when woken.
struct Bomb;

impl Wake for Bomb {
    fn wake(self: Arc<Self>) {
        panic!("this waker panics on purpose");
    }
    fn wake_by_ref(self: &Arc<Self>) {
        panic!("this waker panics on purpose");
    }
}

/// Polls `future` once with `waker`; it must be pending (registered).
fn register<F: Future + ?Sized>(future: Pin<&mut F>, waker: &Waker) {
    assert!(
        future.poll(&mut Context::from_waker(waker)).is_pending(),
        "not ready yet"
    );
}

fn woken(counters: &[Arc<Counter>]) -> usize {
    counters.iter().filter(|c| c.0.load(SeqCst) > 0).count()
}

/// Waits (yielding, which lets the driver turn) until all `counters` were
/// woken.
async fn until_all_woken(counters: &[Arc<Counter>]) {
    while woken(counters) < counters.len() {
        weft::task::yield_now().await;
    }
}

#[test]
fn a_panicking_waker_among_100_due_timers_leaves_the_other_99_woken() {
    within(30, || {
        rt().block_on(async {
            let deadline = weft::time::Instant::now() + Duration::from_millis(10);
            let mut sleeps: Vec<_> = (0..100)
                .map(|_| Box::pin(weft::time::sleep_until(deadline)))
                .collect();
            let counters: Vec<Arc<Counter>> = (0..99).map(|_| Arc::default()).collect();
            for (i, sleep) in sleeps.iter_mut().enumerate() {
                // The bomb sits in the middle of the batch.
                let waker = match i.cmp(&50) {
                    std::cmp::Ordering::Equal => Waker::from(Arc::new(Bomb)),
                    std::cmp::Ordering::Less => Waker::from(Arc::clone(&counters[i])),
                    std::cmp::Ordering::Greater => Waker::from(Arc::clone(&counters[i - 1])),
                };
                register(sleep.as_mut(), &waker);
            }
            // This task's own timer is due after theirs.
            weft::time::sleep_until(deadline + Duration::from_millis(1)).await;
            until_all_woken(&counters).await;
            assert_eq!(woken(&counters), 99);
        });
    });
}

#[test]
fn a_panicking_waker_among_100_ready_sockets_leaves_the_other_99_woken() {
    within(30, || {
        rt().block_on(async {
            // Senders are std sockets: a send is immediate, not a wait for
            // the driver.
            let pairs: Vec<_> = (0..100)
                .map(|_| {
                    let (a, b) = std::os::unix::net::UnixDatagram::pair().unwrap();
                    b.set_nonblocking(true).unwrap();
                    (a, weft::net::UnixDatagram::from_std(b).unwrap())
                })
                .collect();
            let mut readable: Vec<_> = pairs.iter().map(|(_, b)| Box::pin(b.readable())).collect();
            let counters: Vec<Arc<Counter>> = (0..99).map(|_| Arc::default()).collect();
            for (i, future) in readable.iter_mut().enumerate() {
                let waker = match i.cmp(&50) {
                    std::cmp::Ordering::Equal => Waker::from(Arc::new(Bomb)),
                    std::cmp::Ordering::Less => Waker::from(Arc::clone(&counters[i])),
                    std::cmp::Ordering::Greater => Waker::from(Arc::clone(&counters[i - 1])),
                };
                register(future.as_mut(), &waker);
            }
            // All 100 become readable before the driver's next turn, which
            // dispatches them in one batch.
            for (a, _) in &pairs {
                a.send(b"ready").unwrap();
            }
            until_all_woken(&counters).await;
            assert_eq!(woken(&counters), 99);
            // The runtime still works.
            let mut buf = [0u8; 8];
            assert_eq!(pairs[0].1.recv(&mut buf).await.unwrap(), 5);
        });
    });
}

#[test]
fn a_panicking_waker_does_not_stop_a_multi_thread_runtime() {
    within(30, || {
        let rt = weft::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        rt.block_on(async {
            weft::spawn(async {
                let deadline = weft::time::Instant::now() + Duration::from_millis(5);
                let mut bomb = Box::pin(weft::time::sleep_until(deadline));
                register(bomb.as_mut(), &Waker::from(Arc::new(Bomb)));
                weft::time::sleep_until(deadline + Duration::from_millis(1)).await;
                // The worker that fired the bomb is still running tasks.
                weft::spawn(async { 7 }).await.unwrap()
            })
            .await
            .unwrap()
        });
    });
}

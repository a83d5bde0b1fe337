//! loom models of the channel store (blocks of 2 slots under loom): every
//! interleaving of senders, the receiver and closing.

use std::sync::Arc;

use crate::sync::mpsc::error::TryRecvError;
use crate::sync::mpsc::{channel, unbounded_channel};
use loom::future::block_on as loom_block_on;

/// Two senders race the receiver while the third value crosses into a
/// second block (grown by whoever gets there first). A sender stays alive
/// meanwhile, so only the wakes of the slots' senders can end the waits:
/// every value arrives once, the one sent before the race first.
#[test]
fn loom_chan_two_senders_race_receiver_across_block_boundary() {
    loom::model(|| {
        let (tx, mut rx) = unbounded_channel::<u32>();
        tx.send(0).unwrap();
        let senders: Vec<_> = (1..=2)
            .map(|i| {
                let tx = tx.clone();
                loom::thread::spawn(move || tx.send(i).unwrap())
            })
            .collect();
        let mut got = loom_block_on(async {
            let mut got = Vec::new();
            for _ in 0..3 {
                got.push(rx.recv().await.expect("a sender is alive"));
            }
            got
        });
        drop(tx);
        for sender in senders {
            sender.join().unwrap();
        }
        assert_eq!(got[0], 0);
        got.sort_unstable();
        assert_eq!(got, [0, 1, 2]);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    });
}

/// The receiver closes while a sender sends: every send that returned
/// `Ok` is received, then the end; nothing else.
#[test]
fn loom_chan_close_races_send() {
    loom::model(|| {
        let (tx, mut rx) = unbounded_channel::<u32>();
        let sender = loom::thread::spawn(move || {
            let first = tx.send(1).is_ok();
            let second = tx.send(2).is_ok();
            // A send after a failed one never succeeds.
            assert!(first || !second);
            usize::from(first) + usize::from(second)
        });
        rx.close();
        let mut received = 0;
        loom_block_on(async {
            while rx.recv().await.is_some() {
                received += 1;
            }
        });
        assert_eq!(sender.join().unwrap(), received);
    });
}

/// One sender streams five values through blocks of two while the
/// receiver drains (a sender handle stays alive, so each wait ends by the
/// slot's wake): emptied blocks are recycled to the spares and linked in
/// again while the sender may still be walking; order holds and every
/// value's destructor runs once.
#[test]
fn loom_chan_blocks_recycle_under_a_racing_sender() {
    loom::model(|| {
        let token = Arc::new(());
        let (tx, mut rx) = unbounded_channel::<(u32, Arc<()>)>();
        let sender = {
            let (tx, token) = (tx.clone(), Arc::clone(&token));
            loom::thread::spawn(move || {
                for i in 0..5 {
                    tx.send((i, Arc::clone(&token))).unwrap();
                }
            })
        };
        loom_block_on(async {
            for i in 0..5 {
                let (value, _token) = rx.recv().await.expect("a sender is alive");
                assert_eq!(value, i);
            }
        });
        sender.join().unwrap();
        drop((tx, rx));
        assert_eq!(Arc::strong_count(&token), 1);
    });
}

/// A bounded channel of one slot: the second send waits for the receiver
/// to take the first, whatever the interleaving.
#[test]
fn loom_chan_bounded_send_waits_for_room() {
    loom::model(|| {
        let (tx, mut rx) = channel::<u32>(1);
        let sender = loom::thread::spawn(move || {
            loom_block_on(async {
                tx.send(1).await.unwrap();
                tx.send(2).await.unwrap();
            })
        });
        let got = loom_block_on(async {
            let first = rx.recv().await;
            let second = rx.recv().await;
            let end = rx.recv().await;
            (first, second, end)
        });
        sender.join().unwrap();
        assert_eq!(got, (Some(1), Some(2), None));
    });
}

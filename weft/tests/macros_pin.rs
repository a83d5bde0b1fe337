//! `weft::pin!`: tokio's tests/macros_pin.rs converted by renaming, and the
//! list form.

mod common;
#[path = "common/harness.rs"]
mod harness;

use harness::bounded;

async fn one() {}
async fn two() {}

#[test]
fn multi_pin() {
    bounded(|| async {
        weft::pin! {
            let f1 = one();
            let f2 = two();
        }

        (&mut f1).await;
        (&mut f2).await;
    });
}

#[test]
fn pin_existing_variables() {
    bounded(|| async {
        let f1 = async { 1 };
        let f2 = async {
            weft::task::yield_now().await;
            2
        };
        weft::pin!(f1, f2);
        // `Pin<&mut _>` polled by reference, then read back by `as_mut`.
        let (a, b) = weft::join!(f1.as_mut(), &mut f2);
        assert_eq!((a, b), (1, 2));
    });
}

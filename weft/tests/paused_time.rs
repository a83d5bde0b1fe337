//! The paused clock (feature `test-util`): tokio's tests/time_pause.rs and
//! rt_time_start_paused.rs converted, plus weft's own (both flavours, exact
//! sleeps, auto-advance on the multi-thread runtime).

mod common;
#[macro_use]
mod paused;

use common::within;
use paused::{ms, paused_rt, FLAVOURS};
use std::time::Duration;
use weft::time::{self, Instant};

#[test]
fn smoke() {
    for workers in FLAVOURS {
        within(10, move || {
            paused_rt(workers).block_on(async {
                let start = Instant::now();
                time::sleep(ms(5)).await;
                assert_eq!(start.elapsed(), ms(5));
                time::sleep(Duration::from_nanos(1_234_567)).await;
                assert_eq!(start.elapsed(), ms(5) + Duration::from_nanos(1_234_567));
            })
        });
    }
}

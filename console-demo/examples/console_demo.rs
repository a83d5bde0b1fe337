//! tokio-console watching a weft program: weft's `console` feature emits the
//! `tracing` spans and events console-subscriber reads, so `tokio-console`
//! shows weft's tasks (spawn location, polls, busy and idle time, wakes,
//! waker counts) and timers.
//!
//! ```text
//! cargo run --release -p console-demo --example console_demo
//! tokio-console          # in another terminal (cargo install tokio-console)
//! ```
//!
//! console-subscriber serves the console on 127.0.0.1:6669 from a thread of
//! its own (its gRPC server runs on a tokio runtime there: that is
//! console-subscriber's, the program's tasks run on weft).

use std::time::Duration;

fn main() -> std::io::Result<()> {
    console_subscriber::init();
    println!(
        "console_demo: serving tokio-console on 127.0.0.1:6669; run `tokio-console` to watch \
         (Ctrl-C to stop)"
    );
    let rt = weft::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()?;
    rt.block_on(async {
        loop {
            console_demo::workload(50, Duration::from_millis(100)).await;
        }
    })
}

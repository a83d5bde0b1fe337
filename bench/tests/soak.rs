//! The 20-second soak (`bench soak --secs 20`) as a test: a weft server under
//! mixed hostile load must give every normal client its bytes back and
//! return to its pre-load descriptors, tasks and RSS, and then idle without
//! spinning. The full run is `cargo run --release -p bench -- soak`.

use std::process::Command;

#[test]
fn twenty_second_soak() {
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["soak", "--secs", "20"])
        .output()
        .expect("the bench binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success() && stdout.contains("RESULT soak pass"),
        "the soak failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}

//! `bench echo-instr`: user-space instructions per echo message, counted by
//! callgrind.
//!
//! On a 2-core machine the loopback echo is bound by the kernel (≈ 93 % of
//! the server's CPU is TCP) and by the one-thread client, so msgs/s and CPU
//! time move together for every runtime and a few % between runtimes drown in
//! noise. What a runtime adds — its own code per message — is measured here
//! instead, exactly: each server runs under `valgrind --tool=callgrind`,
//! serves the usual load (64 connections, 64-byte messages), and its total
//! instruction count is divided by the messages it echoed (warmup and
//! start-up included; start-up is well under 1 % of the total). Instruction
//! counts are repeatable and do not depend on what else the machine does.
//!
//! The ratio printed is `peer instructions / weft instructions`: above 1.0,
//! weft runs fewer instructions per message than the peer.

use std::io;
use std::time::Duration;

use crate::echo::{find_in_path, run_one_wrapped, EchoOpts};
use crate::servers::ServerImpl;

/// Runs the scenario; prints a skip note (and succeeds) without valgrind.
pub fn run(opts: &EchoOpts) -> io::Result<()> {
    if find_in_path("valgrind").is_none() {
        println!(
            "echo-instr: skipped: valgrind is not installed (Debian: apt-get install valgrind)"
        );
        return Ok(());
    }
    let exe = std::env::current_exe()?;
    let dir = std::env::temp_dir().join(format!("weft-bench-instr-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    println!(
        "echo-instr: {} conns, {} B messages, {:.1} s warmup + {} s per server, under callgrind",
        opts.conns, opts.size, opts.warmup, opts.secs
    );
    println!(
        "{:<12}{:>14}{:>10}{:>14}",
        "impl", "instructions", "msgs", "instr/msg"
    );
    let mut per_msg = Vec::new();
    for &which in &opts.peers {
        let out = dir.join(format!("callgrind.{}", which.name()));
        let wrapper = vec![
            // A weft-uring server then wakes now and then, so that the run's
            // `SIGTERM` lands (see `weft_echo::serve_uring`).
            "env".to_string(),
            "WEFT_BENCH_TICK=1".to_string(),
            "valgrind".to_string(),
            "-q".to_string(),
            "--tool=callgrind".to_string(),
            format!("--callgrind-out-file={}", out.display()),
        ];
        let (load, mut server) = run_one_wrapped(&exe, which, opts, &wrapper)
            .map_err(|e| io::Error::new(e.kind(), format!("{which} under callgrind: {e}")))?;
        server.terminate(Duration::from_secs(30))?;
        let text = std::fs::read_to_string(&out)
            .map_err(|e| io::Error::new(e.kind(), format!("reading {}: {e}", out.display())))?;
        let total = parse_totals(&text).map_err(io::Error::other)?;
        let ipm = total as f64 / load.total.max(1) as f64;
        println!(
            "{:<12}{:>14}{:>10}{:>14.0}",
            which.name(),
            total,
            load.total,
            ipm
        );
        per_msg.push((which, ipm));
    }
    match std::env::var_os("WEFT_BENCH_KEEP_CALLGRIND") {
        // For `callgrind_annotate`: where a change's instructions went.
        Some(_) => println!("callgrind output kept in {}", dir.display()),
        None => {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    println!();
    let get = |which: ServerImpl| per_msg.iter().find(|(w, _)| *w == which).map(|(_, v)| *v);
    let pairs = [
        (ServerImpl::Weft, ServerImpl::Tokio),
        (ServerImpl::Weft, ServerImpl::Raw),
        (ServerImpl::Weft, ServerImpl::WeftUring),
        (ServerImpl::WeftMt, ServerImpl::TokioMt),
        (ServerImpl::WeftUnix, ServerImpl::TokioUnix),
    ];
    for (ours, theirs) in pairs {
        if let (Some(ours_ipm), Some(theirs_ipm)) = (get(ours), get(theirs)) {
            println!(
                "RESULT echo-instr {}/{} {:.3}",
                ours.result_name(),
                theirs.result_name(),
                theirs_ipm / ours_ipm
            );
        }
    }
    Ok(())
}

/// The `totals:` (or `summary:`) line of a callgrind output file.
pub fn parse_totals(text: &str) -> Result<u64, String> {
    text.lines()
        .find_map(|line| {
            line.strip_prefix("totals:")
                .or_else(|| line.strip_prefix("summary:"))
        })
        .and_then(|rest| rest.split_whitespace().next())
        .ok_or_else(|| "no totals line in the callgrind output".to_string())?
        .parse()
        .map_err(|e| format!("bad totals line in the callgrind output: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_callgrind_totals() {
        let file =
            "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nsummary: 1234\ntotals: 1234\n";
        assert_eq!(parse_totals(file), Ok(1234));
        assert!(parse_totals("events: Ir\n").is_err());
        assert!(parse_totals("totals: many\n").is_err());
    }
}

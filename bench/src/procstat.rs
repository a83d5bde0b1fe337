//! CPU-time accounting from `/proc` and the process CPU clock.
//!
//! The orchestrator samples a server's CPU time before and after the measured window:
//! the total from `/proc/<pid>/task/*/schedstat` (nanoseconds on a CPU, all threads),
//! and its user/system split from `/proc/<pid>/stat` (clock ticks, normally 10 ms, so the
//! split is coarse). The load client measures itself with `CLOCK_PROCESS_CPUTIME_ID`,
//! which has nanosecond resolution.

use std::io;

/// CPU time consumed by a process, split into user and system (kernel) time, in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CpuTimes {
    /// Time spent in user space.
    pub user: f64,
    /// Time spent in the kernel on the process's behalf (syscalls, and here most of the
    /// loopback TCP stack).
    pub system: f64,
    /// Time on a CPU at nanosecond resolution (schedstat), or `user + system` where
    /// schedstat is not available.
    pub run: f64,
}

impl CpuTimes {
    /// Total CPU time, at the best resolution available.
    pub fn total(&self) -> f64 {
        self.run
    }

    /// Field-wise `self - earlier`.
    pub fn since(&self, earlier: &CpuTimes) -> CpuTimes {
        CpuTimes {
            user: self.user - earlier.user,
            system: self.system - earlier.system,
            run: self.run - earlier.run,
        }
    }
}

/// The time on a CPU (first field, nanoseconds) of a `/proc/.../schedstat` line.
pub fn parse_schedstat_ns(line: &str) -> Result<u64, String> {
    let first = line
        .split_ascii_whitespace()
        .next()
        .ok_or_else(|| format!("empty schedstat {line:?}"))?;
    first
        .parse()
        .map_err(|e| format!("schedstat {line:?}: {e}"))
}

/// Nanoseconds on a CPU of all threads of `pid`, or `None` without schedstat.
fn process_run_ns(pid: u32) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = 0;
    let mut any = false;
    for task in tasks.flatten() {
        // A thread that exits while we list them has no schedstat left:
        // skip it rather than give up on the whole process.
        let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        total += parse_schedstat_ns(&text).ok()?;
        any = true;
    }
    any.then_some(total)
}

/// Extracts `(utime, stime)` (fields 14 and 15, in clock ticks) from a `/proc/<pid>/stat`
/// line.
///
/// The command name (field 2) is parenthesised and may itself contain spaces and
/// parentheses, so fields are counted from the *last* `)` in the line.
pub fn parse_stat_cpu_ticks(stat: &str) -> Result<(u64, u64), String> {
    let close = stat
        .rfind(')')
        .ok_or_else(|| format!("no `)` after the command name in {stat:?}"))?;
    // After the command name: field 3 (state) is index 0, so field N is index N - 3.
    let mut fields = stat[close + 1..].split_ascii_whitespace().skip(14 - 3);
    let mut next = |name: &str| -> Result<u64, String> {
        let text = fields
            .next()
            .ok_or_else(|| format!("`{name}` missing in {stat:?}"))?;
        text.parse::<u64>()
            .map_err(|e| format!("`{name}` = {text:?} in /proc stat: {e}"))
    };
    let utime = next("utime")?;
    let stime = next("stime")?;
    Ok((utime, stime))
}

/// CPU time (all threads) consumed so far by process `pid`: the total in nanoseconds
/// (schedstat), the user/system split in clock ticks (`sysconf(_SC_CLK_TCK)`).
pub fn process_cpu_times(pid: u32) -> io::Result<CpuTimes> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("reading {path}: {e}")))?;
    let (utime, stime) = parse_stat_cpu_ticks(&stat).map_err(io::Error::other)?;
    let hz = rustix::param::clock_ticks_per_second() as f64;
    let (user, system) = (utime as f64 / hz, stime as f64 / hz);
    let run = process_run_ns(pid).map_or(user + system, |ns| ns as f64 * 1e-9);
    Ok(CpuTimes { user, system, run })
}

/// CPU time (user + system, all threads, seconds) of child `pid` once it has exited but
/// before it is reaped: polls `/proc/<pid>/stat` until the state is `Z` (zombie), whose
/// times are the whole thread group's final totals. `None` if that does not happen
/// within `limit` or the file cannot be read.
pub fn exited_child_cpu_secs(pid: u32, limit: std::time::Duration) -> Option<f64> {
    let path = format!("/proc/{pid}/stat");
    let deadline = std::time::Instant::now() + limit;
    loop {
        let stat = std::fs::read_to_string(&path).ok()?;
        let state = stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_ascii_whitespace().next());
        if state == Some("Z") {
            let (utime, stime) = parse_stat_cpu_ticks(&stat).ok()?;
            return Some((utime + stime) as f64 / rustix::param::clock_ticks_per_second() as f64);
        }
        if std::time::Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// CPU time (user + system, all threads) consumed so far by the calling process, in seconds.
pub fn self_cpu_secs() -> f64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_stat_line() {
        // Real shape of a /proc/<pid>/stat line: utime = 1234, stime = 567.
        let line = "4242 (bench) S 1 4242 4242 0 -1 4194560 120 0 0 0 1234 567 0 0 20 0 1 0 \
                    9999 12345678 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";
        assert_eq!(parse_stat_cpu_ticks(line), Ok((1234, 567)));
    }

    #[test]
    fn parses_command_name_with_spaces_and_parens() {
        let line = "7 (a b) (c)) R 1 7 7 0 -1 0 0 0 0 0 10 5 0 0 20 0 1 0 1 1 1";
        assert_eq!(parse_stat_cpu_ticks(line), Ok((10, 5)));
    }

    #[test]
    fn rejects_truncated_or_garbled_lines() {
        assert!(parse_stat_cpu_ticks("7 (x) R 1 2 3").is_err());
        assert!(parse_stat_cpu_ticks("no parens here").is_err());
        assert!(parse_stat_cpu_ticks("7 (x) R 1 7 7 0 -1 0 0 0 0 0 ten 5").is_err());
    }

    #[test]
    fn parses_schedstat() {
        assert_eq!(parse_schedstat_ns("123456789 2000 17\n"), Ok(123_456_789));
        assert!(parse_schedstat_ns("").is_err());
        assert!(parse_schedstat_ns("x 1 2").is_err());
    }

    #[test]
    fn reads_own_stat() {
        let times = process_cpu_times(std::process::id()).expect("own /proc/<pid>/stat");
        // `run` is in nanoseconds (schedstat) where available: never 0 for
        // a process that has run; with the tick fallback it can be.
        assert!(times.user >= 0.0 && times.system >= 0.0 && times.run >= 0.0);
        assert!(self_cpu_secs() > 0.0);
    }
}

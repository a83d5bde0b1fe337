//! Whether this process can run the io_uring backend, and if not, why.
//!
//! Checked once per process, on the first runtime that asks: a ring can be
//! set up (not `ENOSYS`: no io_uring in the kernel; not `EPERM`: refused by
//! `kernel.io_uring_disabled` or a seccomp filter); the kernel keeps
//! completions that overflow the queue (`IORING_FEAT_NODROP`) and takes a
//! timeout with a wait (`IORING_FEAT_EXT_ARG`); it knows the opcodes the
//! backend uses; and a multishot poll on a socket pair reports an edge and
//! stays armed, then ends when cancelled (every request under its
//! `user_data`, kernel 5.19).

use std::io::Write;
use std::os::fd::AsRawFd;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use io_uring::{cqueue, opcode, types, IoUring, Probe};

/// `Ok`, or why the io_uring backend cannot run here (one line).
pub(crate) fn check() -> Result<(), String> {
    static RESULT: OnceLock<Result<(), String>> = OnceLock::new();
    RESULT.get_or_init(run).clone()
}

/// Whether TCP streams may read through an owned ring (receives into
/// provided buffers): `DEFER_TASKRUN`, and Linux 6.13 or later. Before
/// 6.13 the completion work a closed ring left (a receive whose data had
/// come) could still run on its owner thread, later, and write into
/// buffers the runtime no longer owns; from 6.13 it runs in a kernel
/// thread, where the kernel fails it instead of issuing it. Where this is
/// false, streams read as on epoll (readiness through the ring).
pub(crate) fn ring_reads() -> bool {
    static RESULT: OnceLock<bool> = OnceLock::new();
    *RESULT.get_or_init(|| {
        let uname = rustix::system::uname();
        defer_taskrun() && kernel_at_least(uname.release().to_bytes(), (6, 13))
    })
}

/// True if a kernel release string (`6.18.0-1-amd64`) is at least
/// `(major, minor)`; an unreadable one is not.
fn kernel_at_least(release: &[u8], (major, minor): (u32, u32)) -> bool {
    let text = String::from_utf8_lossy(release);
    let mut parts = text
        .split(|c: char| !c.is_ascii_digit())
        .map(|part| part.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(a), Some(b)) => (a, b) >= (major, minor),
        _ => false,
    }
}

/// Whether the kernel takes `SINGLE_ISSUER | DEFER_TASKRUN` (Linux 6.1),
/// asked once per process. Without it a current-thread runtime's ring is
/// the shared (`COOP_TASKRUN`) kind.
pub(crate) fn defer_taskrun() -> bool {
    static RESULT: OnceLock<bool> = OnceLock::new();
    *RESULT.get_or_init(|| loop {
        match IoUring::<io_uring::squeue::Entry>::builder()
            .setup_single_issuer()
            .setup_defer_taskrun()
            .build(8)
        {
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            other => break other.is_ok(),
        }
    })
}

/// A ring with the backend's setup flags; a signal's interruption is tried
/// again (one stray signal must not turn io_uring off for the process).
fn setup() -> std::io::Result<IoUring> {
    loop {
        match IoUring::builder()
            .setup_coop_taskrun()
            .setup_taskrun_flag()
            .build(8)
        {
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            other => return other,
        }
    }
}

fn run() -> Result<(), String> {
    // The setup flags the backend uses (COOP_TASKRUN, TASKRUN_FLAG: 5.19).
    let ring = setup().map_err(|e| match e.raw_os_error() {
        Some(libc::ENOSYS) => "the kernel has no io_uring (ENOSYS)".to_string(),
        Some(libc::EPERM) => {
            "io_uring is not permitted here (EPERM: kernel.io_uring_disabled, or a seccomp \
             filter)"
                .to_string()
        }
        Some(libc::EINVAL) => {
            "the kernel's io_uring refuses IORING_SETUP_COOP_TASKRUN (Linux 5.19 or later is \
             needed)"
                .to_string()
        }
        _ => format!("setting up an io_uring failed: {e}"),
    })?;
    let params = ring.params();
    if !params.is_feature_nodrop() || !params.is_feature_ext_arg() {
        return Err(
            "the kernel's io_uring is too old (it lacks IORING_FEAT_NODROP or \
                    IORING_FEAT_EXT_ARG: Linux 5.11 or later is needed)"
                .to_string(),
        );
    }
    let mut probe = Probe::new();
    ring.submitter()
        .register_probe(&mut probe)
        .map_err(|e| format!("probing io_uring's opcodes failed: {e}"))?;
    for (code, name) in [
        (opcode::PollAdd::CODE, "POLL_ADD"),
        (opcode::AsyncCancel::CODE, "ASYNC_CANCEL"),
        (opcode::Nop::CODE, "NOP"),
    ] {
        if !probe.is_supported(code) {
            return Err(format!("the kernel's io_uring lacks the {name} opcode"));
        }
    }
    multishot_poll(ring)
}

/// A multishot poll on one end of a socket pair: two writes to the other
/// end give two completions, each with `F_MORE` (still armed); cancelling
/// every request under its `user_data` ends it.
fn multishot_poll(mut ring: IoUring) -> Result<(), String> {
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("io_uring's {what} failed: {e}");
    let (a, mut b) = std::os::unix::net::UnixStream::pair().map_err(|e| fail("socket pair", &e))?;
    let fd = types::Fd(a.as_raw_fd());
    let poll = opcode::PollAdd::new(fd, libc::POLLIN as u32)
        .multi(true)
        .build()
        .user_data(1);
    // SAFETY: a poll entry points at no memory of ours.
    unsafe { ring.submission().push(&poll) }.map_err(|e| fail("submission", &e))?;
    for round in 0..2 {
        b.write_all(b"x").map_err(|e| fail("socket pair", &e))?;
        wait_one(&ring).map_err(|e| fail("wait", &e))?;
        let entry = ring.completion().next();
        match entry {
            Some(e) if e.user_data() == 1 && e.result() > 0 && cqueue::more(e.flags()) => {}
            Some(e) => {
                return Err(format!(
                    "io_uring's multishot poll did not stay armed (completion {round}: result \
                     {}, flags {:#x}; Linux 5.13 or later is needed)",
                    e.result(),
                    e.flags()
                ))
            }
            None => {
                return Err(format!(
                    "io_uring's multishot poll reported nothing for write {round} within 1 s"
                ))
            }
        }
    }
    let cancel = opcode::AsyncCancel2::new(types::CancelBuilder::user_data(1).all())
        .build()
        .user_data(2);
    // SAFETY: a cancel entry points at no memory of ours.
    unsafe { ring.submission().push(&cancel) }.map_err(|e| fail("submission", &e))?;
    // The cancel's own completion, within a bound (a kernel that refuses
    // the flags answers it at once, but leaves the poll armed and silent).
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        wait_one(&ring).map_err(|e| fail("wait", &e))?;
        for entry in ring.completion() {
            if entry.user_data() == 2 {
                return match entry.result() {
                    res if res < 0 => Err(format!(
                        "io_uring cannot cancel every request under a user_data (result \
                         {res}; Linux 5.19 or later is needed)"
                    )),
                    _ => Ok(()),
                };
            }
        }
        if Instant::now() >= deadline {
            return Err("io_uring's cancel did not complete within 2 s".into());
        }
    }
}

/// Submits what is queued and waits up to a second for a completion; a
/// signal's interruption is tried again, a timeout is no error (the caller
/// looks at what arrived).
fn wait_one(ring: &IoUring) -> std::io::Result<()> {
    let ts = types::Timespec::from(Duration::from_secs(1));
    let args = types::SubmitArgs::new().timespec(&ts);
    loop {
        match ring.submitter().submit_with_args(1, &args) {
            Ok(_) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ETIME) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn kernel_releases_compare_by_major_and_minor() {
        use super::kernel_at_least;
        assert!(kernel_at_least(b"6.18.0-1-amd64", (6, 13)));
        assert!(kernel_at_least(b"6.13", (6, 13)));
        assert!(kernel_at_least(b"7.0.1", (6, 13)));
        assert!(!kernel_at_least(b"6.12.48+deb13-amd64", (6, 13)));
        assert!(!kernel_at_least(b"5.19.0", (6, 13)));
        assert!(!kernel_at_least(b"garbage", (6, 13)));
    }

    #[test]
    fn the_probe_answers_and_says_why_not() {
        // Either answer is right on some machine; a refusal must say why.
        match super::check() {
            Ok(()) => {}
            Err(reason) => assert!(!reason.is_empty()),
        }
        // Cached: the same answer again.
        assert_eq!(super::check(), super::check());
    }
}

//! Receiving a datagram without losing its tail: shared by UDP and Unix
//! datagram sockets.

use std::io;
use std::os::fd::AsFd;

use rustix::net::RecvFlags;

/// `recv` with `MSG_TRUNC`: a datagram longer than `buf` is an error that
/// says so (its first `buf.len()` bytes are in `buf`), instead of a silent
/// short read that loses the rest.
/// With `PEEK` a short buffer is fine (peeking a header is the point) and
/// the datagram stays queued, so only the bytes copied are reported.
pub(crate) fn recv(fd: impl AsFd, buf: &mut [u8], flags: RecvFlags) -> io::Result<usize> {
    let (filled, len) = rustix::net::recv(fd, &mut *buf, flags | RecvFlags::TRUNC)?;
    if flags.contains(RecvFlags::PEEK) {
        return Ok(filled);
    }
    check_truncation(filled, len)
}

/// `recvfrom` with `MSG_TRUNC`; see [`recv`].
pub(crate) fn recv_from(
    fd: impl AsFd,
    buf: &mut [u8],
    flags: RecvFlags,
) -> io::Result<(usize, Option<rustix::net::SocketAddrAny>)> {
    let (filled, len, addr) = rustix::net::recvfrom(fd, &mut *buf, flags | RecvFlags::TRUNC)?;
    if flags.contains(RecvFlags::PEEK) {
        return Ok((filled, addr));
    }
    Ok((check_truncation(filled, len)?, addr))
}

pub(super) fn check_truncation(filled: usize, len: usize) -> io::Result<usize> {
    if len > filled {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "datagram of {len} bytes truncated to the {filled}-byte buffer: its last {} \
                 bytes are lost; receive into a buffer of at least {len} bytes",
                len - filled
            ),
        ));
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_is_an_error_with_both_sizes() {
        assert_eq!(check_truncation(10, 10).unwrap(), 10);
        let err = check_truncation(8, 20).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let text = err.to_string();
        assert!(text.contains("20 bytes") && text.contains("8-byte") && text.contains("12"));
    }
}

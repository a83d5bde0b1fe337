//! Unix domain sockets: stream listener and stream, datagram socket, peer
//! credentials ([`UCred`] and tokio's `uid_t`/`gid_t`/`pid_t` aliases),
//! addresses ([`SocketAddr`], std's), the halves of a split
//! [`UnixStream`], and pipes and FIFOs ([`pipe`]).
//!
//! A path that starts with a NUL byte (`"\0name"`) names a socket in Linux's
//! abstract namespace: no file is created, and the name goes away with the
//! last socket bound to it.

mod datagram;
mod listener;
pub mod pipe;
mod socket;
mod stream;

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

pub use datagram::UnixDatagram;
pub use listener::UnixListener;
pub use socket::UnixSocket;
pub use stream::UnixStream;

/// The address of a Unix socket: `std`'s type itself, where tokio has a
/// wrapper of its own (`tokio::net::unix::SocketAddr`). Every weft method
/// that takes or returns a Unix address uses this type, so code naming
/// `weft::net::unix::SocketAddr` ports unchanged.
///
/// The differences from tokio's wrapper: `is_unnamed` and `as_pathname` are
/// `std`'s inherent methods; `as_abstract_name` comes from
/// [`std::os::linux::net::SocketAddrExt`], which must be in scope (tokio's
/// is inherent); there is no `From` between two types, since there is only
/// one; and `std`'s also has `from_pathname` and `from_abstract_name`
/// (with `SocketAddrExt`).
///
/// ```
/// use std::os::linux::net::SocketAddrExt;
/// use weft::net::unix::SocketAddr;
///
/// let addr = SocketAddr::from_abstract_name(b"weft-doc")?;
/// assert_eq!(addr.as_abstract_name(), Some(&b"weft-doc"[..]));
/// assert!(!addr.is_unnamed() && addr.as_pathname().is_none());
/// # Ok::<(), std::io::Error>(())
/// ```
pub use std::os::unix::net::SocketAddr;

/// A user id, as in [`UCred::uid`] (tokio's alias).
#[allow(non_camel_case_types)]
pub type uid_t = u32;

/// A group id, as in [`UCred::gid`] (tokio's alias).
#[allow(non_camel_case_types)]
pub type gid_t = u32;

/// A process (or process group) id, as in [`UCred::pid`] (tokio's alias).
#[allow(non_camel_case_types)]
pub type pid_t = i32;

/// The read half of a [`UnixStream`], borrowed ([`UnixStream::split`]).
pub type ReadHalf<'a> = crate::net::split::ReadHalf<'a, UnixStream>;
/// The write half of a [`UnixStream`], borrowed ([`UnixStream::split`]).
pub type WriteHalf<'a> = crate::net::split::WriteHalf<'a, UnixStream>;
/// The read half of a [`UnixStream`], owned ([`UnixStream::into_split`]).
pub type OwnedReadHalf = crate::net::split::OwnedReadHalf<UnixStream>;
/// The write half of a [`UnixStream`], owned ([`UnixStream::into_split`]).
pub type OwnedWriteHalf = crate::net::split::OwnedWriteHalf<UnixStream>;
/// Halves of two different streams given to `reunite`.
pub type ReuniteError = crate::net::split::ReuniteError<UnixStream>;

/// The credentials of the process at the other end of a Unix socket, as of
/// when it connected (`SO_PEERCRED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UCred {
    pid: Option<pid_t>,
    uid: uid_t,
    gid: gid_t,
}

impl UCred {
    /// The peer's process id (`None` if the kernel could not tell, as for a
    /// peer in another pid namespace).
    pub fn pid(&self) -> Option<pid_t> {
        self.pid
    }

    /// The peer's user id.
    pub fn uid(&self) -> uid_t {
        self.uid
    }

    /// The peer's group id.
    pub fn gid(&self) -> gid_t {
        self.gid
    }
}

/// `SO_PEERCRED`, read into `libc::ucred` directly: rustix's version
/// stores the pid in a `NonZero`, and the kernel reports pid 0 for a peer in
/// another pid namespace or a datagram socket with no peer credentials.
pub(crate) fn peer_cred(fd: impl std::os::fd::AsFd) -> io::Result<UCred> {
    use std::os::fd::AsRawFd;
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `fd` is a live descriptor for the duration of the call;
    // `cred` and `len` point at a `ucred` and its size, which is what
    // SO_PEERCRED writes (at most `len` bytes).
    let rc = unsafe {
        libc::getsockopt(
            fd.as_fd().as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            std::ptr::addr_of_mut!(cred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    if cred.uid == u32::MAX {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "the peer's credentials are unknown (a datagram socket without a connected peer)",
        ));
    }
    Ok(UCred {
        pid: (cred.pid > 0).then_some(cred.pid),
        uid: cred.uid,
        gid: cred.gid,
    })
}

/// The address for `path`: abstract if it starts with a NUL byte.
pub(crate) fn address(path: &Path) -> io::Result<SocketAddr> {
    let bytes = path.as_os_str().as_bytes();
    match bytes.split_first() {
        Some((0, name)) => SocketAddr::from_abstract_name(name),
        _ => SocketAddr::from_pathname(path),
    }
    .map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("{}: not a Unix socket address: {e}", path.display()),
        )
    })
}

/// The path weft's path-taking calls use for `addr`: its path, or its
/// abstract name behind a NUL byte; `None` for an unnamed address.
pub(crate) fn addr_path(addr: &SocketAddr) -> Option<std::path::PathBuf> {
    if let Some(path) = addr.as_pathname() {
        return Some(path.to_path_buf());
    }
    let name = addr.as_abstract_name()?;
    let mut bytes = vec![0];
    bytes.extend_from_slice(name);
    Some(std::ffi::OsString::from_vec(bytes).into())
}

/// A sender's address, from rustix's form (what `recvfrom` reports) to
/// std's: a path, an abstract name, or unnamed (an unbound sender, a
/// `pair`; the kernel may also report no address at all for those).
pub(crate) fn std_address(addr: Option<rustix::net::SocketAddrAny>) -> io::Result<SocketAddr> {
    let Some(addr) = addr else {
        return unnamed();
    };
    let unix = rustix::net::SocketAddrUnix::try_from(addr).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "a datagram from a non-Unix address on a Unix socket",
        )
    })?;
    if let Some(path) = unix.path_bytes() {
        SocketAddr::from_pathname(std::ffi::OsStr::from_bytes(path))
    } else if let Some(name) = unix.abstract_name() {
        SocketAddr::from_abstract_name(name)
    } else {
        unnamed()
    }
}

/// An unnamed address. std has no constructor for one; an unbound
/// socket's own address is one (documented), so one is taken from such a
/// socket, once per process.
fn unnamed() -> io::Result<SocketAddr> {
    static UNNAMED: std::sync::OnceLock<SocketAddr> = std::sync::OnceLock::new();
    if let Some(addr) = UNNAMED.get() {
        return Ok(addr.clone());
    }
    let addr = std::os::unix::net::UnixDatagram::unbound()?.local_addr()?;
    Ok(UNNAMED.get_or_init(|| addr).clone())
}

/// The same address in rustix's form, for `connect`/`sendto`.
pub(crate) fn rustix_address(path: &Path) -> io::Result<rustix::net::SocketAddrUnix> {
    let bytes = path.as_os_str().as_bytes();
    match bytes.split_first() {
        Some((0, name)) => rustix::net::SocketAddrUnix::new_abstract_name(name),
        _ => rustix::net::SocketAddrUnix::new(path),
    }
    .map_err(|e| {
        io::Error::new(
            io::Error::from(e).kind(),
            format!("{}: not a Unix socket address", display(path)),
        )
    })
}

/// Adds the path to an error from binding or connecting to it.
pub(crate) fn with_path(e: io::Error, what: &str, path: &Path) -> io::Error {
    let is_abstract = path.as_os_str().as_bytes().first() == Some(&0);
    let binding = what.starts_with("binding");
    let hint = match e.kind() {
        io::ErrorKind::AddrInUse if is_abstract => "; another socket holds that abstract name",
        io::ErrorKind::AddrInUse => {
            "; a file already exists there: remove it if no server owns it (weft never deletes \
             it for you)"
        }
        io::ErrorKind::NotFound if binding => "; its directory does not exist",
        io::ErrorKind::NotFound => "; no socket there",
        io::ErrorKind::ConnectionRefused => "; nothing is listening on it",
        _ => "",
    };
    io::Error::new(e.kind(), format!("{what} {}: {e}{hint}", display(path)))
}

/// A path for messages: abstract names shown as `@name`.
pub(crate) fn display(path: &Path) -> String {
    let bytes = path.as_os_str().as_bytes();
    match bytes.split_first() {
        Some((0, name)) => format!("@{}", String::from_utf8_lossy(name)),
        _ => path.display().to_string(),
    }
}

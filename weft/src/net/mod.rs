//! Networking: TCP today; UDP and Unix sockets arrive with the networking
//! issue.
//!
//! Owns: socket types and address parsing. Calls: the I/O driver (through a
//! registration per socket) and the kernel (through `socket2`/`rustix`/std).

mod addr;
mod evented;
mod tcp;

pub use addr::ToSocketAddrs;
pub use tcp::{TcpListener, TcpStream};

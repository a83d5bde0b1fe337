//! An fd closed and reused by a new socket must not inherit readiness from
//! its previous owner. Alone in its test binary, so no other test allocates
//! fds concurrently and the fd number is reused deterministically.

mod common;

use std::os::fd::AsRawFd;
use std::time::Duration;

use common::{rt, within};
use weft::io::{AsyncReadExt, AsyncWriteExt};
use weft::net::{TcpListener, TcpStream};
use weft::time::timeout;

#[test]
fn a_reused_fd_starts_with_no_stale_readiness() {
    within(20, || {
        rt().block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();

            // Old owner: readable (data queued), and the loop has turned so
            // the event reached its readiness slot.
            let old = TcpStream::connect(addr).await.unwrap();
            let (mut old_peer, _) = listener.accept().await.unwrap();
            old_peer
                .write_all(b"stale bytes for the old owner")
                .await
                .unwrap();
            old.readable().await.unwrap();
            let old_fd = old.as_raw_fd();
            drop(old);

            // New owner: the same fd number, and the same slot (LIFO reuse).
            let mut new = TcpStream::connect(addr).await.unwrap();
            assert_eq!(new.as_raw_fd(), old_fd, "the kernel did not reuse the fd");
            let (mut new_peer, _) = listener.accept().await.unwrap();

            // Nothing was sent to the new socket: it must not look readable.
            let stale = timeout(Duration::from_millis(50), new.readable()).await;
            assert!(
                stale.is_err(),
                "the new socket inherited the old one's readiness"
            );

            new_peer.write_all(b"fresh").await.unwrap();
            let mut got = [0u8; 5];
            new.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"fresh");
        })
    });
}

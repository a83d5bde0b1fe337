//! Calls written the way a user porting from tokio writes them, with the
//! glob import `use weft::io::*` in scope. Where an inherent method and a
//! `futures` extension-trait method share a name, this pins which one the
//! user gets.

mod common;

use common::{rt, within};
use weft::io::*;
use weft::net::{TcpListener, TcpStream};

#[test]
fn split_with_the_glob_import_gives_owned_halves() {
    // With the glob import, `stream.split()` on a `TcpStream` value
    // resolves to `AsyncReadExt::split(self)` (method lookup tries by-value
    // receivers first), not to the inherent `split(&mut self)`: owned halves
    // sharing the stream through a lock. It must still work the way tokio's
    // does for a read-half/write-half echo.
    within(20, || {
        rt().block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let mut client = TcpStream::connect(listener.local_addr()?).await?;
            let (server, _) = listener.accept().await?;
            let echo = weft::spawn(async move {
                let (mut reader, mut writer) = server.split();
                copy(&mut reader, &mut writer).await
            });
            client.write_all(b"through the halves").await?;
            client.close().await?; // tokio: shutdown().await
            let mut back = Vec::new();
            client.read_to_end(&mut back).await?;
            assert_eq!(back, b"through the halves");
            assert_eq!(echo.await.expect("echo task")?, 18);
            std::io::Result::Ok(())
        })
        .expect("echo through split halves");
    });
}

#[test]
fn borrowed_halves_by_reference() {
    // tokio's `split(&mut self)` borrowed halves map to `&TcpStream`, which
    // implements both traits: read on one reference, write on another.
    within(20, || {
        rt().block_on(async {
            let (client, server) = common::pair().await;
            let (mut reader, mut writer) = (&client, &client);
            writer.write_all(b"ping").await.unwrap();
            let mut server = server;
            let mut got = [0u8; 4];
            server.read_exact(&mut got).await.unwrap();
            server.write_all(&got).await.unwrap();
            let mut back = [0u8; 4];
            reader.read_exact(&mut back).await.unwrap();
            assert_eq!(&back, b"ping");
        })
    });
}

#[test]
fn the_inherent_borrowed_split_is_reached_explicitly() {
    // `TcpStream::split(&mut s)` and `(&mut s).split()` pick the inherent,
    // borrowed, lock-free halves even with the glob import in scope, and the
    // stream stays usable afterwards.
    within(20, || {
        rt().block_on(async {
            let (mut client, mut server) = common::pair().await;
            {
                let (mut reader, mut writer): (weft::net::tcp::ReadHalf<'_>, _) =
                    TcpStream::split(&mut server);
                client.write_all(b"one").await.unwrap();
                let mut buf = [0u8; 3];
                reader.read_exact(&mut buf).await.unwrap();
                writer.write_all(&buf).await.unwrap();
            }
            {
                // Clippy's `needless_borrow` suggests `server.split()`, which
                // would pick the trait's owned split: the borrow is needed.
                #[allow(clippy::needless_borrow)]
                let (_reader, mut writer): (_, weft::net::tcp::WriteHalf<'_>) =
                    (&mut server).split();
                writer.write_all(b"two").await.unwrap();
            }
            server.write_all(b"!").await.unwrap();
            let mut back = [0u8; 7];
            client.read_exact(&mut back).await.unwrap();
            assert_eq!(&back, b"onetwo!");
        })
    });
}

#[test]
fn flush_and_buffered_io_work_through_the_reexports() {
    within(20, || {
        rt().block_on(async {
            let (client, server) = common::pair().await;
            let mut writer = BufWriter::new(client);
            writer.write_all(b"line one\nline two\n").await.unwrap();
            writer.flush().await.unwrap();
            writer.close().await.unwrap();
            let mut lines = BufReader::new(server).lines();
            use futures_util::StreamExt;
            assert_eq!(lines.next().await.unwrap().unwrap(), "line one");
            assert_eq!(lines.next().await.unwrap().unwrap(), "line two");
            assert!(lines.next().await.is_none());
        })
    });
}

#[test]
fn public_types_are_send_and_sync_where_tokio_s_are() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<weft::runtime::Runtime>();
    send_sync::<weft::runtime::Handle>();
    send_sync::<weft::task::JoinError>();
    send_sync::<weft::task::AbortHandle>();
    send_sync::<weft::task::JoinHandle<u32>>();
    send_sync::<TcpStream>();
    send_sync::<TcpListener>();
    send_sync::<weft::time::Sleep>();
    send_sync::<weft::time::Interval>();
    send::<weft::time::Timeout<std::future::Ready<()>>>();
}

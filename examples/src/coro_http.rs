//! A tiny HTTP/1.1 server written as blocking code, run in weft coroutines:
//! keep-alive, pipelining, `Content-Length` bodies (read and discarded),
//! `Connection: close`, HTTP/1.0. Every request gets `Hello, World!`.
//! Chunked request bodies are refused with 501 (this is a demo, not a
//! general server).

use std::io::{self, Read, Write};

use weft::coro::net::TcpStream;

/// Largest request head accepted (bigger heads get 431 and a close).
const MAX_HEAD: usize = 16 * 1024;

const HELLO: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

/// What a parsed request head asks of the connection.
struct Head {
    /// Bytes of the head.
    len: usize,
    /// Bytes of body that follow it.
    body: usize,
    keep_alive: bool,
}

/// Parses one request head from `buf`: `Ok(None)` if it is incomplete,
/// `Err(response)` with the error response to send before closing.
fn parse(buf: &[u8]) -> Result<Option<Head>, &'static [u8]> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    let len = match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => {
            return Err(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )
        }
    };
    let mut keep_alive = request.version == Some(1);
    let mut body = 0;
    for header in request.headers.iter() {
        let value = header.value;
        if header.name.eq_ignore_ascii_case("connection") {
            if value.eq_ignore_ascii_case(b"close") {
                keep_alive = false;
            } else if value.eq_ignore_ascii_case(b"keep-alive") {
                keep_alive = true;
            }
        } else if header.name.eq_ignore_ascii_case("content-length") {
            body = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or(
                    &b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        [..],
                )?;
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(
                b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    }
    Ok(Some(Head {
        len,
        body,
        keep_alive,
    }))
}

/// Serves one connection until the client closes it or asks to.
pub fn handle(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; MAX_HEAD];
    let mut filled = 0;
    loop {
        let head = match parse(&buf[..filled]) {
            Ok(Some(head)) => head,
            Ok(None) if filled == buf.len() => {
                stream.write_all(
                    b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )?;
                return Ok(());
            }
            Ok(None) => {
                let n = stream.read(&mut buf[filled..])?;
                if n == 0 {
                    return Ok(());
                }
                filled += n;
                continue;
            }
            Err(response) => {
                stream.write_all(response)?;
                return Ok(());
            }
        };
        // Drop the head and the body: from the buffer first, then from the
        // socket for whatever has not arrived.
        let in_buffer = (head.len + head.body).min(filled);
        buf.copy_within(in_buffer..filled, 0);
        filled -= in_buffer;
        let mut body_left = head.len + head.body - in_buffer;
        while body_left > 0 {
            let n = stream.read(&mut buf[..body_left.min(MAX_HEAD)])?;
            if n == 0 {
                return Ok(());
            }
            body_left -= n;
        }
        stream.write_all(HELLO)?;
        if !head.keep_alive {
            return Ok(());
        }
    }
}

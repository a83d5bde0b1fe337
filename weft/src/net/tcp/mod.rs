//! TCP: listener and stream.

mod listener;
mod stream;

pub use listener::TcpListener;
pub use stream::TcpStream;

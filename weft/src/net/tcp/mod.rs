//! TCP: listener and stream.

mod exhaustion;
mod listener;
mod stream;

pub use listener::TcpListener;
pub use stream::TcpStream;

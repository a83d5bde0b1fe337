//! `ToSocketAddrs`: what `bind` and `connect` accept.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Addresses that weft's `bind` and `connect` accept: socket addresses, `(ip,
/// port)` pairs, and strings of a literal IP and a port (`"127.0.0.1:8080"`,
/// `"[::1]:8080"`, `("10.0.0.1", 80)`). The name `localhost` means the
/// loopback addresses 127.0.0.1 and ::1, in that order.
///
/// Other host names are an `InvalidInput` error for now: resolving them
/// takes a DNS lookup, which weft will run off the loop once it has a
/// blocking pool. (`std::net::ToSocketAddrs` would resolve them by blocking
/// the loop.)
///
/// This trait is sealed.
pub trait ToSocketAddrs: sealed::Resolve {}

pub(crate) mod sealed {
    use super::*;

    /// Turns the value into a list of addresses.
    pub trait Resolve {
        /// The addresses, or why there are none.
        fn resolve(&self) -> io::Result<Vec<SocketAddr>>;
    }
}

use sealed::Resolve;

macro_rules! direct {
    ($($t:ty),*) => {$(
        impl ToSocketAddrs for $t {}
        impl Resolve for $t {
            fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
                Ok(vec![SocketAddr::from(*self)])
            }
        }
    )*};
}

direct!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl ToSocketAddrs for [SocketAddr] {}
impl Resolve for [SocketAddr] {
    fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        Ok(self.to_vec())
    }
}

impl ToSocketAddrs for str {}
impl Resolve for str {
    fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        if let Ok(addr) = self.parse::<SocketAddr>() {
            return Ok(vec![addr]);
        }
        let Some((host, port)) = self.rsplit_once(':') else {
            return Err(invalid(format!(
                "`{self}` is not a socket address: expected an IP address and a port, like \
                 `127.0.0.1:8080` or `[::1]:8080`"
            )));
        };
        let port: u16 = port.parse().map_err(|_| {
            invalid(format!(
                "`{self}` has an invalid port `{port}`: expected 0 to 65535"
            ))
        })?;
        (host, port).resolve()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl Resolve for (&str, u16) {
    fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        let (host, port) = *self;
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        if host.eq_ignore_ascii_case("localhost") {
            return Ok(vec![
                SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port),
                SocketAddr::new(Ipv6Addr::LOCALHOST.into(), port),
            ]);
        }
        Err(invalid(format!(
            "`{host}` is not a literal IP address, and weft cannot resolve host names yet \
             (lookups need the blocking pool, which is not built); pass an IP address"
        )))
    }
}

impl ToSocketAddrs for (String, u16) {}
impl Resolve for (String, u16) {
    fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        (self.0.as_str(), self.1).resolve()
    }
}

impl ToSocketAddrs for String {}
impl Resolve for String {
    fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        self.as_str().resolve()
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: Resolve + ?Sized> Resolve for &T {
    fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        (**self).resolve()
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// Tries `op` on each address in turn; the first success wins, otherwise
/// the last error is returned.
pub(crate) async fn each_addr<A, T, F, Fut>(addr: A, mut op: F) -> io::Result<T>
where
    A: ToSocketAddrs,
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = io::Result<T>>,
{
    let addrs = addr.resolve()?;
    let mut last = None;
    for addr in addrs {
        match op(addr).await {
            Ok(value) => return Ok(value),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| invalid("no addresses to try".to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_literals_and_rejects_names_clearly() {
        assert_eq!(
            "127.0.0.1:80".resolve().unwrap(),
            vec!["127.0.0.1:80".parse().unwrap()]
        );
        assert_eq!(
            "[::1]:80".resolve().unwrap(),
            vec!["[::1]:80".parse().unwrap()]
        );
        assert_eq!(
            ("::1", 9).resolve().unwrap(),
            vec!["[::1]:9".parse().unwrap()]
        );
        assert_eq!("localhost:7".resolve().unwrap().len(), 2);
        let err = "example.com:80".resolve().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("example.com"), "{err}");
        let err = "127.0.0.1".resolve().unwrap_err();
        assert!(err.to_string().contains("port"), "{err}");
        let err = "127.0.0.1:99999".resolve().unwrap_err();
        assert!(err.to_string().contains("99999"), "{err}");
    }
}

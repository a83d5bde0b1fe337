//! `ToSocketAddrs`: what `bind` and `connect` accept.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Addresses that weft's `bind`, `connect` and [`lookup_host`] accept:
/// socket addresses, `(ip, port)` pairs, and strings of a host and a port
/// (`"127.0.0.1:8080"`, `"[::1]:8080"`, `"example.com:443"`,
/// `("example.com", 443)`).
///
/// Literal IPs, and the name `localhost` (127.0.0.1 then ::1), cost nothing;
/// other names are resolved with `getaddrinfo` on the blocking pool, as slow
/// I/O, never on the loop.
///
/// This trait is sealed.
pub trait ToSocketAddrs: sealed::Resolve {}

pub(crate) mod sealed {
    use super::*;

    /// Turns the value into a list of addresses, or a name to look up.
    pub trait Resolve {
        /// The addresses, or the lookup they need, or why there are none.
        fn resolve(&self) -> io::Result<Resolved>;
    }

    /// What [`Resolve::resolve`] found.
    #[derive(Debug, PartialEq, Eq)]
    pub enum Resolved {
        /// Addresses known without a lookup.
        Now(Vec<SocketAddr>),
        /// A host name to resolve, and the port.
        Lookup(String, u16),
    }
}

use sealed::{Resolve, Resolved};

macro_rules! direct {
    ($($t:ty),*) => {$(
        impl ToSocketAddrs for $t {}
        impl Resolve for $t {
            fn resolve(&self) -> io::Result<Resolved> {
                Ok(Resolved::Now(vec![SocketAddr::from(*self)]))
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
    fn resolve(&self) -> io::Result<Resolved> {
        Ok(Resolved::Now(self.to_vec()))
    }
}

impl ToSocketAddrs for str {}
impl Resolve for str {
    fn resolve(&self) -> io::Result<Resolved> {
        if let Ok(addr) = self.parse::<SocketAddr>() {
            return Ok(Resolved::Now(vec![addr]));
        }
        let Some((host, port)) = self.rsplit_once(':') else {
            return Err(invalid(format!(
                "`{self}` is not a socket address: expected a host and a port, like \
                 `127.0.0.1:8080`, `[::1]:8080` or `example.com:443`"
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
    fn resolve(&self) -> io::Result<Resolved> {
        let (host, port) = *self;
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(Resolved::Now(vec![SocketAddr::new(ip, port)]));
        }
        if host.eq_ignore_ascii_case("localhost") {
            return Ok(Resolved::Now(vec![
                SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port),
                SocketAddr::new(Ipv6Addr::LOCALHOST.into(), port),
            ]));
        }
        if host.is_empty() {
            return Err(invalid(format!("`:{port}` has no host")));
        }
        Ok(Resolved::Lookup(host.to_owned(), port))
    }
}

impl ToSocketAddrs for (String, u16) {}
impl Resolve for (String, u16) {
    fn resolve(&self) -> io::Result<Resolved> {
        (self.0.as_str(), self.1).resolve()
    }
}

impl ToSocketAddrs for String {}
impl Resolve for String {
    fn resolve(&self) -> io::Result<Resolved> {
        self.as_str().resolve()
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: Resolve + ?Sized> Resolve for &T {
    fn resolve(&self) -> io::Result<Resolved> {
        (**self).resolve()
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// The addresses `addr` stands for, looking names up on the blocking pool.
async fn resolve<A: ToSocketAddrs + ?Sized>(addr: &A) -> io::Result<Vec<SocketAddr>> {
    let (host, port) = match addr.resolve()? {
        Resolved::Now(addrs) => return Ok(addrs),
        Resolved::Lookup(host, port) => (host, port),
    };
    let name = host.clone();
    let lookup = crate::task::spawn_blocking_with(crate::task::BlockingKind::SlowIo, move || {
        std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
            .map(|addrs| addrs.collect::<Vec<_>>())
    });
    let addrs = lookup
        .await
        .map_err(|e| io::Error::other(format!("resolving `{name}`: the lookup failed: {e}")))?
        .map_err(|e| io::Error::new(e.kind(), format!("resolving `{name}`: {e}")))?;
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("resolving `{name}`: no addresses"),
        ));
    }
    Ok(addrs)
}

/// Resolves `host` (a name or address with a port, as in `"example.com:443"`
/// or `("example.com", 443)`) to socket addresses: through `getaddrinfo` on
/// the blocking pool (slow I/O) for names, at once for literal IPs and
/// `localhost`.
///
/// # Errors
///
/// An `io::Error` naming the host when it does not resolve, or when the
/// input has no port.
///
/// # Panics
///
/// When a name must be looked up outside a weft runtime.
///
/// ```
/// #[weft::main(flavor = "current_thread")]
/// async fn main() -> std::io::Result<()> {
///     let addrs: Vec<_> = weft::net::lookup_host("localhost:80").await?.collect();
///     assert!(addrs.iter().any(|a| a.ip().is_loopback()));
///     Ok(())
/// }
/// ```
pub async fn lookup_host<T: ToSocketAddrs>(
    host: T,
) -> io::Result<impl Iterator<Item = SocketAddr>> {
    Ok(resolve(&host).await?.into_iter())
}

/// Tries `op` on each address in turn; the first success wins, otherwise
/// the last error is returned.
pub(crate) async fn each_addr<A, T, F, Fut>(addr: A, mut op: F) -> io::Result<T>
where
    A: ToSocketAddrs,
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = io::Result<T>>,
{
    let addrs = resolve(&addr).await?;
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
    fn parses_literals_and_defers_names_to_a_lookup() {
        let now =
            |addrs: &[&str]| Resolved::Now(addrs.iter().map(|a| a.parse().unwrap()).collect());
        assert_eq!("127.0.0.1:80".resolve().unwrap(), now(&["127.0.0.1:80"]));
        assert_eq!("[::1]:80".resolve().unwrap(), now(&["[::1]:80"]));
        assert_eq!(("::1", 9).resolve().unwrap(), now(&["[::1]:9"]));
        assert_eq!(
            "localhost:7".resolve().unwrap(),
            now(&["127.0.0.1:7", "[::1]:7"])
        );
        assert_eq!(
            "example.com:80".resolve().unwrap(),
            Resolved::Lookup("example.com".into(), 80)
        );
        let err = "127.0.0.1".resolve().unwrap_err();
        assert!(err.to_string().contains("port"), "{err}");
        let err = "127.0.0.1:99999".resolve().unwrap_err();
        assert!(err.to_string().contains("99999"), "{err}");
    }
}

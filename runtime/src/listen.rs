//! Binding a listening socket with a backlog sized for bursts of new connections.
//!
//! `TcpListener::bind` asks the kernel for a backlog of 1024. A public edge sees bursts of
//! thousands of new connections a second (a release, a reconnect storm after a network blip):
//! when the accept loop falls a few hundred milliseconds behind, a full queue drops SYNs and
//! each dropped client waits a whole second for its retransmit. Measured with the gateway
//! audio benchmark at 12,800 listeners starting over 2 s: 3,379 listen-queue overflows and a
//! first-byte p99 over a second.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket};

/// The backlog asked for; the kernel caps it at `net.core.somaxconn` (4096 by default since
/// Linux 5.4).
pub const BACKLOG: u32 = 4096;

/// A listener on `addr` with [`BACKLOG`], address reuse on, as `TcpListener::bind` sets it.
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn binds_a_free_port_and_accepts() -> io::Result<()> {
        let listener = bind("127.0.0.1:0".parse().map_err(io::Error::other)?)?;
        let addr = listener.local_addr()?;
        assert_ne!(addr.port(), 0);
        let (client, accepted) =
            tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
        assert_eq!(accepted?.1, client?.local_addr()?);
        Ok(())
    }
}

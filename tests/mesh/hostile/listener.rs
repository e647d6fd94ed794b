//! Hostile: listener. The gateway's listener survives slowloris and connection floods (issue
//! 13, item 4): connections over the per-address cap are closed at once, request heads that
//! never finish and connections that send nothing are closed by the header timeout, and a
//! listener from another address is served throughout.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tunemesh_testkit::accounts;

use crate::support::RunningMesh;

/// `gateway.connections.max_per_ip` by default.
const MAX_PER_IP: usize = 256;
/// `gateway.connections.header_read_timeout` by default.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Half-sent request heads, spread over addresses so each is under the per-address cap.
const SLOWLORIS: usize = 300;
/// Idle connections from one address.
const IDLE: usize = 3000;

/// A connection to `to` from the loopback address `from` (every 127.x.y.z is this host).
async fn connect(from: Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(IpAddr::V4(from), 0))?;
    socket.connect(to).await
}

/// Opens `count` connections from `from`, `head` written on each, many at a time.
async fn open(
    count: usize,
    from: Ipv4Addr,
    to: SocketAddr,
    head: &'static [u8],
) -> anyhow::Result<Vec<TcpStream>> {
    let mut opened = Vec::with_capacity(count);
    let mut batch = JoinSet::new();
    for i in 0..count {
        batch.spawn(async move {
            let mut stream = connect(from, to).await?;
            if !head.is_empty() {
                stream.write_all(head).await?;
            }
            Ok::<_, std::io::Error>(stream)
        });
        if batch.len() == 200 || i + 1 == count {
            while let Some(stream) = batch.join_next().await {
                opened.push(stream??);
            }
        }
    }
    Ok(opened)
}

/// Whether the server has closed `stream` (end of stream or reset); any answer it sent
/// first (a 408 to an unfinished head, say) is read past.
async fn is_closed(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 256];
    loop {
        // A close already received is read at once; an open socket has nothing to read.
        match tokio::time::timeout(Duration::from_millis(2), stream.read(&mut buf)).await {
            Err(_elapsed) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// How many of `streams` the server has closed.
async fn closed(streams: &mut [TcpStream]) -> usize {
    let mut closed = 0;
    for stream in streams {
        if is_closed(stream).await {
            closed += 1;
        }
    }
    closed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slowloris_and_idle_floods_are_closed_and_other_clients_served() -> anyhow::Result<()> {
    let mesh = RunningMesh::start().await?;
    mesh.wait_ready().await?;
    let gateway = mesh.gateway;

    // A few hundred request heads that never finish, from three addresses.
    let mut slowloris = Vec::new();
    for n in 1..=3 {
        let from = Ipv4Addr::new(127, 0, 1, n);
        let head = b"GET /v1/tracks HTTP/1.1\r\nHost: tunemesh\r\nX-Slow: ";
        slowloris.extend(open(SLOWLORIS / 3, from, gateway, head).await?);
    }
    // A few thousand connections that send nothing, from one address.
    let idle = open(IDLE, Ipv4Addr::new(127, 0, 2, 1), gateway, b"").await?;
    let opened = Instant::now();

    // Everything over the address's cap is closed as soon as the gateway accepts it (well
    // before the header timeout would close the rest).
    let mut open_ones: Vec<TcpStream> = idle;
    let mut shut = Vec::new();
    while opened.elapsed() < HEADER_READ_TIMEOUT - Duration::from_secs(3) {
        let mut still = Vec::new();
        for mut stream in open_ones {
            if is_closed(&mut stream).await {
                shut.push(stream);
            } else {
                still.push(stream);
            }
        }
        open_ones = still;
        if open_ones.len() <= MAX_PER_IP {
            // Exactly the cap's worth is served.
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Some connections the kernel completed (on a machine this loaded, up to a few hundred)
    // reach the gateway only when their handshake is retried, seconds later: allow for them.
    assert!(
        open_ones.len() < MAX_PER_IP + IDLE / 10,
        "{} connections from one address stayed open, over the cap of {MAX_PER_IP}",
        open_ones.len()
    );
    let mut idle = open_ones;
    idle.extend(shut);

    // Meanwhile a listener from another address signs up and browses.
    let victim = reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
        .timeout(Duration::from_secs(5))
        .build()?;
    let base = mesh.url("");
    let session = accounts::sign_up(&victim, &base, "victim", "a long enough passphrase").await?;
    let token = accounts::access_token(&session)?;
    let tracks = victim
        .get(mesh.url("/v1/tracks"))
        .bearer_auth(token)
        .send()
        .await?;
    assert_eq!(tracks.status(), 200);

    // The unfinished heads and the silent connections are closed by the header timeout.
    tokio::time::sleep_until((opened + HEADER_READ_TIMEOUT + Duration::from_secs(3)).into()).await;
    assert_eq!(
        closed(&mut slowloris).await,
        SLOWLORIS,
        "half-sent request heads stayed open"
    );
    // The silent connections the gateway admitted are closed too: their address gets its
    // places back (checked below). Not every socket is checked here: a few the kernel left
    // in an overflowing accept queue never reach the gateway and wait for the client's own
    // timeout.

    // Their places are free again: the flooding address is served once it behaves.
    let again = reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 2, 1)))
        .timeout(Duration::from_secs(5))
        .build()?;
    let health = again.get(mesh.url("/healthz")).send().await?;
    assert_eq!(health.status(), 200);
    drop((slowloris, idle));
    mesh.stop().await
}

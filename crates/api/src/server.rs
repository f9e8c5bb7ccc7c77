//! The accept loop — plain HTTP/1.1, or TLS with HTTP/2 and HTTP/1.1 over ALPN — with the limits
//! a public-facing service needs: at most N open connections, a deadline for the TLS handshake
//! and for receiving request headers (slowloris), a cap on header size, a deadline for each whole
//! request, and graceful shutdown.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Connection and request limits (`clientca serve` flags).
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Open connections at most; further clients wait in the listen backlog until one closes.
    pub max_connections: usize,
    /// Open connections from one client address at most (0: no such cap); one more is closed at
    /// once, so a single address cannot take every slot. Behind a reverse proxy every client
    /// shares its address: set this to `max_connections` there.
    pub max_connections_per_address: usize,
    /// A client must send a complete request head within this time, or the connection is closed.
    pub header_read_timeout: Duration,
    /// Request head size at most (bigger heads are answered 431). At least 8 KiB.
    pub max_header_bytes: usize,
    /// How long graceful shutdown waits for open requests before closing connections.
    pub shutdown_grace: Duration,
    /// An HTTP/2 connection with no bytes in either direction for this long is closed (HTTP/1.1
    /// has `header_read_timeout` for that). Longer than any request may take.
    pub idle_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_connections_per_address: 256,
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            shutdown_grace: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(40),
        }
    }
}

/// Concurrent requests on one HTTP/2 connection at most.
const MAX_H2_STREAMS: u32 = 128;

/// When a connection last moved a byte, in milliseconds since `since`.
struct LastIo {
    since: Instant,
    at_ms: AtomicU64,
}

impl LastIo {
    fn touch(&self) {
        let now = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.at_ms.store(now, Ordering::Relaxed);
    }

    fn idle(&self) -> Duration {
        self.since
            .elapsed()
            .saturating_sub(Duration::from_millis(self.at_ms.load(Ordering::Relaxed)))
    }

    /// Resolves once no byte has moved for `limit`.
    async fn silent_for(&self, limit: Duration) {
        loop {
            let idle = self.idle();
            if idle >= limit {
                return;
            }
            tokio::time::sleep(limit - idle).await;
        }
    }
}

/// A stream that records when it last read or wrote a byte.
struct Tracked<S> {
    inner: S,
    last: Arc<LastIo>,
}

impl<S> Tracked<S> {
    fn new(inner: S) -> (Self, Arc<LastIo>) {
        let last = Arc::new(LastIo {
            since: Instant::now(),
            at_ms: AtomicU64::new(0),
        });
        (
            Self {
                inner,
                last: Arc::clone(&last),
            },
            last,
        )
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.last.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.last.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Serve `router` on `listener` until `shutdown` resolves, then finish in-flight requests (up to
/// `shutdown_grace`). With `tls`, every connection is TLS first (its ALPN picks HTTP/2 or 1.1).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let tls = tls.map(tokio_rustls::TlsAcceptor::from);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let per_address = PerAddress::new(limits.max_connections_per_address);
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8 * 1024))
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        // Take a slot before accepting: when all are taken, new clients queue in the backlog.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(per_address) = per_address.admit(peer.ip()) else {
            tracing::debug!(%peer, "closing a connection over the per-address limit");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service =
            TowerToHyperService::new(router.clone().layer(axum::Extension(ConnectInfo(peer))));
        let Some(tls) = &tls else {
            let connection =
                graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%error, %peer, "connection ended with an error");
                }
                drop(per_address);
                drop(slot);
            });
            continue;
        };
        let (tls, http1, watcher) = (tls.clone(), builder.clone(), graceful.watcher());
        let handshake_deadline = limits.header_read_timeout;
        let max_headers = u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX);
        let idle_timeout = limits.idle_timeout;
        tokio::spawn(async move {
            // The handshake counts against the header deadline: a client that stalls in it
            // holds a slot no longer than one that stalls in its headers.
            match tokio::time::timeout(handshake_deadline, tls.accept(stream)).await {
                Ok(Ok(stream)) => {
                    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                    let ended = if h2 {
                        let mut http2 = http2::Builder::new(TokioExecutor::new());
                        http2
                            .timer(TokioTimer::new())
                            .max_header_list_size(max_headers)
                            .max_concurrent_streams(MAX_H2_STREAMS);
                        // hyper's HTTP/2 server has no idle timeout: without one, a client that
                        // finishes the handshake and goes silent holds its slot forever.
                        let (io, last_io) = Tracked::new(stream);
                        let connection =
                            watcher.watch(http2.serve_connection(TokioIo::new(io), service));
                        tokio::select! {
                            ended = connection => ended,
                            () = last_io.silent_for(idle_timeout) => {
                                tracing::debug!(%peer, "closing an idle HTTP/2 connection");
                                Ok(())
                            }
                        }
                    } else {
                        let io = TokioIo::new(stream);
                        watcher.watch(http1.serve_connection(io, service)).await
                    };
                    if let Err(error) = ended {
                        tracing::debug!(%error, %peer, "connection ended with an error");
                    }
                }
                Ok(Err(error)) => tracing::debug!(%error, %peer, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
            drop(per_address);
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("graceful shutdown timed out; closing remaining connections");
    }
    Ok(())
}

/// Open connections per client address.
#[derive(Clone)]
struct PerAddress {
    cap: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One admitted connection; counted until dropped.
struct Admitted {
    address: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PerAddress {
    fn new(cap: usize) -> Self {
        Self {
            cap,
            open: Arc::default(),
        }
    }

    /// `None` when `address` already has `cap` connections open.
    fn admit(&self, address: IpAddr) -> Option<Admitted> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(address).or_default();
        if self.cap != 0 && *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(Admitted {
            address,
            open: Arc::clone(&self.open),
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

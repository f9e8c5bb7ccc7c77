//! The accept loop — plain HTTP/1.1, or TLS with HTTP/2 and HTTP/1.1 over ALPN — with the limits
//! a public-facing service needs: at most N open connections, a deadline for the TLS handshake
//! and for receiving request headers (slowloris), a cap on header size, a deadline for each whole
//! request, and graceful shutdown.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
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
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_connections_per_address: 256,
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            shutdown_grace: Duration::from_secs(10),
        }
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
        tokio::spawn(async move {
            // The handshake counts against the header deadline: a client that stalls in it
            // holds a slot no longer than one that stalls in its headers.
            match tokio::time::timeout(handshake_deadline, tls.accept(stream)).await {
                Ok(Ok(stream)) => {
                    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                    let io = TokioIo::new(stream);
                    let ended = if h2 {
                        let mut http2 = http2::Builder::new(TokioExecutor::new());
                        http2
                            .timer(TokioTimer::new())
                            .max_header_list_size(max_headers);
                        watcher.watch(http2.serve_connection(io, service)).await
                    } else {
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

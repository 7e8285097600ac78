//! One stream type for plain and TLS connections.
//!
//! actix-http's HTTP/1 and HTTP/2 dispatchers are generic over the stream
//! and compiled once for every stream type served. actix-web's
//! `HttpServer` serves `TcpStream` and rustls' `TlsStream` as two types, so
//! both dispatchers were in the binary twice; over this one enum they are
//! in it once (BENCHMARKS.md, "HTTPS": the size table).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_http::Protocol;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use crate::tls::Handshake;

/// An accepted connection, ready for HTTP.
pub enum Connection {
    Plain(TcpStream),
    /// Boxed: rustls' connection state is a kilobyte and more, a plain
    /// connection needs none of it.
    Tls(Box<TlsStream<TcpStream>>),
}

/// Makes an accepted TCP connection ready for HTTP: as it is, or after a
/// TLS handshake. The protocol is HTTP/2 when the client chose `h2` by
/// ALPN, else HTTP/1.1; `None` when the handshake failed (the connection
/// is closed; [`Handshake`] counts it).
pub async fn open(
    stream: TcpStream,
    tls: Option<&Handshake>,
) -> Option<(Connection, Protocol, Option<SocketAddr>)> {
    let peer = stream.peer_addr().ok();
    match tls {
        None => Some((Connection::Plain(stream), Protocol::Http1, peer)),
        Some(handshake) => {
            let stream = handshake.accept(stream).await?;
            let connection = Connection::Tls(Box::new(stream));
            let protocol = match connection.is_http2() {
                true => Protocol::Http2,
                false => Protocol::Http1,
            };
            Some((connection, protocol, peer))
        }
    }
}

impl Connection {
    /// Whether the client chose HTTP/2.
    pub fn is_http2(&self) -> bool {
        match self {
            Self::Plain(_) => false,
            Self::Tls(stream) => stream.get_ref().1.alpn_protocol() == Some(b"h2"),
        }
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(stream) => stream.is_write_vectored(),
            Self::Tls(stream) => stream.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }
}

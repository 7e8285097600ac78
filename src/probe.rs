//! `user-service wait-ready`: polls a running service's `/ready` until it
//! answers 200, for systemd's `ExecStartPost` and scripts on machines with no
//! HTTP client installed. Plain HTTP/1.0 over a TCP socket; nothing else.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Polls `http://{address}/ready` until 200 or `timeout`; `Err` says what was
/// seen last.
pub fn wait_ready(address: &str, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut last = String::from("no answer yet");
    while Instant::now() < deadline {
        match probe(address) {
            Ok(200) => return Ok(()),
            Ok(status) => last = format!("/ready answered {status}"),
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!(
        "{address} was not ready within {} s: {last}",
        timeout.as_secs()
    ))
}

fn probe(address: &str) -> Result<u16, String> {
    let target: SocketAddr = address
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {address}: {e}"))?
        .next()
        .ok_or_else(|| format!("{address} resolves to nothing"))?;
    let mut stream = TcpStream::connect_timeout(&target, Duration::from_secs(2))
        .map_err(|e| format!("cannot connect to {address}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(format!("GET /ready HTTP/1.0\r\nHost: {address}\r\n\r\n").as_bytes())
        .map_err(|e| format!("cannot send to {address}: {e}"))?;
    let mut head = [0u8; 64];
    let read = stream
        .read(&mut head)
        .map_err(|e| format!("no answer from {address}: {e}"))?;
    // "HTTP/1.1 200 OK": the status is the second word.
    std::str::from_utf8(&head[..read])
        .ok()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("{address} did not answer HTTP"))
}

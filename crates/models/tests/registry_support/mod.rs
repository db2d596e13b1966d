//! Shared helpers of the registry tests: locating the shared model assets (`UPFRAME_ASSETS`)
//! and a tiny HTTP/1.1 server on 127.0.0.1 that serves a real weight file, intact or damaged.

#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `<assets>/models`, where `<assets>` is `UPFRAME_ASSETS` or the workspace's `../shared`.
/// `None` (with a printed reason) when missing; a panic when `CI` is set.
pub fn shared_models_dir() -> Option<PathBuf> {
    let root = std::env::var_os("UPFRAME_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    let dir = root.join("models");
    if dir.join("realesr-animevideov3.pth").is_file() {
        return Some(dir);
    }
    let reason = format!("shared model assets not found at {}", dir.display());
    if std::env::var_os("CI").is_some() {
        panic!("{reason} (CI is set, so this is a failure)");
    }
    eprintln!("skipping: {reason}");
    None
}

/// A bounded HTTP/1.1 server on 127.0.0.1 serving one file under several behaviours, chosen by
/// the first path segment: `good`, `corrupt` (one byte flipped), `truncated` (full
/// Content-Length, half the body, then close), `short` (half the body, Content-Length to
/// match), `unsized` (half the body, no Content-Length), `missing` (404), `redirect` (302 to
/// `good`), `loop` (302 to itself). It also acts as an HTTP CONNECT proxy: a `CONNECT` request
/// is recorded, answered with 200, and the tunnelled request is served as above.
pub struct TestServer {
    pub address: String,
    requests: Arc<AtomicUsize>,
    connect_targets: Arc<Mutex<Vec<String>>>,
}

impl TestServer {
    pub fn start(body: Vec<u8>, max_connections: usize) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let address = format!("http://{}", listener.local_addr().expect("local addr"));
        let requests = Arc::new(AtomicUsize::new(0));
        let connect_targets = Arc::new(Mutex::new(Vec::new()));
        let (counter, targets) = (requests.clone(), connect_targets.clone());
        std::thread::spawn(move || {
            for _ in 0..max_connections {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = handle(stream, &body, &targets);
            }
        });
        TestServer {
            address,
            requests,
            connect_targets,
        }
    }

    /// The `host:port` of every CONNECT request received so far.
    pub fn connect_targets(&self) -> Vec<String> {
        self.connect_targets
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default()
    }

    /// Base URL of one behaviour, e.g. `base("corrupt")`.
    pub fn base(&self, behaviour: &str) -> String {
        format!("{}/{behaviour}", self.address)
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Reads a request line and its headers; returns the request line.
fn read_head(reader: &mut impl BufRead) -> std::io::Result<String> {
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" {
            break;
        }
    }
    Ok(request_line)
}

fn handle(
    stream: TcpStream,
    body: &[u8],
    connect_targets: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = read_head(&mut reader)?;
    if let Some(target) = request_line.strip_prefix("CONNECT ") {
        let target = target.split_whitespace().next().unwrap_or("").to_string();
        if let Ok(mut targets) = connect_targets.lock() {
            targets.push(target);
        }
        (&stream).write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
        request_line = read_head(&mut reader)?;
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let mut segments = path.trim_start_matches('/').splitn(2, '/');
    let behaviour = segments.next().unwrap_or("");
    let file = segments.next().unwrap_or("");
    let half = &body[..body.len() / 2];
    let mut out = stream;
    let ok = |length: Option<usize>| {
        let length = length
            .map(|n| format!("Content-Length: {n}\r\n"))
            .unwrap_or_default();
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n{length}Connection: close\r\n\r\n"
        )
    };
    match behaviour {
        "good" => {
            out.write_all(ok(Some(body.len())).as_bytes())?;
            out.write_all(body)?;
        }
        "corrupt" => {
            let mut damaged = body.to_vec();
            let middle = damaged.len() / 2;
            damaged[middle] ^= 0x01;
            out.write_all(ok(Some(body.len())).as_bytes())?;
            out.write_all(&damaged)?;
        }
        "truncated" => {
            out.write_all(ok(Some(body.len())).as_bytes())?;
            out.write_all(half)?;
        }
        "short" => {
            out.write_all(ok(Some(half.len())).as_bytes())?;
            out.write_all(half)?;
        }
        "unsized" => {
            out.write_all(ok(None).as_bytes())?;
            out.write_all(half)?;
        }
        "redirect" | "loop" => {
            let target = if behaviour == "redirect" {
                "good"
            } else {
                "loop"
            };
            let response = format!(
                "HTTP/1.1 302 Found\r\nLocation: /{target}/{file}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            out.write_all(response.as_bytes())?;
        }
        _ => {
            let message = b"not found";
            let head = format!(
                "HTTP/1.1 404 Not Found\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                message.len()
            );
            out.write_all(head.as_bytes())?;
            out.write_all(message)?;
        }
    }
    out.flush()?;
    out.shutdown(std::net::Shutdown::Write)
}

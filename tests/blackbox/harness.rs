//! Test harness: starts the real `redyn` binary on an ephemeral port with a temporary data
//! directory, and hands out clients.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Longest a test waits for a process to exit (after SIGTERM, or a one-shot command such as
/// `redyn import-rdb`), and for a reply on a client connection.
pub const DEADLINE: Duration = Duration::from_secs(90);

/// Where a test server listens, and the clients a test opens to it. Shared by the process
/// harness ([`TestServer`]) and the in-process one (`inproc::InProcServer`), which both
/// dereference to it so tests write `server.client()` / `server.addr` with either.
pub struct Endpoint {
    pub addr: SocketAddr,
}

impl Endpoint {
    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    /// A synchronous client (RESP2).
    pub fn client(&self) -> redis::Connection {
        connect(&self.url()).expect("connect")
    }

    /// A synchronous RESP3 client.
    pub fn client_resp3(&self) -> redis::Connection {
        connect(&format!("{}?protocol=resp3", self.url())).expect("connect")
    }

    /// An async multiplexed client.
    pub async fn async_client(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url())
            .expect("client")
            .get_multiplexed_async_connection()
            .await
            .expect("connect")
    }

    /// A raw TCP connection for protocol-level tests.
    pub fn raw(&self) -> RawConn {
        let stream = TcpStream::connect(self.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        RawConn { stream }
    }
}

/// A synchronous client whose reads and writes give up after [`DEADLINE`]: a server that stops
/// answering fails the test instead of holding the suite until CI's time runs out.
fn connect(url: &str) -> redis::RedisResult<redis::Connection> {
    let con = redis::Client::open(url)?.get_connection_with_timeout(DEADLINE)?;
    con.set_read_timeout(Some(DEADLINE))?;
    con.set_write_timeout(Some(DEADLINE))?;
    Ok(con)
}

/// A running `redyn` process. Killed when dropped.
pub struct TestServer {
    child: Option<Child>,
    endpoint: Endpoint,
    dir: tempfile::TempDir,
    extra_args: Vec<String>,
    /// `ulimit -n` for the process, when a test sets one.
    open_file_limit: Option<u64>,
}

impl std::ops::Deref for TestServer {
    type Target = Endpoint;

    fn deref(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl TestServer {
    /// Starts a server with default settings.
    pub fn start() -> TestServer {
        TestServer::start_with(&[])
    }

    /// Starts a server with extra command-line arguments (e.g. `["--appendfsync", "always"]`).
    pub fn start_with(args: &[&str]) -> TestServer {
        TestServer::launch(args, None)
    }

    /// Starts a server whose open-file limit (soft and hard) is `limit`.
    pub fn start_with_open_file_limit(limit: u64, args: &[&str]) -> TestServer {
        TestServer::launch(args, Some(limit))
    }

    fn launch(args: &[&str], open_file_limit: Option<u64>) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let extra_args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (child, addr) = spawn(dir.path(), &extra_args, open_file_limit);
        TestServer {
            child: Some(child),
            endpoint: Endpoint { addr },
            dir,
            extra_args,
            open_file_limit,
        }
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The numbers of the write buffer's journal segments, oldest first (a segment goes once
    /// fjall holds its rows).
    pub fn journal_segments(&self) -> Vec<u64> {
        let mut segments: Vec<u64> = std::fs::read_dir(self.data_dir().join("journal"))
            .unwrap()
            .filter_map(|e| {
                e.ok()?
                    .file_name()
                    .to_str()?
                    .strip_suffix(".log")?
                    .parse()
                    .ok()
            })
            .collect();
        segments.sort_unstable();
        segments
    }

    /// Writes 24 MB and waits until fjall holds everything written before (needs the
    /// smallest memory budget, `--maxmemory 32mb`, which freezes the write buffer every
    /// 4 MB; journal segments go once fjall holds their rows).
    pub fn move_to_fjall(&self, c: &mut redis::Connection) {
        let before = *self.journal_segments().last().unwrap();
        let filler = "x".repeat(1000);
        for chunk in 0..24 {
            let mut pipe = redis::pipe();
            for i in 0..1000 {
                pipe.cmd("SET")
                    .arg(format!("fill{before}:{chunk}:{i}"))
                    .arg(&filler)
                    .ignore();
            }
            let () = pipe.query(c).unwrap();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while self.journal_segments()[0] <= before {
            assert!(
                std::time::Instant::now() < deadline,
                "the rows never reached fjall"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends SIGTERM and waits for the process; returns its exit code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        signal(&child, "TERM");
        wait_or_dump(&mut child, DEADLINE, "redyn after SIGTERM").code()
    }

    /// Kills the process with SIGKILL (no chance to flush anything).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(&child, "KILL");
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same data directory (after stop/kill9).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop the server before restarting it");
        let (child, addr) = spawn(self.dir.path(), &self.extra_args, self.open_file_limit);
        self.child = Some(child);
        self.endpoint.addr = addr;
    }

    /// Waits for the process to exit by itself (after SHUTDOWN); returns its exit code.
    pub fn wait_exit(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        wait_or_dump(&mut child, Duration::from_secs(10), "redyn after SHUTDOWN").code()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => child.try_wait().expect("try_wait").is_none(),
            None => false,
        }
    }

    /// Process id (for RSS checks and signals).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits for `child` to exit. If it has not within `deadline`, prints its threads' stacks
/// (with gdb, when installed), kills it and fails the test: a hang then costs the deadline
/// and says where it is.
pub fn wait_or_dump(child: &mut Child, deadline: Duration, what: &str) -> std::process::ExitStatus {
    let until = Instant::now() + deadline;
    while Instant::now() < until {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id();
    match Command::new("gdb")
        .args([
            "-p",
            &pid.to_string(),
            "-batch",
            "-ex",
            "thread apply all bt",
        ])
        .output()
    {
        Ok(out) => eprintln!("{}", String::from_utf8_lossy(&out.stdout)),
        Err(e) => eprintln!("no stacks for pid {pid}: gdb did not run ({e})"),
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("{what} (pid {pid}) did not exit within {deadline:?}; its stacks are above");
}

/// Runs `command` to completion (see [`wait_or_dump`], with [`DEADLINE`]) and returns whether it succeeded,
/// with its stdout and stderr.
pub fn run_to_end(command: &mut Command, what: &str) -> (bool, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {what}: {e}"));
    let readers = [drain(child.stdout.take()), drain(child.stderr.take())];
    let status = wait_or_dump(&mut child, DEADLINE, what);
    let text = readers.map(|r| r.join().expect("pipe reader")).concat();
    (status.success(), text)
}

/// Reads a child's pipe to its end on a thread (so a full pipe never blocks the child).
fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([format!("-{sig}"), child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_redyn"))
}

/// The command that runs `redyn`, through `sh -c 'ulimit -n …; exec redyn …'` when the
/// test sets an open-file limit.
fn redyn_command(open_file_limit: Option<u64>) -> Command {
    match open_file_limit {
        None => Command::new(binary()),
        Some(limit) => {
            let mut sh = Command::new("sh");
            sh.arg("-c")
                .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                .arg(binary());
            sh
        }
    }
}

/// Spawns `redyn --port 0` and reads the bound address from its log.
fn spawn(dir: &Path, extra: &[String], open_file_limit: Option<u64>) -> (Child, SocketAddr) {
    let mut child = redyn_command(open_file_limit)
        .args(["--port", "0", "--bind", "127.0.0.1", "--dir"])
        .arg(dir)
        // Metrics are off unless a test turns them on: parallel test servers cannot all
        // listen on the default metrics port.
        .args(if extra.iter().any(|a| a == "--metrics-addr") {
            &[][..]
        } else {
            &["--metrics-addr", "off"][..]
        })
        // Likewise the DynamoDB API (default port 8000) is off unless a test asks for it.
        .args(if extra.iter().any(|a| a == "--dynamodb-port") {
            &[][..]
        } else {
            &["--dynamodb-port", "off"][..]
        })
        .args(extra)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn redyn");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !sent {
                if let Some(pos) = line.find("ready to accept connections on ") {
                    let addr = line[pos + "ready to accept connections on ".len()..].trim();
                    let addr = strip_ansi(addr);
                    let _ = tx.send(addr.parse::<SocketAddr>().expect("address in log"));
                    sent = true;
                }
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("server did not start within 60s");
    (child, addr)
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A raw protocol connection.
pub struct RawConn {
    pub stream: TcpStream,
}

impl RawConn {
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Reads until `expected_len` bytes arrived (or the peer closed / timed out).
    pub fn read_n(&mut self, expected_len: usize) -> Vec<u8> {
        let mut out = vec![0u8; expected_len];
        let mut got = 0;
        while got < expected_len {
            match self.stream.read(&mut out[got..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        out.truncate(got);
        out
    }

    /// Reads one CRLF-terminated line (including the CRLF).
    pub fn read_line(&mut self) -> String {
        let mut out = Vec::new();
        let mut byte = [0u8; 1];
        while !out.ends_with(b"\r\n") {
            match self.stream.read(&mut byte) {
                Ok(0) | Err(_) => break,
                Ok(_) => out.push(byte[0]),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Whether the server closed the connection (EOF within the timeout).
    pub fn is_closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.stream.read(&mut byte), Ok(0))
    }
}

/// Runs a command and returns the raw redis::Value (for type-level assertions).
pub fn value(con: &mut redis::Connection, args: &[&str]) -> redis::Value {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(con).expect("command failed")
}

/// Runs a command that must fail and returns the error text as Redis sent it
/// (e.g. `ERR syntax error`, `WRONGTYPE Operation against ...`).
pub fn error(con: &mut redis::Connection, args: &[&str]) -> String {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    let err = cmd
        .query::<redis::Value>(con)
        .expect_err("command should have failed");
    error_text(&err)
}

/// The full error line of a redis-rs error (`CODE detail`).
pub fn error_text(err: &redis::RedisError) -> String {
    match (err.code(), err.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        _ => err.to_string(),
    }
}

/// Runs a command expected to succeed and converts its reply.
pub fn q<T: redis::FromRedisValue>(con: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(con)
        .unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

/// The number INFO `section` reports as `name`.
pub fn info_number(con: &mut redis::Connection, section: &str, name: &str) -> u64 {
    let info: String = q(con, &["INFO", section]);
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no number {name} in INFO {section}"))
}

/// A loopback port that was free a moment ago (for listeners a test configures itself).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Fetches a plain-text HTTP resource (e.g. `/metrics`) with a minimal HTTP/1.1 GET.
pub fn http_get(addr: &str, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut body = String::new();
    stream.read_to_string(&mut body).ok()?;
    let (head, rest) = body.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| rest.to_string())
}

/// Polls `check` every 100ms until it returns true or `secs` pass (a failure guard, not a
/// speed assertion); returns whether it succeeded.
pub fn eventually(secs: u64, mut check: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    check()
}

/// Waits until the server reports at least `n` blocked clients (so a test can be sure a
/// blocking command is waiting before it writes), up to a generous failure timeout.
pub fn wait_for_blocked_clients(url: &str, n: u64) {
    let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
    let ok = eventually(30, || {
        info_number(&mut con, "clients", "blocked_clients") >= n
    });
    assert!(ok, "no client became blocked");
}

/// Runs a native table command (`DDB.<op>` with a JSON request body) and parses the reply;
/// an error reply comes back as its full text.
pub fn ddb_result(
    con: &mut redis::Connection,
    op: &str,
    body: serde_json::Value,
) -> Result<serde_json::Value, String> {
    let mut cmd = redis::cmd(&format!("DDB.{op}"));
    cmd.arg(body.to_string());
    match cmd.query::<String>(con) {
        Ok(reply) => Ok(serde_json::from_str(&reply).expect("JSON reply")),
        Err(e) => Err(error_text(&e)),
    }
}

/// Runs a native table command that must succeed.
pub fn ddb(con: &mut redis::Connection, op: &str, body: serde_json::Value) -> serde_json::Value {
    ddb_result(con, op, body).unwrap_or_else(|e| panic!("DDB.{op} failed: {e}"))
}

/// Creates a table keyed by a partition key only (`key_type`: S, N or B).
pub fn create_simple_table(con: &mut redis::Connection, name: &str, key: &str, key_type: &str) {
    ddb(
        con,
        "CREATETABLE",
        serde_json::json!({"TableName": name,
            "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": key, "AttributeType": key_type}]}),
    );
}

/// A real redis-server on a free port, for tests that compare replies with it; `None`
/// (after saying so) when redis-server is not installed. Killed on drop.
pub struct RealRedis {
    child: std::process::Child,
    dir: tempfile::TempDir,
    pub url: String,
}

impl RealRedis {
    pub fn start() -> Option<RealRedis> {
        let installed = std::process::Command::new("redis-server")
            .arg("--version")
            .output()
            .is_ok();
        if !installed {
            eprintln!("redis-server not installed: skipping the comparison");
            return None;
        }
        // The port was free a moment ago; another test's server may take it before
        // redis-server binds it. Then redis-server exits, or (worse) a client would talk to
        // that other server: so the server answering must be this process, or we retry.
        for _ in 0..5 {
            let port = free_port();
            let dir = tempfile::tempdir().unwrap();
            let child = std::process::Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .current_dir(dir.path())
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("start redis-server");
            let mut real = RealRedis {
                child,
                dir,
                url: format!("redis://127.0.0.1:{port}/"),
            };
            if real.answers_as_itself() {
                return Some(real);
            }
        }
        panic!("redis-server did not start");
    }

    /// Waits until this redis-server answers on its port (its INFO names its own process);
    /// false if it exited first or never answered.
    fn answers_as_itself(&mut self) -> bool {
        let pid = format!("process_id:{}", self.child.id());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.child.try_wait().expect("try_wait").is_some() {
                return false;
            }
            if let Some(mut c) = self.try_client() {
                let info: String = q(&mut c, &["INFO", "server"]);
                return info.lines().any(|l| l.trim() == pid);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    fn try_client(&self) -> Option<redis::Connection> {
        connect(&self.url).ok()
    }

    pub fn client(&self) -> redis::Connection {
        self.try_client().expect("connect to redis-server")
    }

    /// Its working directory (where SAVE writes `dump.rdb`).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for RealRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small deterministic generator (xorshift), so randomized tests reproduce.
pub struct Rng(pub u64);

impl Rng {
    fn step(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.step() % n
    }

    /// A number in `[lo, hi)`.
    pub fn between(&mut self, lo: f64, hi: f64) -> f64 {
        let unit = (self.step() >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * unit
    }
}

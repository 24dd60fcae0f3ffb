//! Network-facing safety (issue 16): protected mode, `maxclients` against the open-file
//! limit, and slow senders that trickle a large request.

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, TcpStream, UdpSocket};
use std::time::Duration;

use crate::harness::{error, q, TestServer};

/// An address of this machine other than loopback, if it has one: the source address the
/// kernel would pick to reach a few outside hosts (a UDP "connect" sends nothing).
fn non_loopback_address() -> Option<IpAddr> {
    ["192.0.2.1:9", "10.255.255.1:9", "8.8.8.8:9"]
        .iter()
        .find_map(|target| {
            let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
            socket.connect(target).ok()?;
            let ip = socket.local_addr().ok()?.ip();
            (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
        })
}

/// The first line the server sends after `PING` on a fresh connection from `ip`.
fn first_line_from(ip: IpAddr, port: u16) -> String {
    let mut stream = TcpStream::connect((ip, port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(b"PING\r\n").unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    line.trim_end().to_string()
}

#[test]
fn protected_mode_refuses_other_hosts_until_a_password_is_set() {
    let Some(outside) = non_loopback_address() else {
        eprintln!("this machine has no non-loopback address: protected mode not checked");
        return;
    };
    let server = TestServer::start_with(&["--bind", "0.0.0.0"]);
    let port = server.addr.port();
    let loopback: IpAddr = "127.0.0.1".parse().unwrap();
    let mut local = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .unwrap()
        .get_connection()
        .unwrap();

    let denied = first_line_from(outside, port);
    assert!(
        denied.starts_with("-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user."),
        "{denied}"
    );
    assert_eq!(first_line_from(loopback, port), "+PONG");

    // With a password the outside client reaches AUTH instead.
    let _: () = q(&mut local, &["CONFIG", "SET", "requirepass", "s3cret"]);
    assert!(first_line_from(outside, port).starts_with("-NOAUTH"));
    let _: () = q(&mut local, &["AUTH", "s3cret"]);
    let _: () = q(&mut local, &["CONFIG", "SET", "requirepass", ""]);
    assert!(first_line_from(outside, port).starts_with("-DENIED"));

    // Turned off from loopback, as the DENIED text tells the user to.
    let _: () = q(&mut local, &["CONFIG", "SET", "protected-mode", "no"]);
    assert_eq!(first_line_from(outside, port), "+PONG");
    assert_eq!(
        q::<Vec<String>>(&mut local, &["CONFIG", "GET", "protected-mode"]),
        ["protected-mode", "no"]
    );
}

/// Descriptors redyn keeps besides one per client (fjall's file cache of 512 + 64).
const RESERVED_FDS: usize = 576;

#[test]
fn maxclients_is_lowered_to_what_the_open_file_limit_allows() {
    let limit = 700;
    let server = TestServer::start_with_open_file_limit(limit, &["--maxclients", "10000"]);
    let mut c = server.client();
    let reported: Vec<String> = q(&mut c, &["CONFIG", "GET", "maxclients"]);
    let maxclients: usize = reported[1].parse().unwrap();
    assert_eq!(maxclients, limit as usize - RESERVED_FDS);

    // Every client up to the limit is served; the next one gets Redis's error, not silence.
    let mut clients: Vec<redis::Connection> = (1..maxclients).map(|_| server.client()).collect();
    for client in &mut clients {
        assert_eq!(q::<String>(client, &["PING"]), "PONG");
    }
    assert_eq!(
        first_line_from(server.addr.ip(), server.addr.port()),
        "-ERR max number of clients reached"
    );

    // Raising it past what the OS allows is refused, naming what would fit.
    assert_eq!(
        error(&mut c, &["CONFIG", "SET", "maxclients", "5000"]),
        format!(
            "ERR CONFIG SET failed (possibly related to argument 'maxclients') - The operating system is not able to handle the specified number of clients, try with {maxclients}"
        )
    );
    drop(clients);
}

#[test]
fn config_set_refuses_values_that_lock_clients_out() {
    let server = TestServer::start();
    let mut c = server.client();
    for (name, value) in [("maxclients", "0"), ("proto-max-bulk-len", "0")] {
        let err = error(&mut c, &["CONFIG", "SET", name, value]);
        assert!(
            err.starts_with(&format!(
                "ERR CONFIG SET failed (possibly related to argument '{name}') - argument must be between"
            )),
            "{name}: {err}"
        );
    }
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
}

/// CPU seconds (user + system) the process has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses and may contain spaces).
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

#[test]
fn a_trickled_large_request_is_parsed_once_and_others_are_served_meanwhile() {
    let server = TestServer::start();
    let members = 300_000;
    let mut request = format!("*{}\r\n$4\r\nSADD\r\n$1\r\ns\r\n", members + 2).into_bytes();
    for i in 0..members {
        let member = format!("m{i:07}");
        request.extend(format!("${}\r\n{member}\r\n", member.len()).bytes());
    }
    let mut slow = TcpStream::connect(server.addr).unwrap();
    slow.set_nodelay(true).unwrap();
    let mut other = server.client();
    let before = cpu_seconds(server.pid());
    // ~2,000 packets, each a separate read on the server; the last one is held back so the
    // CPU measured is the parsing, not the SADD.
    let packets: Vec<&[u8]> = request.chunks(request.len() / 2000 + 1).collect();
    let (last, first) = packets.split_last().unwrap();
    for (n, packet) in first.iter().enumerate() {
        slow.write_all(packet).unwrap();
        std::thread::sleep(Duration::from_millis(1));
        if n % 200 == 0 {
            assert_eq!(q::<String>(&mut other, &["PING"]), "PONG");
        }
    }
    assert_eq!(q::<String>(&mut other, &["PING"]), "PONG");
    let used = cpu_seconds(server.pid()) - before;
    eprintln!("server CPU while receiving the trickled request: {used:.2} s");
    // Parsing the 4.5 MB once costs milliseconds; re-parsing it from the start on every packet
    // (what this guards against) cost seconds of CPU.
    assert!(
        used < 1.0,
        "server used {used:.2} CPU-s receiving one trickled request"
    );
    slow.write_all(last).unwrap();
    let mut reply = String::new();
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    BufReader::new(&slow).read_line(&mut reply).unwrap();
    assert_eq!(reply, format!(":{members}\r\n"));
    assert_eq!(q::<i64>(&mut other, &["SCARD", "s"]), members as i64);
}

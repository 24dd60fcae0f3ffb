//! TLS (rustls): a TLS port beside or instead of the plaintext one, client certificates
//! required / optional / not asked for, the protocol settings, and certificates reloaded by
//! CONFIG SET. Certificates are generated per test with rcgen. Clients: the `redis` crate
//! (rustls) for ordinary use, and a plain synchronous rustls client with raw RESP where a
//! test needs control over the handshake (protocol versions, what an error looks like).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::harness::{error_text, free_port, q, TestServer};

/// A CA and the PEM files of what it signed, in a temporary directory.
struct Pki {
    dir: tempfile::TempDir,
    ca: rcgen::Certificate,
    ca_key: KeyPair,
}

/// PEM file paths of one signed certificate.
struct Leaf {
    cert: PathBuf,
    key: PathBuf,
}

impl Pki {
    fn new(name: &str) -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("redyn test CA {name}"));
        let ca_key = KeyPair::generate().expect("CA key");
        let ca = params.self_signed(&ca_key).expect("CA cert");
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("ca.crt"), ca.pem()).expect("write CA");
        Pki { dir, ca, ca_key }
    }

    fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    /// A certificate for `names` (DNS names or IP addresses) signed by this CA.
    fn issue(&self, file_stem: &str, names: &[&str]) -> Leaf {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let params = CertificateParams::new(names).expect("params");
        let key = KeyPair::generate().expect("key");
        let cert = params
            .signed_by(&key, &self.ca, &self.ca_key)
            .expect("sign");
        let leaf = Leaf {
            cert: self.dir.path().join(format!("{file_stem}.crt")),
            key: self.dir.path().join(format!("{file_stem}.key")),
        };
        std::fs::write(&leaf.cert, cert.pem()).expect("write cert");
        std::fs::write(&leaf.key, key.serialize_pem()).expect("write key");
        leaf
    }

    fn server_cert(&self) -> Leaf {
        self.issue("server", &["localhost", "127.0.0.1"])
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Starts a server with a TLS listener on `tls_port` (TLS only: the harness's `--port 0`
/// disables plaintext when a TLS port is set, as in Redis) and extra arguments.
fn start_tls(pki: &Pki, server: &Leaf, tls_port: u16, extra: &[&str]) -> TestServer {
    let port = tls_port.to_string();
    let mut args = vec![
        "--tls-port",
        &port,
        "--tls-cert-file",
        path(&server.cert),
        "--tls-key-file",
        path(&server.key),
    ];
    let ca = pki.ca_file();
    args.extend(["--tls-ca-cert-file", path(&ca)]);
    args.extend(extra);
    TestServer::start_with(&args)
}

/// A `redis` crate client over TLS trusting `ca`, presenting `client` when given.
fn redis_tls_client(port: u16, ca: &Path, client: Option<&Leaf>) -> redis::Client {
    let certs = redis::TlsCertificates {
        client_tls: client.map(|leaf| redis::ClientTlsConfig {
            client_cert: std::fs::read(&leaf.cert).expect("client cert"),
            client_key: std::fs::read(&leaf.key).expect("client key"),
        }),
        root_cert: Some(std::fs::read(ca).expect("CA")),
    };
    redis::Client::build_with_tls(format!("rediss://127.0.0.1:{port}/"), certs).expect("client")
}

/// A PING through the `redis` crate: the reply, or the error's text.
fn redis_ping(port: u16, ca: &Path, client: Option<&Leaf>) -> Result<String, String> {
    let client = redis_tls_client(port, ca, client);
    let mut con = client.get_connection().map_err(|e| e.to_string())?;
    redis::cmd("PING")
        .query::<String>(&mut con)
        .map_err(|e| e.to_string())
}

/// A synchronous rustls client with full control over versions and client certificates.
struct RawTls {
    stream: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
}

impl RawTls {
    fn connect(
        port: u16,
        ca: &Path,
        client: Option<&Leaf>,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> std::io::Result<RawTls> {
        RawTls::connect_offering(port, ca, client, versions, &all_suites())
    }

    /// Connects offering only `suites`, in that order (the client's preference).
    fn connect_offering(
        port: u16,
        ca: &Path,
        client: Option<&Leaf>,
        versions: &[&'static rustls::SupportedProtocolVersion],
        suites: &[rustls::SupportedCipherSuite],
    ) -> std::io::Result<RawTls> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(ca).expect("CA file") {
            roots.add(cert.expect("CA cert")).expect("add CA");
        }
        let provider = Arc::new(rustls::crypto::CryptoProvider {
            cipher_suites: suites.to_vec(),
            ..rustls::crypto::ring::default_provider()
        });
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .expect("versions")
            .with_root_certificates(roots);
        let config = match client {
            Some(leaf) => builder
                .with_client_auth_cert(
                    CertificateDer::pem_file_iter(&leaf.cert)
                        .expect("cert file")
                        .map(|c| c.expect("cert"))
                        .collect(),
                    PrivateKeyDer::from_pem_file(&leaf.key).expect("key"),
                )
                .expect("client auth"),
            None => builder.with_no_client_auth(),
        };
        let name = ServerName::try_from("localhost").expect("name");
        let conn = rustls::ClientConnection::new(Arc::new(config), name).expect("connection");
        let tcp = TcpStream::connect(("127.0.0.1", port))?;
        tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut stream = rustls::StreamOwned::new(conn, tcp);
        // Completes the handshake now, so handshake failures surface here.
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(RawTls { stream })
    }

    fn version(&self) -> Option<rustls::ProtocolVersion> {
        self.stream.conn.protocol_version()
    }

    /// The negotiated suite, by its IANA name (`TLS13_AES_128_GCM_SHA256`, …).
    fn suite(&self) -> String {
        let suite = self
            .stream
            .conn
            .negotiated_cipher_suite()
            .expect("handshake done");
        format!("{:?}", suite.suite())
    }

    /// Sends one inline command and reads one reply line (or the I/O error).
    fn command(&mut self, line: &str) -> std::io::Result<String> {
        self.stream.write_all(format!("{line}\r\n").as_bytes())?;
        self.stream.flush()?;
        let mut out = Vec::new();
        let mut byte = [0u8; 1];
        while !out.ends_with(b"\r\n") {
            match self.stream.read(&mut byte)? {
                0 => break,
                _ => out.push(byte[0]),
            }
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

/// Every suite the client side can offer (ring's, as the server's).
fn all_suites() -> Vec<rustls::SupportedCipherSuite> {
    rustls::crypto::ring::default_provider().cipher_suites
}

/// The suites named (rustls's names, e.g. `TLS13_AES_128_GCM_SHA256`), in that order.
fn suites(names: &[&str]) -> Vec<rustls::SupportedCipherSuite> {
    names
        .iter()
        .map(|name| {
            *all_suites()
                .iter()
                .find(|s| format!("{:?}", s.suite()) == *name)
                .unwrap_or_else(|| panic!("rustls has no suite {name}"))
        })
        .collect()
}

/// Whether a raw TLS client gets `+PONG` (false for a refused handshake or certificate).
fn raw_ping_works(port: u16, ca: &Path, client: Option<&Leaf>) -> bool {
    RawTls::connect(port, ca, client, rustls::DEFAULT_VERSIONS)
        .and_then(|mut c| c.command("PING"))
        .is_ok_and(|reply| reply == "+PONG\r\n")
}

#[test]
fn tls_only_server_serves_commands_with_client_certificate() {
    let pki = Pki::new("a");
    let server_leaf = pki.server_cert();
    let client_leaf = pki.issue("client", &["client"]);
    let tls_port = free_port();
    let server = start_tls(&pki, &server_leaf, tls_port, &[]);
    assert_eq!(
        server.addr.port(),
        tls_port,
        "TLS only: the TLS listener is the address"
    );

    let client = redis_tls_client(tls_port, &pki.ca_file(), Some(&client_leaf));
    let mut con = client.get_connection().expect("TLS connection");
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    assert_eq!(q::<String>(&mut con, &["GET", "k"]), "v");
    // The same connection code as plaintext: the client is listed with the TLS port.
    let list: String = q(&mut con, &["CLIENT", "LIST"]);
    assert!(
        list.contains(&format!("laddr=127.0.0.1:{tls_port}")),
        "CLIENT LIST: {list}"
    );
    let port: Vec<String> = q(&mut con, &["CONFIG", "GET", "port"]);
    assert_eq!(port, ["port", "0"], "no plaintext listener");
    // Redis 7.0 reports the TLS port as `tcp_port` when it has no plaintext one.
    let info: String = q(&mut con, &["INFO", "server"]);
    assert!(
        info.contains(&format!("\r\ntcp_port:{tls_port}\r\n")),
        "{info}"
    );
    let tls: Vec<String> = q(&mut con, &["CONFIG", "GET", "tls-port"]);
    assert_eq!(tls, ["tls-port", &tls_port.to_string()]);
    // A large value crosses many TLS records in both directions.
    let big = "x".repeat(300_000);
    let _: () = redis::cmd("SET")
        .arg("big")
        .arg(&big)
        .query(&mut con)
        .unwrap();
    assert_eq!(q::<String>(&mut con, &["GET", "big"]), big);

    // Plaintext RESP on the TLS port gets no reply.
    let mut plain = TcpStream::connect(("127.0.0.1", tls_port)).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    plain.write_all(b"PING\r\n").unwrap();
    let mut buf = [0u8; 64];
    let got = plain.read(&mut buf).unwrap_or(0);
    assert!(
        !buf[..got].starts_with(b"+PONG"),
        "plaintext answered on TLS port"
    );
}

#[test]
fn tls_client_certificate_required_by_default() {
    let pki = Pki::new("a");
    let other = Pki::new("other");
    let server_leaf = pki.server_cert();
    let good = pki.issue("client", &["client"]);
    let untrusted = other.issue("client", &["client"]);
    let tls_port = free_port();
    let _server = start_tls(&pki, &server_leaf, tls_port, &[]);

    assert_eq!(
        redis_ping(tls_port, &pki.ca_file(), Some(&good)).as_deref(),
        Ok("PONG")
    );
    assert!(
        redis_ping(tls_port, &pki.ca_file(), None).is_err(),
        "no certificate"
    );
    assert!(raw_ping_works(tls_port, &pki.ca_file(), Some(&good)));
    assert!(
        !raw_ping_works(tls_port, &pki.ca_file(), None),
        "no certificate"
    );
    assert!(
        !raw_ping_works(tls_port, &pki.ca_file(), Some(&untrusted)),
        "certificate of an unknown CA"
    );
}

#[test]
fn tls_client_certificate_optional_and_not_asked() {
    let pki = Pki::new("a");
    let other = Pki::new("other");
    let server_leaf = pki.server_cert();
    let good = pki.issue("client", &["client"]);
    let untrusted = other.issue("client", &["client"]);

    let port = free_port();
    let server = start_tls(
        &pki,
        &server_leaf,
        port,
        &["--tls-auth-clients", "optional"],
    );
    assert!(
        raw_ping_works(port, &pki.ca_file(), None),
        "optional: none is fine"
    );
    assert!(raw_ping_works(port, &pki.ca_file(), Some(&good)));
    assert!(
        !raw_ping_works(port, &pki.ca_file(), Some(&untrusted)),
        "optional: a certificate given must still verify"
    );
    drop(server);

    // `no` needs no CA at all.
    let port = free_port();
    let port_arg = port.to_string();
    let _server = TestServer::start_with(&[
        "--tls-port",
        &port_arg,
        "--tls-cert-file",
        path(&server_leaf.cert),
        "--tls-key-file",
        path(&server_leaf.key),
        "--tls-auth-clients",
        "no",
    ]);
    assert_eq!(
        redis_ping(port, &pki.ca_file(), None).as_deref(),
        Ok("PONG")
    );
}

#[test]
fn tls_and_plaintext_side_by_side() {
    let pki = Pki::new("a");
    let server_leaf = pki.server_cert();
    let client_leaf = pki.issue("client", &["client"]);
    let (port, tls_port) = (free_port(), free_port());
    let port_arg = port.to_string();
    let server = start_tls(&pki, &server_leaf, tls_port, &["--port", &port_arg]);
    assert_eq!(
        server.addr.port(),
        port,
        "the plaintext listener is the main address"
    );

    let mut plain = server.client();
    let _: () = redis::cmd("SET")
        .arg("shared")
        .arg("1")
        .query(&mut plain)
        .unwrap();
    let client = redis_tls_client(tls_port, &pki.ca_file(), Some(&client_leaf));
    let mut tls = client.get_connection().expect("TLS connection");
    assert_eq!(q::<String>(&mut tls, &["GET", "shared"]), "1");
    let _: () = redis::cmd("SET")
        .arg("shared")
        .arg("2")
        .query(&mut tls)
        .unwrap();
    assert_eq!(q::<String>(&mut plain, &["GET", "shared"]), "2");
    let ports: Vec<String> = q(&mut plain, &["CONFIG", "GET", "port"]);
    assert_eq!(ports, ["port", &port_arg]);
    let info: String = q(&mut tls, &["INFO", "server"]);
    assert!(info.contains(&format!("\r\ntcp_port:{port}\r\n")), "{info}");
    let clients: String = q(&mut plain, &["CLIENT", "LIST"]);
    assert_eq!(clients.lines().count(), 2, "{clients}");
}

#[test]
fn tls_maxclients_refusal_is_sent_over_tls() {
    let pki = Pki::new("a");
    let server_leaf = pki.server_cert();
    let client_leaf = pki.issue("client", &["client"]);
    let tls_port = free_port();
    let _server = start_tls(&pki, &server_leaf, tls_port, &["--maxclients", "1"]);
    let connect = || {
        RawTls::connect(
            tls_port,
            &pki.ca_file(),
            Some(&client_leaf),
            rustls::DEFAULT_VERSIONS,
        )
        .expect("handshake")
    };
    let mut first = connect();
    assert_eq!(first.command("PING").unwrap(), "+PONG\r\n");
    let mut second = connect();
    assert_eq!(
        second.command("PING").unwrap(),
        "-ERR max number of clients reached\r\n"
    );
}

#[test]
fn tls_protocols_setting_limits_versions() {
    let pki = Pki::new("a");
    let server_leaf = pki.server_cert();
    let client_leaf = pki.issue("client", &["client"]);
    let tls_port = free_port();
    let _server = start_tls(
        &pki,
        &server_leaf,
        tls_port,
        &["--tls-protocols", "TLSv1.2"],
    );
    let ca = pki.ca_file();
    let tls12 = RawTls::connect(
        tls_port,
        &ca,
        Some(&client_leaf),
        &[&rustls::version::TLS12],
    )
    .expect("TLS 1.2 handshake");
    assert_eq!(tls12.version(), Some(rustls::ProtocolVersion::TLSv1_2));
    assert!(
        RawTls::connect(
            tls_port,
            &ca,
            Some(&client_leaf),
            &[&rustls::version::TLS13]
        )
        .is_err(),
        "TLS 1.3 must be refused"
    );

    // CONFIG SET applies to the next connection.
    let mut con = RawTls::connect(tls_port, &ca, Some(&client_leaf), rustls::DEFAULT_VERSIONS)
        .expect("handshake");
    assert_eq!(con.version(), Some(rustls::ProtocolVersion::TLSv1_2));
    assert_eq!(
        con.command("CONFIG SET tls-protocols \"TLSv1.2 TLSv1.3\"")
            .unwrap(),
        "+OK\r\n"
    );
    let tls13 = RawTls::connect(
        tls_port,
        &ca,
        Some(&client_leaf),
        &[&rustls::version::TLS13],
    )
    .expect("TLS 1.3 handshake after CONFIG SET");
    assert_eq!(tls13.version(), Some(rustls::ProtocolVersion::TLSv1_3));
    assert_eq!(
        con.command("CONFIG SET tls-protocols SSLv3").unwrap(),
        "-ERR CONFIG SET failed (possibly related to argument 'tls-protocols') - Unable to update TLS configuration. Check server logs.\r\n"
    );
}

/// `tls-ciphers` (TLS 1.2, OpenSSL names) and `tls-ciphersuites` (TLS 1.3) limit what a
/// handshake may negotiate, at start and after CONFIG SET. The test certificates are ECDSA,
/// so the TLS 1.2 suites are the ECDHE-ECDSA ones.
#[test]
fn tls_ciphers_and_ciphersuites_limit_the_negotiated_suite() {
    let pki = Pki::new("a");
    let server_leaf = pki.server_cert();
    let client_leaf = pki.issue("client", &["client"]);
    let tls_port = free_port();
    let _server = start_tls(
        &pki,
        &server_leaf,
        tls_port,
        &[
            "--tls-ciphers",
            "ECDHE-ECDSA-CHACHA20-POLY1305",
            "--tls-ciphersuites",
            "TLS_AES_256_GCM_SHA384",
        ],
    );
    let ca = pki.ca_file();
    let connect = |version: &'static rustls::SupportedProtocolVersion, offer: &[&str]| {
        let offered = if offer.is_empty() {
            all_suites()
        } else {
            suites(offer)
        };
        RawTls::connect_offering(tls_port, &ca, Some(&client_leaf), &[version], &offered)
    };
    let tls12 = &rustls::version::TLS12;
    let tls13 = &rustls::version::TLS13;
    let mut con = connect(tls12, &[]).expect("TLS 1.2 with every suite offered");
    assert_eq!(con.suite(), "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");
    assert_eq!(con.command("PING").unwrap(), "+PONG\r\n");
    assert!(connect(tls12, &["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]).is_err());
    let c13 = connect(tls13, &[]).expect("TLS 1.3 with every suite offered");
    assert_eq!(c13.suite(), "TLS13_AES_256_GCM_SHA384");
    assert!(connect(
        tls13,
        &["TLS13_AES_128_GCM_SHA256", "TLS13_CHACHA20_POLY1305_SHA256"]
    )
    .is_err());

    // CONFIG SET applies to the next handshake.
    let set = |con: &mut RawTls, name: &str, value: &str| {
        con.command(&format!("CONFIG SET {name} \"{value}\""))
            .unwrap()
    };
    assert_eq!(
        set(&mut con, "tls-ciphersuites", "TLS_AES_128_GCM_SHA256"),
        "+OK\r\n"
    );
    let c13 = connect(tls13, &["TLS13_AES_128_GCM_SHA256"]).expect("newly allowed suite");
    assert_eq!(c13.suite(), "TLS13_AES_128_GCM_SHA256");
    assert!(connect(tls13, &["TLS13_AES_256_GCM_SHA384"]).is_err());
    assert_eq!(
        set(&mut con, "tls-ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256"),
        "+OK\r\n"
    );
    let c12 =
        connect(tls12, &["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]).expect("newly allowed cipher");
    assert_eq!(c12.suite(), "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
    assert!(connect(tls12, &["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"]).is_err());
    // A list naming nothing rustls has is refused and leaves the settings in force.
    assert_eq!(
        set(&mut con, "tls-ciphersuites", "TLS_NO_SUCH_SUITE"),
        "-ERR CONFIG SET failed (possibly related to argument 'tls-ciphersuites') - Unable to update TLS configuration. Check server logs.\r\n"
    );
    assert!(connect(tls13, &["TLS13_AES_128_GCM_SHA256"]).is_ok());
}

/// The configured suite order is the server's preference: with
/// `tls-prefer-server-ciphers yes` it wins over the client's order.
#[test]
fn tls_prefer_server_ciphers_follows_the_configured_order() {
    let pki = Pki::new("a");
    let server_leaf = pki.server_cert();
    let client_leaf = pki.issue("client", &["client"]);
    let tls_port = free_port();
    let _server = start_tls(
        &pki,
        &server_leaf,
        tls_port,
        &[
            "--tls-ciphersuites",
            "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384",
        ],
    );
    let ca = pki.ca_file();
    let client_order = suites(&[
        "TLS13_AES_128_GCM_SHA256",
        "TLS13_AES_256_GCM_SHA384",
        "TLS13_CHACHA20_POLY1305_SHA256",
    ]);
    let connect = || {
        RawTls::connect_offering(
            tls_port,
            &ca,
            Some(&client_leaf),
            &[&rustls::version::TLS13],
            &client_order,
        )
        .expect("handshake")
    };
    let mut con = connect();
    assert_eq!(con.suite(), "TLS13_AES_256_GCM_SHA384", "client's order");
    assert_eq!(
        con.command("CONFIG SET tls-prefer-server-ciphers yes")
            .unwrap(),
        "+OK\r\n"
    );
    assert_eq!(
        connect().suite(),
        "TLS13_CHACHA20_POLY1305_SHA256",
        "server's order"
    );
}

#[test]
fn tls_config_set_reloads_certificates() {
    let pki = Pki::new("a");
    let next = Pki::new("b");
    let server_leaf = pki.server_cert();
    let client_leaf = pki.issue("client", &["client"]);
    let tls_port = free_port();
    let port = free_port();
    let port_arg = port.to_string();
    let server = start_tls(
        &pki,
        &server_leaf,
        tls_port,
        &["--port", &port_arg, "--tls-auth-clients", "no"],
    );
    let mut admin = server.client();
    assert!(raw_ping_works(tls_port, &pki.ca_file(), None));
    assert!(!raw_ping_works(tls_port, &next.ca_file(), None));

    // A file that does not load fails CONFIG SET, and the running certificate stays.
    let err = redis::cmd("CONFIG")
        .arg("SET")
        .arg("tls-cert-file")
        .arg("/nonexistent/cert.pem")
        .query::<()>(&mut admin)
        .unwrap_err();
    assert_eq!(
        error_text(&err),
        "ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - Unable to update TLS configuration. Check server logs."
    );
    let cert: Vec<String> = q(&mut admin, &["CONFIG", "GET", "tls-cert-file"]);
    assert_eq!(
        cert[1],
        path(&server_leaf.cert),
        "a failed CONFIG SET changes nothing"
    );
    assert!(raw_ping_works(tls_port, &pki.ca_file(), None));

    // New files: new connections get the new certificate.
    let new_leaf = next.server_cert();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("tls-cert-file")
        .arg(path(&new_leaf.cert))
        .arg("tls-key-file")
        .arg(path(&new_leaf.key))
        .query(&mut admin)
        .unwrap();
    assert!(raw_ping_works(tls_port, &next.ca_file(), None));
    assert!(!raw_ping_works(tls_port, &pki.ca_file(), None));

    // Same file names, new contents: CONFIG SET reloads them (certificate rotation).
    let rotated = pki.issue("server", &["localhost", "127.0.0.1"]);
    std::fs::copy(&rotated.cert, &new_leaf.cert).unwrap();
    std::fs::copy(&rotated.key, &new_leaf.key).unwrap();
    assert!(
        !raw_ping_works(tls_port, &pki.ca_file(), None),
        "not reloaded yet"
    );
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("tls-cert-file")
        .arg(path(&new_leaf.cert))
        .query(&mut admin)
        .unwrap();
    assert!(raw_ping_works(tls_port, &pki.ca_file(), None));

    // Requiring client certificates now needs the CA to check them against.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("tls-auth-clients")
        .arg("yes")
        .query(&mut admin)
        .unwrap();
    assert!(!raw_ping_works(tls_port, &pki.ca_file(), None));
    assert!(raw_ping_works(tls_port, &pki.ca_file(), Some(&client_leaf)));
}

#[test]
fn tls_settings_validation_and_defaults() {
    let server = TestServer::start();
    let mut con = server.client();
    let defaults: Vec<String> = q(&mut con, &["CONFIG", "GET", "tls-auth-clients"]);
    assert_eq!(defaults, ["tls-auth-clients", "yes"]);
    let err = redis::cmd("CONFIG")
        .arg("SET")
        .arg("tls-auth-clients")
        .arg("maybe")
        .query::<()>(&mut con)
        .unwrap_err();
    assert_eq!(
        error_text(&err),
        "ERR CONFIG SET failed (possibly related to argument 'tls-auth-clients') - argument(s) must be one of the following: no, yes, optional"
    );
    // Without a TLS listener nothing is loaded, so any file name is accepted (as in Redis).
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("tls-cert-file")
        .arg("/nonexistent")
        .query(&mut con)
        .unwrap();
    let err = redis::cmd("CONFIG")
        .arg("SET")
        .arg("tls-port")
        .arg("8443")
        .query::<()>(&mut con)
        .unwrap_err();
    assert!(
        error_text(&err).contains("can't set immutable config"),
        "{err}"
    );
}

#[test]
fn tls_port_without_certificate_fails_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_redyn"))
        .args([
            "--port",
            "0",
            "--tls-port",
            &free_port().to_string(),
            "--dir",
        ])
        .arg(dir.path())
        .args(["--metrics-addr", "off"])
        .output()
        .expect("run redyn");
    assert!(!output.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("Failed to configure TLS"), "{text}");
}

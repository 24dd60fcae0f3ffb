//! TLS settings (Redis 7's `tls-*` names) and the rustls server configuration built from
//! them. The configuration is built when the server starts with a `tls-port` and again
//! whenever CONFIG SET changes a `tls-*` setting (even to the same file name: that is how
//! Redis users rotate certificates); a configuration that does not load fails CONFIG SET
//! and leaves the running one in place, as in Redis.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{
    NoServerSessionStorage, ServerSessionMemoryCache, StoresServerSessions, WebPkiClientVerifier,
};
use rustls::{
    ProtocolVersion, RootCertStore, ServerConfig, SupportedCipherSuite, SupportedProtocolVersion,
};

use super::table::{Access, Setting};
use super::values::{int, one_of, yes_no, Kind};

/// `tls-auth-clients`: whether clients must present a certificate the CA signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    No,
    Yes,
    Optional,
}

const AUTH_WORDS: &[&str] = &["no", "yes", "optional"];

impl ClientAuth {
    fn as_str(self) -> &'static str {
        match self {
            ClientAuth::No => "no",
            ClientAuth::Yes => "yes",
            ClientAuth::Optional => "optional",
        }
    }

    fn parse(value: &str) -> Result<ClientAuth, String> {
        Ok(match one_of(value, AUTH_WORDS)? {
            "no" => ClientAuth::No,
            "yes" => ClientAuth::Yes,
            _ => ClientAuth::Optional,
        })
    }
}

/// A mutable free-text `tls-*` setting stored in a field of [`TlsSettings`] (a macro: the
/// accessors are plain functions, which cannot capture the field).
macro_rules! text_setting {
    ($name:literal, $help:literal, $field:ident) => {
        Setting {
            name: $name,
            aliases: &[],
            default: "",
            mutable: true,
            help: $help,
            access: Access::Field {
                get: |c| c.tls.$field.clone(),
                set: |c, v| {
                    c.tls.$field = v.to_string();
                    Ok(())
                },
            },
        }
    };
}

/// The `tls-*` settings with effect, and the server configuration they produced.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// 0 = no TLS listener.
    pub port: u16,
    pub cert_file: String,
    pub key_file: String,
    pub ca_cert_file: String,
    pub ca_cert_dir: String,
    pub auth_clients: ClientAuth,
    /// `tls-protocols`: space-separated `TLSv1.2` / `TLSv1.3`; empty = both.
    pub protocols: String,
    /// `tls-ciphers`: TLS 1.2 suites, OpenSSL names, `:`-separated; empty = all.
    pub ciphers: String,
    /// `tls-ciphersuites`: TLS 1.3 suites, `:`-separated; empty = all.
    pub ciphersuites: String,
    pub prefer_server_ciphers: bool,
    pub session_caching: bool,
    pub session_cache_size: usize,
    /// Built from the fields above while a TLS listener is configured; new connections use
    /// the one current when they arrive.
    pub server_config: Option<Arc<ServerConfig>>,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            port: 0,
            cert_file: String::new(),
            key_file: String::new(),
            ca_cert_file: String::new(),
            ca_cert_dir: String::new(),
            auth_clients: ClientAuth::Yes,
            protocols: String::new(),
            ciphers: String::new(),
            ciphersuites: String::new(),
            prefer_server_ciphers: false,
            session_caching: true,
            session_cache_size: 20480,
            server_config: None,
        }
    }
}

/// Redis's CONFIG SET error when the new TLS configuration does not load.
pub const RELOAD_FAILED: &str = "Unable to update TLS configuration. Check server logs.";

impl TlsSettings {
    /// Builds `server_config` when a TLS listener is configured.
    pub fn reload(&mut self) -> Result<(), String> {
        if self.port != 0 {
            self.server_config = Some(Arc::new(self.build()?));
        }
        Ok(())
    }

    /// The rustls configuration these settings describe.
    pub fn build(&self) -> Result<ServerConfig, String> {
        if self.cert_file.is_empty() || self.key_file.is_empty() {
            return Err("tls-cert-file and tls-key-file must be set".into());
        }
        let versions = protocol_versions(&self.protocols)?;
        let mut suites = tls13_suites(&self.ciphersuites)?;
        suites.extend(tls12_suites(&self.ciphers)?);
        let provider = Arc::new(CryptoProvider {
            cipher_suites: suites,
            ..rustls::crypto::ring::default_provider()
        });
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| format!("tls-protocols / cipher suites: {e}"))?;
        let builder = match self.auth_clients {
            ClientAuth::No => builder.with_no_client_auth(),
            auth => builder.with_client_cert_verifier(self.client_verifier(auth, provider)?),
        };
        let certs = load_certs(Path::new(&self.cert_file))?;
        let key = PrivateKeyDer::from_pem_file(&self.key_file)
            .map_err(|e| format!("Failed to load private key {}: {e}", self.key_file))?;
        let mut config = builder
            .with_single_cert(certs, key)
            .map_err(|e| format!("Invalid certificate or key: {e}"))?;
        config.ignore_client_order = self.prefer_server_ciphers;
        let sessions: Arc<dyn StoresServerSessions + Send + Sync> = if self.session_caching {
            ServerSessionMemoryCache::new(self.session_cache_size.max(1))
        } else {
            Arc::new(NoServerSessionStorage {})
        };
        config.session_storage = sessions;
        Ok(config)
    }

    fn client_verifier(
        &self,
        auth: ClientAuth,
        provider: Arc<CryptoProvider>,
    ) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, String> {
        let roots = self.client_roots()?;
        let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
        let builder = if auth == ClientAuth::Optional {
            builder.allow_unauthenticated()
        } else {
            builder
        };
        builder
            .build()
            .map_err(|e| format!("Invalid CA certificates: {e}"))
    }

    /// The CAs client certificates are checked against (`tls-ca-cert-file` and every
    /// certificate file in `tls-ca-cert-dir`).
    fn client_roots(&self) -> Result<RootCertStore, String> {
        if self.ca_cert_file.is_empty() && self.ca_cert_dir.is_empty() {
            // Redis's start-up error, word for word.
            return Err("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!".into());
        }
        let mut files = Vec::new();
        if !self.ca_cert_file.is_empty() {
            files.push(PathBuf::from(&self.ca_cert_file));
        }
        if !self.ca_cert_dir.is_empty() {
            files.extend(ca_dir_files(Path::new(&self.ca_cert_dir))?);
        }
        let mut roots = RootCertStore::empty();
        for file in files {
            for cert in load_certs(&file)? {
                roots
                    .add(cert)
                    .map_err(|e| format!("Invalid CA certificate in {}: {e}", file.display()))?;
            }
        }
        Ok(roots)
    }
}

/// Files of a CA directory holding PEM certificates (OpenSSL's hashed links included;
/// anything else, such as CRLs or keys, is skipped).
fn ca_dir_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("Failed to read tls-ca-cert-dir {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file())
        .filter(|path| CertificateDer::pem_file_iter(path).is_ok_and(|mut it| it.next().is_some()))
        .collect();
    files.sort();
    Ok(files)
}

/// Every certificate of a PEM file (a chain: the server's own first).
fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let fail =
        |e: &dyn std::fmt::Display| format!("Failed to load certificate {}: {e}", path.display());
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(&e))?;
    if certs.is_empty() {
        return Err(fail(&"no certificate found"));
    }
    Ok(certs)
}

/// `tls-protocols`: Redis's words, case-insensitive. rustls has no TLS 1.0/1.1: asking for
/// only those is an error, listing them beside 1.2/1.3 is not.
fn protocol_versions(value: &str) -> Result<Vec<&'static SupportedProtocolVersion>, String> {
    if value.trim().is_empty() {
        return Ok(vec![&rustls::version::TLS13, &rustls::version::TLS12]);
    }
    let mut versions = Vec::new();
    for word in value.split_whitespace() {
        match word.to_ascii_lowercase().as_str() {
            "tlsv1.3" => versions.push(&rustls::version::TLS13),
            "tlsv1.2" => versions.push(&rustls::version::TLS12),
            "tlsv1" | "tlsv1.1" => tracing::warn!("{word} is not supported (rustls): ignored"),
            _ => return Err(INVALID_PROTOCOLS.into()),
        }
    }
    if versions.is_empty() {
        return Err("tls-protocols: only TLSv1.2 and TLSv1.3 are supported".into());
    }
    Ok(versions)
}

const INVALID_PROTOCOLS: &str = "Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.";

/// OpenSSL's names of the TLS 1.2 suites rustls implements, and rustls's.
const TLS12_NAMES: &[(&str, &str)] = &[
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
];

/// OpenSSL cipher-list keywords meaning "the usual set" (rustls's suites all qualify).
const CIPHER_KEYWORDS: &[&str] = &["DEFAULT", "ALL", "HIGH", "ECDHE", "EECDH", "AESGCM"];

/// The name rustls gives a suite (`TLS13_…` for TLS 1.3).
fn rustls_name(suite: &SupportedCipherSuite) -> String {
    format!("{:?}", suite.suite())
}

fn is_version(suite: &SupportedCipherSuite, version: ProtocolVersion) -> bool {
    suite.version().version == version
}

fn all_suites() -> Vec<SupportedCipherSuite> {
    rustls::crypto::ring::default_provider().cipher_suites
}

/// `tls-ciphersuites` (TLS 1.3, OpenSSL/IANA names such as `TLS_AES_256_GCM_SHA384`):
/// unknown names are skipped as OpenSSL does, but some name must match.
fn tls13_suites(value: &str) -> Result<Vec<SupportedCipherSuite>, String> {
    let tls13 = all_suites()
        .into_iter()
        .filter(|s| is_version(s, ProtocolVersion::TLSv1_3));
    if value.trim().is_empty() {
        return Ok(tls13.collect());
    }
    let wanted: Vec<String> = split_cipher_list(value)
        .map(|name| name.replacen("TLS_", "TLS13_", 1))
        .collect();
    let chosen = pick_in_order(tls13.collect(), &wanted);
    if chosen.is_empty() {
        return Err(format!("tls-ciphersuites: no supported suite in '{value}'"));
    }
    Ok(chosen)
}

/// `tls-ciphers` (TLS 1.2, OpenSSL names or IANA names; the usual keywords select all).
fn tls12_suites(value: &str) -> Result<Vec<SupportedCipherSuite>, String> {
    let tls12 = all_suites()
        .into_iter()
        .filter(|s| is_version(s, ProtocolVersion::TLSv1_2));
    if value.trim().is_empty()
        || split_cipher_list(value)
            .any(|t| CIPHER_KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(t)))
    {
        return Ok(tls12.collect());
    }
    let wanted: Vec<String> = split_cipher_list(value)
        .map(|token| {
            TLS12_NAMES
                .iter()
                .find(|(openssl, _)| openssl.eq_ignore_ascii_case(token))
                .map_or(token, |(_, iana)| iana)
                .to_string()
        })
        .collect();
    let chosen = pick_in_order(tls12.collect(), &wanted);
    if chosen.is_empty() {
        return Err(format!("tls-ciphers: no supported cipher in '{value}'"));
    }
    Ok(chosen)
}

/// The suites named in `wanted` (rustls names), in the order given: that order is the
/// server's preference when `tls-prefer-server-ciphers` is set, as with OpenSSL. Names
/// rustls does not have are skipped; a name given twice counts once.
fn pick_in_order(
    available: Vec<SupportedCipherSuite>,
    wanted: &[String],
) -> Vec<SupportedCipherSuite> {
    let mut chosen: Vec<SupportedCipherSuite> = Vec::new();
    for name in wanted {
        let found = available
            .iter()
            .find(|s| name.eq_ignore_ascii_case(&rustls_name(s)));
        if let Some(suite) = found {
            if !chosen.iter().any(|c| c.suite() == suite.suite()) {
                chosen.push(*suite);
            }
        }
    }
    chosen
}

/// The names of an OpenSSL cipher list (`:`, `,` or space separated; `!x`/`-x`/`+x`
/// modifiers are not names).
fn split_cipher_list(value: &str) -> impl Iterator<Item = &str> {
    value
        .split([':', ',', ' '])
        .filter(|t| !t.is_empty() && !t.starts_with(['!', '-', '+']))
}

/// The `tls-*` settings (chained after the other tables by `super::all_settings`).
pub static SETTINGS: &[Setting] = &[
    Setting {
        name: "tls-port",
        aliases: &[],
        default: "0",
        mutable: false,
        help: "TLS port (0 = no TLS listener; with --port 0 only TLS is served)",
        access: Access::Field {
            get: |c| c.tls.port.to_string(),
            set: |c, v| {
                c.tls.port = int(v, 0, 65535)? as u16;
                Ok(())
            },
        },
    },
    text_setting!("tls-cert-file", "Server certificate chain (PEM)", cert_file),
    text_setting!("tls-key-file", "Server private key (PEM)", key_file),
    text_setting!(
        "tls-ca-cert-file",
        "CA certificates clients are verified against (PEM)",
        ca_cert_file
    ),
    text_setting!(
        "tls-ca-cert-dir",
        "Directory of CA certificates (PEM files)",
        ca_cert_dir
    ),
    text_setting!(
        "tls-protocols",
        "TLS versions: \"TLSv1.2 TLSv1.3\" (empty = both)",
        protocols
    ),
    text_setting!(
        "tls-ciphers",
        "TLS 1.2 ciphers, OpenSSL names (empty = all rustls has)",
        ciphers
    ),
    text_setting!(
        "tls-ciphersuites",
        "TLS 1.3 cipher suites (empty = all rustls has)",
        ciphersuites
    ),
    Setting {
        name: "tls-auth-clients",
        aliases: &[],
        default: "yes",
        mutable: true,
        help: "Client certificates: yes (required), optional or no",
        access: Access::Field {
            get: |c| c.tls.auth_clients.as_str().into(),
            set: |c, v| {
                c.tls.auth_clients = ClientAuth::parse(v)?;
                Ok(())
            },
        },
    },
    Setting {
        name: "tls-prefer-server-ciphers",
        aliases: &[],
        default: "no",
        mutable: true,
        help: "Choose the cipher by the server's order, not the client's",
        access: Access::Field {
            get: |c| yes_no_str(c.tls.prefer_server_ciphers),
            set: |c, v| {
                c.tls.prefer_server_ciphers = yes_no(v)?;
                Ok(())
            },
        },
    },
    Setting {
        name: "tls-session-caching",
        aliases: &[],
        default: "yes",
        mutable: true,
        help: "Resume TLS sessions from a server-side cache",
        access: Access::Field {
            get: |c| yes_no_str(c.tls.session_caching),
            set: |c, v| {
                c.tls.session_caching = yes_no(v)?;
                Ok(())
            },
        },
    },
    Setting {
        name: "tls-session-cache-size",
        aliases: &[],
        default: "20480",
        mutable: true,
        help: "Sessions the TLS session cache holds",
        access: Access::Field {
            get: |c| c.tls.session_cache_size.to_string(),
            set: |c, v| {
                c.tls.session_cache_size = int(v, 0, i32::MAX as i64)? as usize;
                Ok(())
            },
        },
    },
    // Accepted for compatibility (no effect): redyn has no replication or cluster links,
    // no passphrase-protected keys and no DH parameters (rustls uses ECDHE only).
    compat_setting(
        "tls-session-cache-timeout",
        "300",
        Kind::Int {
            min: 0,
            max: i32::MAX as i64,
        },
    ),
    compat_setting("tls-replication", "no", Kind::Bool),
    compat_setting("tls-cluster", "no", Kind::Bool),
    compat_setting("tls-key-file-pass", "", Kind::Text),
    compat_setting("tls-client-cert-file", "", Kind::Text),
    compat_setting("tls-client-key-file", "", Kind::Text),
    compat_setting("tls-client-key-file-pass", "", Kind::Text),
    compat_setting("tls-dh-params-file", "", Kind::Text),
];

fn yes_no_str(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

const fn compat_setting(name: &'static str, default: &'static str, kind: Kind) -> Setting {
    Setting {
        name,
        aliases: &[],
        default,
        mutable: true,
        help: "accepted for compatibility (no effect)",
        access: Access::Compat(kind),
    }
}

//! Replies and their RESP2/RESP3 encoding.
//!
//! Command handlers build a [`Reply`] once; the connection encodes it for the protocol version
//! the client negotiated with HELLO. RESP3-only types are downgraded for RESP2 clients the
//! way Redis does it (maps become flat arrays, doubles bulk strings, booleans integers, …).

use std::borrow::Cow;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};

use crate::args::format_double_g17;

/// Protocol version negotiated by a client (`HELLO 2|3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RespVersion {
    #[default]
    Resp2,
    Resp3,
}

/// A reply to a command, independent of the wire protocol version.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+OK`-style status line (most are fixed texts: `OK`, `PONG`, `QUEUED`, which need no
    /// allocation).
    Simple(Cow<'static, str>),
    /// Error line, e.g. `ERR syntax error` or `WRONGTYPE ...` (without the leading `-`).
    Error(String),
    Int(i64),
    Bulk(Bytes),
    /// Missing value: `$-1` in RESP2, `_` in RESP3.
    Nil,
    /// Missing aggregate: `*-1` in RESP2 (e.g. EXEC aborted, blocking pop timeout), `_` in RESP3.
    NilArray,
    Array(Vec<Reply>),
    /// An array of the first `len` bulk strings of `values`, which a cache may share (a
    /// list's stretch that LRANGE read before): sent as `Array` of `Bulk`s without copying
    /// or counting a reference to each one.
    SharedBulks {
        values: Arc<Vec<Bytes>>,
        len: usize,
    },
    /// Key/value pairs: `%` in RESP3, a flat array in RESP2.
    Map(Vec<(Reply, Reply)>),
    /// `~` in RESP3, an array in RESP2.
    Set(Vec<Reply>),
    /// `,` in RESP3, a bulk string in RESP2; `%.17g` text as Redis 7.0's `addReplyDouble`.
    Double(f64),
    /// `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    Bool(bool),
    /// `=` verbatim text in RESP3 (e.g. INFO, CLIENT LIST), a bulk string in RESP2.
    Verbatim(String),
    /// Out-of-band push (`>` in RESP3, an array in RESP2): pub/sub messages.
    Push(Vec<Reply>),
    /// Several replies sent back to back for one command (SUBSCRIBE confirms each channel
    /// with its own frame).
    Multi(Vec<Reply>),
}

impl Reply {
    pub fn ok() -> Reply {
        Reply::Simple("OK".into())
    }

    /// An array of fixed status lines: Redis's HELP replies.
    pub fn status_lines(lines: &'static [&'static str]) -> Reply {
        Reply::Array(
            lines
                .iter()
                .map(|line| Reply::Simple(Cow::Borrowed(line)))
                .collect(),
        )
    }

    pub fn error(msg: impl Into<String>) -> Reply {
        Reply::Error(msg.into())
    }

    pub fn bulk(data: impl Into<Bytes>) -> Reply {
        Reply::Bulk(data.into())
    }

    /// A bulk string from text (`INFO`-style or formatted numbers).
    pub fn text(s: impl Into<String>) -> Reply {
        Reply::Bulk(Bytes::from(s.into()))
    }

    /// A bulk reply, or nil when absent.
    pub fn opt_bulk(data: Option<impl Into<Bytes>>) -> Reply {
        data.map_or(Reply::Nil, |d| Reply::Bulk(d.into()))
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// Encodes this reply for the given protocol version, appending to `out`.
    pub fn encode(&self, version: RespVersion, out: &mut BytesMut) {
        let resp3 = version == RespVersion::Resp3;
        match self {
            Reply::Simple(s) => line(out, b'+', s.as_bytes()),
            Reply::Error(e) => line(out, b'-', sanitize_line(e).as_bytes()),
            Reply::Int(i) => line(out, b':', itoa::Buffer::new().format(*i).as_bytes()),
            Reply::Bulk(b) => bulk(out, b),
            Reply::Nil if resp3 => out.put_slice(b"_\r\n"),
            Reply::Nil => out.put_slice(b"$-1\r\n"),
            Reply::NilArray if resp3 => out.put_slice(b"_\r\n"),
            Reply::NilArray => out.put_slice(b"*-1\r\n"),
            Reply::Array(items) => aggregate(out, b'*', items, version),
            Reply::SharedBulks { values, len } => {
                let values = &values[..*len.min(&values.len())];
                line(
                    out,
                    b'*',
                    itoa::Buffer::new().format(values.len() as i64).as_bytes(),
                );
                for value in values {
                    bulk(out, value);
                }
            }
            Reply::Set(items) => aggregate(out, if resp3 { b'~' } else { b'*' }, items, version),
            Reply::Push(items) => aggregate(out, if resp3 { b'>' } else { b'*' }, items, version),
            Reply::Map(pairs) => {
                if resp3 {
                    line(
                        out,
                        b'%',
                        itoa::Buffer::new().format(pairs.len() as i64).as_bytes(),
                    );
                } else {
                    line(
                        out,
                        b'*',
                        itoa::Buffer::new()
                            .format(2 * pairs.len() as i64)
                            .as_bytes(),
                    );
                }
                for (k, v) in pairs {
                    k.encode(version, out);
                    v.encode(version, out);
                }
            }
            Reply::Double(d) if resp3 => line(out, b',', format_double_g17(*d).as_bytes()),
            Reply::Double(d) => bulk(out, format_double_g17(*d).as_bytes()),
            Reply::Bool(b) if resp3 => out.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
            Reply::Bool(b) => out.put_slice(if *b { b":1\r\n" } else { b":0\r\n" }),
            Reply::Verbatim(text) if resp3 => {
                line(
                    out,
                    b'=',
                    itoa::Buffer::new().format(text.len() as i64 + 4).as_bytes(),
                );
                out.put_slice(b"txt:");
                out.put_slice(text.as_bytes());
                out.put_slice(b"\r\n");
            }
            Reply::Verbatim(text) => bulk(out, text.as_bytes()),
            Reply::Multi(replies) => {
                for reply in replies {
                    reply.encode(version, out);
                }
            }
        }
    }

    /// Convenience: encodes into a fresh buffer.
    pub fn to_bytes(&self, version: RespVersion) -> BytesMut {
        let mut out = BytesMut::new();
        self.encode(version, &mut out);
        out
    }
}

fn line(out: &mut BytesMut, prefix: u8, body: &[u8]) {
    out.reserve(body.len() + 3);
    out.put_u8(prefix);
    out.put_slice(body);
    out.put_slice(b"\r\n");
}

fn bulk(out: &mut BytesMut, data: &[u8]) {
    line(
        out,
        b'$',
        itoa::Buffer::new().format(data.len() as i64).as_bytes(),
    );
    out.reserve(data.len() + 2);
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

fn aggregate(out: &mut BytesMut, prefix: u8, items: &[Reply], version: RespVersion) {
    line(
        out,
        prefix,
        itoa::Buffer::new().format(items.len() as i64).as_bytes(),
    );
    for item in items {
        item.encode(version, out);
    }
}

/// Error and status lines cannot contain CR/LF; Redis replaces them with spaces.
fn sanitize_line(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains(['\r', '\n']) {
        s.replace(['\r', '\n'], " ").into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis_protocol::{resp2, resp3};

    fn sample() -> Reply {
        Reply::Array(vec![
            Reply::ok(),
            Reply::Int(-42),
            Reply::bulk("hello"),
            Reply::Nil,
            Reply::Map(vec![(Reply::bulk("k"), Reply::Double(1.5))]),
            Reply::Set(vec![Reply::bulk("m")]),
            Reply::Bool(true),
            Reply::Verbatim("a: b".into()),
            Reply::Error("ERR boom".into()),
        ])
    }

    #[test]
    fn resp2_encoding_decodes_with_redis_protocol() {
        let bytes = sample().to_bytes(RespVersion::Resp2);
        let (frame, used) = resp2::decode::decode(&bytes).unwrap().unwrap();
        assert_eq!(used, bytes.len());
        let resp2::types::OwnedFrame::Array(items) = frame else {
            panic!("not an array")
        };
        assert_eq!(items.len(), 9);
        assert_eq!(items[4], {
            use resp2::types::OwnedFrame::*;
            Array(vec![BulkString(b"k".to_vec()), BulkString(b"1.5".to_vec())])
        });
        assert_eq!(items[6], resp2::types::OwnedFrame::Integer(1));
    }

    #[test]
    fn resp3_encoding_decodes_with_redis_protocol() {
        let bytes = sample().to_bytes(RespVersion::Resp3);
        let (frame, used) = resp3::decode::complete::decode(&bytes).unwrap().unwrap();
        assert_eq!(used, bytes.len());
        let resp3::types::OwnedFrame::Array { data, .. } = frame else {
            panic!("not an array")
        };
        assert!(matches!(data[3], resp3::types::OwnedFrame::Null));
        assert!(matches!(data[4], resp3::types::OwnedFrame::Map { .. }));
        assert!(matches!(
            data[6],
            resp3::types::OwnedFrame::Boolean { data: true, .. }
        ));
        assert!(matches!(
            data[7],
            resp3::types::OwnedFrame::VerbatimString { .. }
        ));
    }

    #[test]
    fn shared_bulks_encode_as_an_array_of_their_first_len_bulks() {
        let values = Arc::new(vec![Bytes::from("a"), Bytes::from("bc"), Bytes::from("d")]);
        let shared = Reply::SharedBulks { values, len: 2 };
        let array = Reply::Array(vec![Reply::bulk("a"), Reply::bulk("bc")]);
        for version in [RespVersion::Resp2, RespVersion::Resp3] {
            assert_eq!(shared.to_bytes(version), array.to_bytes(version));
        }
        assert_eq!(
            &shared.to_bytes(RespVersion::Resp2)[..],
            b"*2\r\n$1\r\na\r\n$2\r\nbc\r\n"
        );
    }

    #[test]
    fn nil_kinds_differ_in_resp2_only() {
        assert_eq!(&Reply::Nil.to_bytes(RespVersion::Resp2)[..], b"$-1\r\n");
        assert_eq!(
            &Reply::NilArray.to_bytes(RespVersion::Resp2)[..],
            b"*-1\r\n"
        );
        assert_eq!(&Reply::NilArray.to_bytes(RespVersion::Resp3)[..], b"_\r\n");
    }

    #[test]
    fn error_lines_never_contain_newlines() {
        assert_eq!(
            &Reply::error("ERR a\r\nb").to_bytes(RespVersion::Resp2)[..],
            b"-ERR a  b\r\n"
        );
    }
}

//! Request parsing: turns the bytes a client sends into command argument vectors.
//!
//! Clients send commands either as RESP multibulk arrays (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`)
//! or as "inline" text lines (`PING\r\n`, what `telnet`/`nc` users type). The parser follows
//! Redis's `processMultibulkBuffer`/`processInlineBuffer` closely so that limits and protocol
//! error texts are the ones Redis clients already know.

use bytes::{Buf, Bytes, BytesMut};

/// Longest inline request, and longest `*<n>` / `$<n>` header line, Redis accepts (64 KiB).
pub const INLINE_MAX_SIZE: usize = 64 * 1024;
/// Redis's default `proto-max-bulk-len`.
pub const DEFAULT_MAX_BULK_LEN: usize = 512 * 1024 * 1024;
/// Multibulk element count limit (Redis: `INT_MAX`).
pub const MAX_MULTIBULK_LEN: i64 = i32::MAX as i64;
/// Before a client authenticates, Redis only accepts tiny requests (so an unauthenticated
/// peer cannot make the server allocate much).
const UNAUTH_MAX_MULTIBULK_LEN: i64 = 10;
const UNAUTH_MAX_BULK_LEN: i64 = 16384;

/// A protocol violation. The server replies with `-ERR Protocol error: <text>` and closes the
/// connection (the client cannot be resynchronised after a framing error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl ProtocolError {
    fn new(msg: impl Into<String>) -> Self {
        ProtocolError(msg.into())
    }

    /// The full error line as Redis sends it (without the leading `-`).
    pub fn reply_text(&self) -> String {
        format!("ERR Protocol error: {}", self.0)
    }
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reply_text())
    }
}

impl std::error::Error for ProtocolError {}

/// Per-connection request parser settings.
#[derive(Debug, Clone, Copy)]
pub struct ParserLimits {
    /// `proto-max-bulk-len`.
    pub max_bulk_len: usize,
    /// Whether the client is authenticated (unauthenticated clients get Redis's tighter limits).
    pub authenticated: bool,
}

impl Default for ParserLimits {
    fn default() -> Self {
        ParserLimits {
            max_bulk_len: DEFAULT_MAX_BULK_LEN,
            authenticated: true,
        }
    }
}

/// Parses requests incrementally: one per connection.
///
/// A multibulk request's arguments are split off the buffer as each one arrives, and the
/// parser remembers how far it got (arguments still expected, the length of the bulk being
/// received), as Redis's `processMultibulkBuffer` does with `multibulklen`/`bulklen`. So a
/// large request trickling in costs work proportional to the new bytes of each packet,
/// never a re-parse from its start.
#[derive(Debug, Default)]
pub struct RequestParser {
    partial: Option<PartialMultibulk>,
}

/// A multibulk request whose header has been read but not all of its arguments.
#[derive(Debug)]
struct PartialMultibulk {
    args: Vec<Bytes>,
    /// Arguments not yet received.
    remaining: usize,
    /// Length of the next argument once its `$<len>` header has been read.
    bulk_len: Option<usize>,
}

impl RequestParser {
    /// Parses the next request from the front of `buf`, consuming what it has parsed.
    ///
    /// Returns `Ok(None)` when more bytes are needed (the bytes of completed arguments may
    /// already have been taken from `buf`), `Ok(Some(args))` for a complete command (an
    /// empty vector means an empty line or `*0`, which Redis ignores), or a
    /// [`ProtocolError`] (after which the connection cannot be resynchronised).
    pub fn next(
        &mut self,
        buf: &mut BytesMut,
        limits: ParserLimits,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        if self.partial.is_none() {
            if buf.is_empty() {
                return Ok(None);
            }
            if buf[0] != b'*' {
                return parse_inline(buf);
            }
            match parse_multibulk_header(buf, limits)? {
                None => return Ok(None),
                Some(0) => return Ok(Some(Vec::new())),
                Some(count) => {
                    self.partial = Some(PartialMultibulk {
                        args: Vec::with_capacity(count.min(1024)),
                        remaining: count,
                        bulk_len: None,
                    })
                }
            }
        }
        let partial = self
            .partial
            .as_mut()
            .expect("a multibulk request is in progress");
        if !partial.receive_arguments(buf, limits)? {
            return Ok(None);
        }
        Ok(self.partial.take().map(|done| done.args))
    }

    /// Whether part of a request has been consumed and the rest is awaited.
    pub fn is_mid_request(&self) -> bool {
        self.partial.is_some()
    }
}

/// Finds the `\r\n`-terminated line starting at `start`; returns the index of `\r`.
fn find_crlf(buf: &[u8], start: usize) -> Option<usize> {
    let mut from = start;
    while let Some(pos) = memchr::memchr(b'\r', &buf[from..]) {
        let at = from + pos;
        if at + 1 >= buf.len() {
            return None;
        }
        if buf[at + 1] == b'\n' {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Parses the integer of a `*<n>` / `$<n>` header the way Redis's `string2ll` does (no
/// leading `+`, no leading zeros except "0", no spaces).
fn parse_header_int(digits: &[u8]) -> Option<i64> {
    crate::args::parse_i64_strict(digits)
}

/// The number of a `*<n>` / `$<n>` header line at the front of `buf` and the index of its
/// `\r`, read in one pass when it has the usual form: 1–18 digits (no sign, no leading
/// zero) and `\r\n`. `None` for anything else (an incomplete line, a sign, bad bytes),
/// which the general path decides. Most headers are a few digits, and searching for the
/// line end first (`memchr`) and parsing it after cost a pipelined GET ~220 more
/// instructions (of ~4,900).
fn quick_header(buf: &[u8]) -> Option<(i64, usize)> {
    let mut value = 0i64;
    let mut at = 1;
    while let Some(&c) = buf.get(at).filter(|c| c.is_ascii_digit()) {
        if at > 18 {
            return None;
        }
        value = value * 10 + i64::from(c - b'0');
        at += 1;
    }
    let usual = at > 1 && (buf[1] != b'0' || at == 2);
    (usual && buf.get(at) == Some(&b'\r') && buf.get(at + 1) == Some(&b'\n')).then_some((value, at))
}

/// The number of the `*<n>` / `$<n>` header line at the front of `buf` and the index of its
/// `\r` (`None`: the line is not all buffered yet), with Redis's error texts for a line too
/// long to be a header and for one that is not a number.
fn read_header(
    buf: &[u8],
    too_big: &str,
    invalid: &str,
) -> Result<Option<(i64, usize)>, ProtocolError> {
    if let Some(quick) = quick_header(buf) {
        return Ok(Some(quick));
    }
    let Some(line_end) = find_crlf(buf, 1) else {
        if buf.len() > INLINE_MAX_SIZE {
            return Err(ProtocolError::new(too_big));
        }
        return Ok(None);
    };
    match parse_header_int(&buf[1..line_end]) {
        Some(n) => Ok(Some((n, line_end))),
        None => Err(ProtocolError::new(invalid)),
    }
}

/// Reads a `*<count>` line: `Some(count)` once the whole line is buffered (0 for `*0` and
/// negative counts, which Redis ignores), consumed from `buf`.
fn parse_multibulk_header(
    buf: &mut BytesMut,
    limits: ParserLimits,
) -> Result<Option<usize>, ProtocolError> {
    let Some((count, line_end)) = read_header(
        buf,
        "too big mbulk count string",
        "invalid multibulk length",
    )?
    else {
        return Ok(None);
    };
    if count > MAX_MULTIBULK_LEN {
        return Err(ProtocolError::new("invalid multibulk length"));
    }
    if !limits.authenticated && count > UNAUTH_MAX_MULTIBULK_LEN {
        return Err(ProtocolError::new("unauthenticated multibulk length"));
    }
    buf.advance(line_end + 2);
    Ok(Some(count.max(0) as usize))
}

impl PartialMultibulk {
    /// Takes every argument `buf` holds in full; true once the request is complete.
    fn receive_arguments(
        &mut self,
        buf: &mut BytesMut,
        limits: ParserLimits,
    ) -> Result<bool, ProtocolError> {
        while self.remaining > 0 {
            let len = match self.bulk_len {
                Some(len) => len,
                None => match parse_bulk_header(buf, limits)? {
                    Some(len) => *self.bulk_len.insert(len),
                    None => return Ok(false),
                },
            };
            if buf.len() < len + 2 {
                // Make room for the whole argument at once instead of growing in small steps.
                buf.reserve(len + 2 - buf.len());
                return Ok(false);
            }
            // Zero-copy: the argument shares the buffer's allocation.
            self.args.push(buf.split_to(len).freeze());
            buf.advance(2);
            self.bulk_len = None;
            self.remaining -= 1;
        }
        Ok(true)
    }
}

/// Reads a `$<len>` line: `Some(len)` once the whole line is buffered, consumed from `buf`.
fn parse_bulk_header(
    buf: &mut BytesMut,
    limits: ParserLimits,
) -> Result<Option<usize>, ProtocolError> {
    if buf.is_empty() {
        return Ok(None);
    }
    if buf[0] != b'$' {
        return Err(ProtocolError::new(format!(
            "expected '$', got '{}'",
            buf[0] as char
        )));
    }
    let Some((len, line_end)) =
        read_header(buf, "too big bulk count string", "invalid bulk length")?
    else {
        return Ok(None);
    };
    let len = match len {
        n if n >= 0 && n as u64 <= limits.max_bulk_len as u64 => n as usize,
        _ => return Err(ProtocolError::new("invalid bulk length")),
    };
    if !limits.authenticated && len as i64 > UNAUTH_MAX_BULK_LEN {
        return Err(ProtocolError::new("unauthenticated bulk length"));
    }
    buf.advance(line_end + 2);
    Ok(Some(len))
}

fn parse_inline(buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    let Some(nl) = memchr::memchr(b'\n', buf) else {
        if buf.len() > INLINE_MAX_SIZE {
            return Err(ProtocolError::new("too big inline request"));
        }
        return Ok(None);
    };
    let line = buf.split_to(nl + 1);
    let mut line = &line[..nl];
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    split_args(line)
        .map(|args| Some(args.into_iter().map(Bytes::from).collect()))
        .ok_or_else(|| ProtocolError::new("unbalanced quotes in request"))
}

/// C's `isspace` (Rust's `is_ascii_whitespace` leaves out vertical tab).
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_digit(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Splits a line into arguments like Redis's `sdssplitargs`: whitespace separated, with
/// "double quoted" (C escapes, `\xHH`) and 'single quoted' (only `\'`) arguments.
/// Returns `None` for unbalanced quotes or a closing quote not followed by a space.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    // Redis splits a C string: a NUL byte ends the line.
    let line = &line[..memchr::memchr(0, line).unwrap_or(line.len())];
    let mut out = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && is_space(line[i]) {
            i += 1;
        }
        if i >= n {
            return Some(out);
        }
        let mut cur = Vec::new();
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            if in_dq {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && hex_digit(line[i + 2]).is_some()
                    && hex_digit(line[i + 3]).is_some()
                {
                    cur.push(hex_digit(line[i + 2])? * 16 + hex_digit(line[i + 3])?);
                    i += 3;
                } else if c == b'\\' && i + 1 < n {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else if in_sq {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    c if is_space(c) => break,
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    c => cur.push(c),
                }
            }
            i += 1;
        }
        out.push(cur);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &[u8]) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let mut buf = BytesMut::from(input);
        RequestParser::default().next(&mut buf, ParserLimits::default())
    }

    fn args(v: &[&str]) -> Vec<Bytes> {
        v.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn multibulk_complete_and_partial() {
        let full = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
        assert_eq!(parse(full).unwrap(), Some(args(&["GET", "k"])));
        for cut in 1..full.len() {
            assert_eq!(parse(&full[..cut]).unwrap(), None, "cut at {cut}");
        }
    }

    #[test]
    fn pipelined_requests_are_consumed_one_by_one() {
        let mut buf = BytesMut::from(&b"*1\r\n$4\r\nPING\r\nPING\r\n*1\r\n$4\r\nPING"[..]);
        let l = ParserLimits::default();
        let mut parser = RequestParser::default();
        assert_eq!(parser.next(&mut buf, l).unwrap(), Some(args(&["PING"])));
        assert_eq!(parser.next(&mut buf, l).unwrap(), Some(args(&["PING"])));
        assert_eq!(parser.next(&mut buf, l).unwrap(), None);
        // The third request's headers are consumed; only its unfinished argument is left.
        assert!(parser.is_mid_request());
        assert_eq!(&buf[..], b"PING");
        buf.extend_from_slice(b"\r\n");
        assert_eq!(parser.next(&mut buf, l).unwrap(), Some(args(&["PING"])));
        assert!(!parser.is_mid_request());
    }

    /// Feeds `input` in `chunk`-byte packets, as a slow sender would; returns the requests
    /// and the most bytes the buffer ever held after a parse.
    fn parse_trickled(input: &[u8], chunk: usize) -> (Vec<Vec<Bytes>>, usize) {
        let mut parser = RequestParser::default();
        let mut buf = BytesMut::new();
        let mut requests = Vec::new();
        let mut most_buffered = 0;
        for packet in input.chunks(chunk) {
            buf.extend_from_slice(packet);
            while let Some(args) = parser.next(&mut buf, ParserLimits::default()).unwrap() {
                requests.push(args);
            }
            most_buffered = most_buffered.max(buf.len());
        }
        (requests, most_buffered)
    }

    fn encode(requests: &[Vec<Vec<u8>>]) -> Vec<u8> {
        let mut out = Vec::new();
        for args in requests {
            out.extend(format!("*{}\r\n", args.len()).bytes());
            for arg in args {
                out.extend(format!("${}\r\n", arg.len()).bytes());
                out.extend(arg);
                out.extend(b"\r\n");
            }
        }
        out
    }

    #[test]
    fn a_trickled_request_is_never_reparsed_from_its_start() {
        // One 10,000-argument request sent 7 bytes at a time: every complete argument
        // leaves the buffer as soon as it has arrived, so a packet's cost is its own bytes.
        let args: Vec<Vec<u8>> = (0..10_000)
            .map(|i| format!("member:{i}").into_bytes())
            .collect();
        let mut request = vec![b"SADD".to_vec(), b"s".to_vec()];
        request.extend(args);
        let (parsed, most_buffered) = parse_trickled(&encode(&[request.clone()]), 7);
        assert_eq!(parsed.len(), 1);
        assert_eq!(
            parsed[0],
            request
                .iter()
                .map(|a| Bytes::from(a.clone()))
                .collect::<Vec<_>>()
        );
        assert!(
            most_buffered < 32,
            "buffer kept {most_buffered} bytes of parsed arguments"
        );
    }

    #[test]
    fn redis_protocol_error_texts() {
        let err = |i: &[u8]| parse(i).unwrap_err().reply_text();
        assert_eq!(
            err(b"*1\r\n$1000000000000\r\n"),
            "ERR Protocol error: invalid bulk length"
        );
        assert_eq!(
            err(b"*x\r\n"),
            "ERR Protocol error: invalid multibulk length"
        );
        assert_eq!(
            err(b"*1\r\n+OK\r\n"),
            "ERR Protocol error: expected '$', got '+'"
        );
        assert_eq!(
            err(b"\"unbalanced\r\n"),
            "ERR Protocol error: unbalanced quotes in request"
        );
        assert_eq!(
            err(&vec![b'a'; INLINE_MAX_SIZE + 1]),
            "ERR Protocol error: too big inline request"
        );
        let mut huge = b"*".to_vec();
        huge.extend(vec![b'1'; INLINE_MAX_SIZE + 1]);
        assert_eq!(err(&huge), "ERR Protocol error: too big mbulk count string");
    }

    #[test]
    fn one_gigabyte_bulk_header_is_rejected_not_buffered() {
        assert_eq!(
            parse(b"*1\r\n$1073741824\r\n").unwrap_err().0,
            "invalid bulk length"
        );
    }

    #[test]
    fn unauthenticated_limits() {
        let mut buf = BytesMut::from(&b"*11\r\n"[..]);
        let limits = ParserLimits {
            authenticated: false,
            ..Default::default()
        };
        assert_eq!(
            RequestParser::default()
                .next(&mut buf, limits)
                .unwrap_err()
                .0,
            "unauthenticated multibulk length"
        );
    }

    #[test]
    fn inline_commands_and_quotes() {
        assert_eq!(parse(b"PING\r\n").unwrap(), Some(args(&["PING"])));
        assert_eq!(
            parse(b"set a 'b c'\n").unwrap(),
            Some(args(&["set", "a", "b c"]))
        );
        assert_eq!(
            parse(b"set \"a\\x41\\n\" x\r\n").unwrap(),
            Some(vec![
                Bytes::from_static(b"set"),
                Bytes::from_static(b"aA\n"),
                Bytes::from_static(b"x")
            ])
        );
        assert_eq!(parse(b"\r\n").unwrap(), Some(vec![]));
        assert_eq!(parse(b"PING").unwrap(), None);
        assert!(parse(b"\"a\"b\r\n").is_err());
    }

    #[test]
    fn nul_bytes_end_an_inline_line_instead_of_looping() {
        assert_eq!(
            split_args(b"GET a\0b c"),
            Some(vec![b"GET".to_vec(), b"a".to_vec()])
        );
        assert_eq!(split_args(b"\0\0\0"), Some(vec![]));
        assert_eq!(
            split_args(b"a\x0cb"),
            Some(vec![b"a".to_vec(), b"b".to_vec()])
        );
    }

    proptest::proptest! {
        /// Arbitrary input is consumed or rejected in bounded steps: never a hang or panic.
        #[test]
        fn arbitrary_bytes_never_hang(input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let mut buf = BytesMut::from(&input[..]);
            let mut parser = RequestParser::default();
            for _ in 0..=input.len() {
                match parser.next(&mut buf, ParserLimits::default()) {
                    Ok(Some(_)) => continue,
                    Ok(None) | Err(_) => break,
                }
            }
        }
    }

    proptest::proptest! {
        /// However the bytes are split into packets, the same requests come out.
        #[test]
        fn packet_boundaries_do_not_change_requests(
            requests in proptest::collection::vec(
                proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40), 1..6),
                1..8),
            chunk in 1usize..64,
        ) {
            let wire = encode(&requests);
            let (parsed, _) = parse_trickled(&wire, chunk);
            let expected: Vec<Vec<Bytes>> = requests
                .iter()
                .map(|args| args.iter().map(|a| Bytes::from(a.clone())).collect())
                .collect();
            proptest::prop_assert_eq!(parsed, expected);
        }
    }

    #[test]
    fn empty_multibulk_is_ignored() {
        assert_eq!(parse(b"*0\r\n").unwrap(), Some(vec![]));
        assert_eq!(parse(b"*-1\r\n").unwrap(), Some(vec![]));
    }
}

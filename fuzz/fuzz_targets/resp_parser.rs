//! The RESP request parser (`protocol::RequestParser`) on arbitrary bytes: it must never
//! panic, and feeding the bytes in arbitrary chunks (as TCP delivers them) must yield exactly
//! the requests, and the error, that feeding them at once yields.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use redyn_protocol::{ParserLimits, RequestParser};

/// Above the parser's 64 KiB inline limit, whether a line is "too big" legitimately depends
/// on how much of it has arrived (as in Redis), so the equivalence holds only below it.
const MAX_INPUT: usize = 60 * 1024;

#[derive(Debug, PartialEq)]
enum Event {
    Request(Vec<Bytes>),
    Error(String),
}

/// Takes every request `buf` holds; false once the parser reported an error.
fn drain(
    parser: &mut RequestParser,
    buf: &mut BytesMut,
    limits: ParserLimits,
    out: &mut Vec<Event>,
) -> bool {
    loop {
        match parser.next(buf, limits) {
            Ok(Some(args)) => out.push(Event::Request(args)),
            Ok(None) => return true,
            Err(e) => {
                out.push(Event::Error(e.reply_text()));
                return false;
            }
        }
    }
}

fn limits_from(flags: u8) -> ParserLimits {
    ParserLimits {
        // Small limits too, so the bulk-length checks are reached with short inputs.
        max_bulk_len: if flags & 1 == 0 {
            512 * 1024 * 1024
        } else {
            64
        },
        authenticated: flags & 2 == 0,
    }
}

fuzz_target!(|data: &[u8]| {
    // Layout: flags, chunk-size seed, then the byte stream.
    if data.len() < 2 || data.len() > MAX_INPUT {
        return;
    }
    let limits = limits_from(data[0]);
    let seed = data[1];
    let stream = &data[2..];

    let mut whole = Vec::new();
    let mut parser = RequestParser::default();
    let mut buf = BytesMut::from(stream);
    drain(&mut parser, &mut buf, limits, &mut whole);

    let mut chunked = Vec::new();
    let mut parser = RequestParser::default();
    let mut buf = BytesMut::new();
    let mut rest = stream;
    let mut step = 0usize;
    while !rest.is_empty() {
        // Chunk sizes 1..=16 cycling through a pattern the seed picks.
        let size = (1 + (seed as usize).wrapping_mul(step + 7) % 16).min(rest.len());
        step += 1;
        buf.extend_from_slice(&rest[..size]);
        rest = &rest[size..];
        if !drain(&mut parser, &mut buf, limits, &mut chunked) {
            break;
        }
    }
    assert_eq!(whole, chunked, "chunked feeding changed the parse");
});

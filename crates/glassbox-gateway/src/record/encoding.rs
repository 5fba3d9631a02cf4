//! Response bodies that an upstream compressed although the gateway asked for none. They
//! reach the client as they came; the recorder decodes its copy before reading it.

use std::io::Write;
use std::time::Duration;

use flate2::write::{GzDecoder, ZlibDecoder};

use super::Captured;

/// Largest decoded body read, in bytes. A small compressed body can decode to gigabytes.
const MAX_DECODED_BYTES: usize = 32 * 1024 * 1024;

/// A decoder that takes compressed bytes and collects what they decode to.
enum Decoder {
    Gzip(GzDecoder<Vec<u8>>),
    Zlib(ZlibDecoder<Vec<u8>>),
}

impl Decoder {
    /// Returns the decoder of a `content-encoding`, or `None` when the gateway has none.
    fn of(encoding: &str) -> Option<Decoder> {
        match encoding {
            "gzip" | "x-gzip" => Some(Decoder::Gzip(GzDecoder::new(Vec::new()))),
            "deflate" => Some(Decoder::Zlib(ZlibDecoder::new(Vec::new()))),
            _ => None,
        }
    }

    /// Decodes `compressed`, so that what it decodes to can be taken at once.
    fn write(&mut self, compressed: &[u8]) -> std::io::Result<()> {
        let writer: &mut dyn Write = match self {
            Decoder::Gzip(decoder) => decoder,
            Decoder::Zlib(decoder) => decoder,
        };
        writer.write_all(compressed)?;
        // The decoders keep output back until the next write unless flushed.
        writer.flush()
    }

    fn finish(&mut self) -> std::io::Result<()> {
        match self {
            Decoder::Gzip(decoder) => decoder.try_finish(),
            Decoder::Zlib(decoder) => decoder.try_finish(),
        }
    }

    /// Takes the bytes decoded so far.
    fn take(&mut self) -> Vec<u8> {
        let decoded = match self {
            Decoder::Gzip(decoder) => decoder.get_mut(),
            Decoder::Zlib(decoder) => decoder.get_mut(),
        };
        std::mem::take(decoded)
    }
}

/// Replaces a compressed body with what it decodes to, chunk by chunk, so each piece keeps the
/// arrival time of the bytes it came from. Does nothing to a body sent as is. Returns the
/// reason when a body cannot be decoded, and the body is then left as it came.
pub(super) fn decode(captured: &mut Captured) -> Result<(), String> {
    let Some(encoding) = captured.encoding.as_deref() else {
        return Ok(());
    };
    let Some(mut decoder) = Decoder::of(encoding) else {
        return Err(format!(
            "the upstream compressed its response with {encoding:?}, which the gateway cannot read"
        ));
    };

    let mut decoded = Captured {
        status: captured.status,
        event_stream: captured.event_stream,
        truncated: captured.truncated,
        ..Captured::default()
    };
    let mut last = None;
    for (at, chunk) in captured.chunks() {
        decoder
            .write(chunk)
            .map_err(|error| invalid(encoding, &error))?;
        last = Some(at);
        if !keep(&mut decoded, at, &decoder.take()) {
            break;
        }
    }
    // A body cut at a limit ends mid-stream, so only a whole one must end cleanly.
    match decoder.finish() {
        Ok(()) => {}
        Err(_) if decoded.truncated => {}
        Err(error) => return Err(invalid(encoding, &error)),
    }
    if let Some(at) = last {
        keep(&mut decoded, at, &decoder.take());
    }

    *captured = decoded;
    Ok(())
}

/// Adds a decoded piece that arrived at `at`, up to [`MAX_DECODED_BYTES`] in all. Returns
/// false once the limit is reached.
fn keep(decoded: &mut Captured, at: Duration, piece: &[u8]) -> bool {
    let room = MAX_DECODED_BYTES.saturating_sub(decoded.body.len());
    let fitting = &piece[..piece.len().min(room)];
    if !fitting.is_empty() {
        decoded.push(at, fitting);
    }
    if piece.len() > room {
        decoded.truncated = true;
        return false;
    }
    true
}

fn invalid(encoding: &str, error: &std::io::Error) -> String {
    format!("the upstream's {encoding} response could not be decoded: {error}")
}

#[cfg(test)]
mod tests {
    use flate2::Compression;
    use flate2::write::{GzEncoder, ZlibEncoder};

    use super::*;

    fn captured(encoding: &str, compressed: &[u8], pieces: usize) -> Captured {
        let mut captured = Captured {
            encoding: Some(encoding.to_owned()),
            ..Captured::default()
        };
        let size = compressed.len().div_ceil(pieces);
        for (index, chunk) in compressed.chunks(size).enumerate() {
            captured.push(Duration::from_millis(index as u64 + 1), chunk);
        }
        captured
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gzip_and_deflate_are_decoded() {
        let text: Vec<u8> = (0..400u64)
            .flat_map(|n| format!("data: {{\"n\":{}}}\n\n", n * n * 7919).into_bytes())
            .collect();
        let mut zlib = ZlibEncoder::new(Vec::new(), Compression::default());
        zlib.write_all(&text).unwrap();

        for (encoding, compressed) in [("gzip", gzip(&text)), ("deflate", zlib.finish().unwrap())] {
            let mut body = captured(encoding, &compressed, 3);
            decode(&mut body).unwrap();

            assert_eq!(body.body, text, "{encoding}");
            assert!(!body.truncated);
            // Each piece keeps the arrival time of the compressed bytes it came from.
            let times: Vec<Duration> = body.chunks().map(|(at, _)| at).collect();
            assert_eq!(times.first(), Some(&Duration::from_millis(1)), "{encoding}");
            assert_eq!(times.last(), Some(&Duration::from_millis(3)), "{encoding}");
        }
    }

    #[test]
    fn unknown_or_broken_bodies_are_left_alone() {
        let mut brotli = captured("br", b"\x0b\x01\x80", 1);
        let error = decode(&mut brotli).unwrap_err();
        assert!(error.contains("\"br\""), "{error}");
        assert_eq!(brotli.body, b"\x0b\x01\x80");

        let mut broken = captured("gzip", b"not gzip at all", 1);
        let error = decode(&mut broken).unwrap_err();
        assert!(error.starts_with("the upstream's gzip response could not be decoded"));
        assert_eq!(broken.body, b"not gzip at all");
    }

    #[test]
    fn cut_body_decodes_its_start() {
        let text = b"a line of text\n".repeat(1000);
        let compressed = gzip(&text);
        let mut body = captured("gzip", &compressed[..compressed.len() / 2], 2);
        body.truncated = true;

        decode(&mut body).unwrap();

        assert!(body.truncated);
        assert!(!body.body.is_empty());
        assert!(text.starts_with(&body.body));
    }

    #[test]
    fn decoded_size_is_bounded() {
        let compressed = gzip(&vec![0; MAX_DECODED_BYTES + 1024 * 1024]);
        let mut body = captured("gzip", &compressed, 4);

        decode(&mut body).unwrap();

        assert!(body.truncated);
        assert_eq!(body.body.len(), MAX_DECODED_BYTES);
        assert_eq!(
            body.chunks().map(|(_, chunk)| chunk.len()).sum::<usize>(),
            MAX_DECODED_BYTES
        );
    }
}

//! Incremental decoder for the chat response stream (PROTOCOL.md §3).
//!
//! A `200` chat answer is a stream of events, each a type plus JSON `content`, in one of two
//! framings picked by the response's `Content-Type` ([`Framing::from_content_type`]):
//! Server-Sent Events (`text/event-stream`) or Kapa's record framing (JSON frames each followed
//! by U+241E). This module turns raw body bytes into [`Frame`]s; it does no I/O and does not
//! interpret event types (the caller decides which types it knows and what they mean).
//!
//! Data flow: the caller creates one [`StreamDecoder`] per response, passes every network read
//! to [`StreamDecoder::feed`] as it arrives (a read may end anywhere: inside a line, a frame,
//! the delimiter or a multi-byte UTF-8 character), collects the frames appended to `out`, and
//! calls [`StreamDecoder::finish`] at end of stream. Bytes are buffered and split on bytes
//! (`\n`, `\r` and the delimiter bytes never occur inside another UTF-8 sequence); only a
//! complete line or frame is decoded as UTF-8 and JSON. Every byte is scanned once and the
//! consumed prefix of the buffer is dropped in amortized O(1) per byte, so cost is linear in the
//! input. A single pending line or frame (and an SSE event's data) is capped at 64 MiB, and
//! the JSON reader's depth limit (128, `crate::json`) rejects deep nesting, so no input can
//! exhaust memory, overflow the stack or panic.
//!
//! A malformed event yields a [`DecodeError`]; the events before it have already been appended
//! to `out`, and the decoder stays failed from then on.

use crate::json::Value;
#[allow(unused_imports)]
use crate::prelude::*;

use crate::json::{Error as JsonError, Halves, Parser};
use core::fmt;

/// Largest line (SSE), event data (SSE) or frame (record) accepted, in bytes.
const MAX_PENDING: usize = 64 * 1024 * 1024;

/// Record framing delimiter: U+241E SYMBOL FOR RECORD SEPARATOR in UTF-8.
const DELIM: [u8; 3] = [0xE2, 0x90, 0x9E];

/// UTF-8 byte order mark, ignored once at the very start of the stream.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Buffer capacity kept after the buffer empties; larger allocations are released.
const KEEP_CAPACITY: usize = 64 * 1024;

/// How the response body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Server-Sent Events (`text/event-stream`): `event:`/`data:` lines, blank line ends an event.
    Sse,
    /// Kapa's record framing: `{"chunk": {"type", "content", ..}}` JSON frames, each followed
    /// by U+241E.
    Record,
}

impl Framing {
    /// Picks the framing from a `Content-Type` header value: [`Framing::Sse`] when the media
    /// type is `text/event-stream` (case-insensitive, parameters such as `; charset=utf-8`
    /// ignored), otherwise (including a missing header) [`Framing::Record`].
    pub fn from_content_type(content_type: Option<&str>) -> Framing {
        let media_type = content_type
            .and_then(|ct| ct.split(';').next())
            .map(|mt| mt.trim_matches(|c| c == ' ' || c == '\t'))
            .unwrap_or("");
        if media_type.eq_ignore_ascii_case("text/event-stream") {
            Framing::Sse
        } else {
            Framing::Record
        }
    }
}

/// One decoded event: its type as sent (SSE events without `event:` are `"message"`) and its
/// JSON content (record framing: `chunk.content`, `{}` when missing).
///
/// The content is kept as validated raw JSON, not as a `json::Value`: the protocol
/// reads the frequent `text_delta` straight into a string, which avoids building (and
/// dropping) a map per event — most of the cost of a stream before this.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The event type, e.g. `"text_delta"`; unknown types are passed through unchanged.
    pub event_type: String,
    body: Body,
}

#[derive(Debug, Clone)]
enum Body {
    /// The content's JSON text (checked).
    Raw(String),
    /// A record-framed `text_delta` whose content was read in the same pass as the record:
    /// the content is `{"text": <this>}` (other keys of it, which nothing reads, dropped),
    /// with the lone surrogate escapes at its ends.
    Text(String, Halves),
}

impl Frame {
    /// A frame with this content (for tests and encoders).
    pub fn new(event_type: impl Into<String>, content: &Value) -> Frame {
        Frame {
            event_type: event_type.into(),
            body: Body::Raw(crate::json::to_string(content)),
        }
    }

    /// The content as JSON text (valid JSON: the decoder checked it).
    pub fn raw(&self) -> alloc::borrow::Cow<'_, str> {
        match &self.body {
            Body::Raw(raw) => raw.as_str().into(),
            Body::Text(text, halves) => {
                // The halves go back as the escapes they were read from.
                let mut raw = String::from("{\"text\":");
                let mut s = String::new();
                crate::json::write_str(text, &mut s);
                let mut body = &s[1..s.len() - 1];
                raw.push('"');
                if halves.lead_low != 0 {
                    raw.push_str("\\u");
                    crate::text::push_hex(&mut raw, halves.lead_low.into(), 4, false);
                    body = body.get(3..).unwrap_or_default();
                }
                if halves.trail_high != 0 {
                    body = body.get(..body.len().saturating_sub(3)).unwrap_or_default();
                }
                raw.push_str(body);
                if halves.trail_high != 0 {
                    raw.push_str("\\u");
                    crate::text::push_hex(&mut raw, halves.trail_high.into(), 4, false);
                }
                raw.push_str("\"}");
                raw.into()
            }
        }
    }

    /// The content as a JSON value.
    pub fn content(&self) -> Value {
        crate::json::parse(&self.raw()).unwrap_or(Value::Null)
    }

    /// The text of a `text_delta` read in one pass with its record, if this is one.
    pub fn take_text(&mut self) -> Option<(String, Halves)> {
        match &mut self.body {
            Body::Text(text, halves) => Some((core::mem::take(text), *halves)),
            Body::Raw(_) => None,
        }
    }
}

impl PartialEq for Frame {
    fn eq(&self, other: &Frame) -> bool {
        self.event_type == other.event_type && self.content() == other.content()
    }
}

/// A malformed stream. The message is short and never contains the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// What went wrong, for logs.
    pub message: String,
}

impl DecodeError {
    fn new(message: impl Into<String>) -> Self {
        DecodeError {
            message: message.into(),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl core::error::Error for DecodeError {}

/// Incremental decoder of one response body; see the module docs.
pub struct StreamDecoder {
    framing: Framing,
    /// Received bytes; `buf[..start]` is consumed and awaits compaction.
    buf: Vec<u8>,
    /// Start of the pending (incomplete) line or frame.
    start: usize,
    /// Where the terminator search resumes (`start <= scan <= buf.len()`).
    scan: usize,
    /// No line or frame processed yet (a leading BOM is still to be ignored).
    at_start: bool,
    /// SSE: the last line ended with `\r`, so a `\n` right after it belongs to that line end.
    skip_lf: bool,
    /// SSE: per-event field buffers.
    sse: SseEvent,
    /// Size cap for a line, frame or event data (a field so tests can lower it).
    max_pending: usize,
    /// The first error; once set every call returns it.
    failed: Option<DecodeError>,
    finished: bool,
    /// Bytes examined or moved, to check linear cost in tests.
    #[cfg(test)]
    work: usize,
}

impl fmt::Debug for StreamDecoder {
    /// Shows the decoder's state, not the buffered payload.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamDecoder")
            .field("framing", &self.framing)
            .field("pending_bytes", &(self.buf.len() - self.start))
            .field("failed", &self.failed)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl StreamDecoder {
    /// A decoder for a body in the given framing.
    pub fn new(framing: Framing) -> Self {
        StreamDecoder {
            framing,
            buf: Vec::new(),
            start: 0,
            scan: 0,
            at_start: true,
            skip_lf: false,
            sse: SseEvent::default(),
            max_pending: MAX_PENDING,
            failed: None,
            finished: false,
            #[cfg(test)]
            work: 0,
        }
    }

    #[cfg(test)]
    fn with_max_pending(framing: Framing, max_pending: usize) -> Self {
        StreamDecoder {
            max_pending,
            ..StreamDecoder::new(framing)
        }
    }

    /// The framing this decoder was created with.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Decode every complete event in `bytes` (appended to what came before) into `out`.
    ///
    /// On a malformed event, the events before it are already in `out` and Err is returned;
    /// after an Err the decoder stays failed (every later call returns Err). Feeding after
    /// [`finish`](Self::finish) is an error too.
    #[cfg_attr(kapa_speed, optimize(speed))]
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Frame>) -> Result<(), DecodeError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        if self.finished {
            return self.fail(DecodeError::new("stream decoder fed after finish"));
        }
        self.buf.extend_from_slice(bytes);
        let result = match self.framing {
            Framing::Sse => self.run_sse(out),
            Framing::Record => self.run_record(out),
        };
        match result {
            Ok(()) => {
                self.compact();
                Ok(())
            }
            Err(err) => self.fail(err),
        }
    }

    /// End of stream. SSE: a trailing event without its blank line is discarded (SSE spec);
    /// Record: trailing bytes ignored. Returns Err if the decoder already failed.
    pub fn finish(&mut self, out: &mut Vec<Frame>) -> Result<(), DecodeError> {
        // Every complete line or frame was already decoded by `feed`, so nothing is added.
        let _ = out;
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        self.finished = true;
        self.release();
        Ok(())
    }

    fn fail(&mut self, err: DecodeError) -> Result<(), DecodeError> {
        self.failed = Some(err.clone());
        self.release();
        Err(err)
    }

    /// Drops all buffered state.
    fn release(&mut self) {
        self.buf = Vec::new();
        self.start = 0;
        self.scan = 0;
        self.sse = SseEvent::default();
    }

    #[cfg(test)]
    fn tally(&mut self, n: usize) {
        self.work += n;
    }

    #[cfg(not(test))]
    fn tally(&mut self, _n: usize) {}

    /// Drops the consumed prefix when it is at least as large as what remains, so each
    /// remaining byte moved is paid for by a consumed byte (amortized O(1) per byte).
    fn compact(&mut self) {
        let len = self.buf.len();
        if self.start == len {
            self.buf.clear();
            if self.buf.capacity() > KEEP_CAPACITY {
                self.buf.shrink_to(KEEP_CAPACITY);
            }
            self.start = 0;
            self.scan = 0;
        } else if self.start > 0 && self.start >= len - self.start {
            self.tally(len - self.start);
            self.buf.drain(..self.start);
            self.scan -= self.start;
            self.start = 0;
        }
    }

    /// Errors if the line or frame still pending is already over the cap. `scan - start` is
    /// the part known to belong to it (a partial delimiter at `scan` is not counted), so the
    /// outcome does not depend on where reads end.
    fn check_pending(&self, what: &str) -> Result<(), DecodeError> {
        if self.scan - self.start > self.max_pending {
            return Err(too_long(what));
        }
        Ok(())
    }

    /// Takes the BOM off the first line or frame of the stream.
    fn strip_bom<'a>(at_start: &mut bool, bytes: &'a [u8]) -> &'a [u8] {
        if core::mem::take(at_start) {
            bytes.strip_prefix(BOM).unwrap_or(bytes)
        } else {
            bytes
        }
    }

    fn run_sse(&mut self, out: &mut Vec<Frame>) -> Result<(), DecodeError> {
        loop {
            if self.skip_lf {
                if self.start == self.buf.len() {
                    break;
                }
                if self.buf[self.start] == b'\n' {
                    self.start += 1;
                    self.scan = self.start;
                }
                self.skip_lf = false;
            }
            let from = self.scan;
            let found = self.buf[from..]
                .iter()
                .position(|&b| b == b'\n' || b == b'\r');
            let Some(offset) = found else {
                self.tally(self.buf.len() - from);
                self.scan = self.buf.len();
                break;
            };
            self.tally(offset + 1);
            let end = from + offset;
            let line_start = self.start;
            self.skip_lf = self.buf[end] == b'\r';
            self.start = end + 1;
            self.scan = self.start;
            if end - line_start > self.max_pending {
                return Err(too_long(SSE_LINE));
            }
            let line = Self::strip_bom(&mut self.at_start, &self.buf[line_start..end]);
            self.sse.line(line, self.max_pending, out)?;
        }
        self.check_pending(SSE_LINE)
    }

    fn run_record(&mut self, out: &mut Vec<Frame>) -> Result<(), DecodeError> {
        loop {
            let len = self.buf.len();
            let from = self.scan;
            let Some(offset) = self.buf[from..].iter().position(|&b| b == DELIM[0]) else {
                self.tally(len - from);
                self.scan = len;
                break;
            };
            self.tally(offset + 1);
            let at = from + offset;
            if at + DELIM.len() > len {
                if self.buf[at..] == DELIM[..len - at] {
                    // Possibly a delimiter split across reads: resume here next time.
                    self.scan = at;
                    break;
                }
                self.scan = at + 1;
                continue;
            }
            if self.buf[at..at + DELIM.len()] != DELIM {
                self.scan = at + 1;
                continue;
            }
            let frame_start = self.start;
            self.start = at + DELIM.len();
            self.scan = self.start;
            if at - frame_start > self.max_pending {
                return Err(too_long(RECORD_FRAME));
            }
            let frame = Self::strip_bom(&mut self.at_start, &self.buf[frame_start..at]);
            if let Some(frame) = decode_record(frame)? {
                out.push(frame);
            }
        }
        self.check_pending(RECORD_FRAME)
    }
}

const SSE_LINE: &str = "SSE line";
const RECORD_FRAME: &str = "record frame";

fn too_long(what: &str) -> DecodeError {
    DecodeError::new([what, " exceeds the size limit"].concat())
}

/// SSE field buffers of the event being assembled.
#[derive(Default)]
struct SseEvent {
    /// Last `event:` value; empty means "message".
    event_type: String,
    /// `data:` values, each followed by `\n`; empty means no data line yet.
    data: String,
}

impl SseEvent {
    /// Processes one complete line (without its line end), as the SSE spec's "interpret
    /// the stream" step does.
    fn line(&mut self, line: &[u8], max: usize, out: &mut Vec<Frame>) -> Result<(), DecodeError> {
        let line = core::str::from_utf8(line)
            .map_err(|_| DecodeError::new("invalid UTF-8 in SSE line"))?;
        if line.is_empty() {
            return self.dispatch(out);
        }
        if line.starts_with(':') {
            return Ok(()); // comment / keep-alive
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => {
                self.event_type.clear();
                self.event_type.push_str(value);
            }
            "data" => {
                if self.data.len() + value.len() + 1 > max {
                    return Err(DecodeError::new("SSE event data exceeds the size limit"));
                }
                self.data.push_str(value);
                self.data.push('\n');
            }
            _ => {} // id, retry and unknown fields are ignored
        }
        Ok(())
    }

    /// Blank line: emits the event if it has data, then resets the buffers.
    fn dispatch(&mut self, out: &mut Vec<Frame>) -> Result<(), DecodeError> {
        let event_type = core::mem::take(&mut self.event_type);
        if self.data.is_empty() {
            return Ok(());
        }
        self.data.pop(); // the `\n` after the last data line
        let parsed = crate::json::validate(&self.data).map(|()| self.data.clone());
        self.data.clear();
        if self.data.capacity() > KEEP_CAPACITY {
            self.data.shrink_to(KEEP_CAPACITY);
        }
        let raw = parsed
            .map_err(|e| DecodeError::new(["SSE data is not valid JSON (", e.0, ")"].concat()))?;
        let event_type = if event_type.is_empty() {
            "message".to_owned()
        } else {
            event_type
        };
        out.push(Frame {
            event_type,
            body: Body::Raw(raw),
        });
        Ok(())
    }
}

/// Decodes one record frame (delimiter excluded); `None` for an empty (whitespace-only) frame.
fn decode_record(frame: &[u8]) -> Result<Option<Frame>, DecodeError> {
    let frame = frame.trim_ascii();
    if frame.is_empty() {
        return Ok(None);
    }
    let text = core::str::from_utf8(frame)
        .map_err(|_| DecodeError::new("invalid UTF-8 in record frame"))?;
    // The common, well-formed frame in one pass.
    if let Some(frame) = fast_record(text) {
        return Ok(Some(frame));
    }
    // Otherwise find out what is wrong: malformed JSON and a missing type are told apart.
    let record = crate::json::parse(text)
        .map_err(|e| DecodeError::new(["record frame is not valid JSON (", e.0, ")"].concat()))?;
    let chunk = record
        .get("chunk")
        .and_then(Value::as_object)
        .ok_or_else(missing_type)?;
    let event_type = chunk
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(missing_type)?
        .to_owned();
    let raw = chunk
        .get("content")
        .map_or_else(|| "{}".to_owned(), crate::json::to_string);
    Ok(Some(Frame {
        event_type,
        body: Body::Raw(raw),
    }))
}

/// `{"chunk": {"type": "…", "content": …}}` (other keys skipped) read in one pass: the
/// content of a `text_delta` (when `type` comes first, as servers send it) straight into its
/// text, any other content kept as its checked JSON text. `None` for anything unusual (a
/// duplicate key, a missing or odd type, a `text_delta` without a string `text`, broken
/// JSON), which the careful path then reads or reports.
fn fast_record(text: &str) -> Option<Frame> {
    let mut p = Parser::new(text);
    let mut frame = None;
    p.object(|p, key| match (&*key, &frame) {
        ("chunk", None) => {
            frame = Some(fast_chunk(p)?);
            Ok(())
        }
        ("chunk", Some(_)) => Err(UNUSUAL),
        _ => p.skip(),
    })
    .ok()?;
    p.end().ok()?;
    frame
}

/// The fast path gives way to the careful one.
const UNUSUAL: JsonError = JsonError("not the usual layout");

fn fast_chunk(p: &mut Parser) -> Result<Frame, JsonError> {
    let mut kind = None;
    let mut body = None;
    p.object(|p, key| {
        match (&*key, &kind, &body) {
            ("type", None, _) if p.at_string() => kind = Some(p.string()?),
            ("content", _, None) => {
                body = Some(if kind.as_deref() == Some("text_delta") {
                    let (text, halves) = p.text_member()?.ok_or(UNUSUAL)?;
                    Body::Text(text, halves)
                } else {
                    Body::Raw(p.raw()?.to_owned())
                })
            }
            ("type" | "content", _, _) => return Err(UNUSUAL),
            _ => p.skip()?,
        }
        Ok(())
    })?;
    Ok(Frame {
        event_type: kind.ok_or(UNUSUAL)?.into_owned(),
        body: body.unwrap_or_else(|| Body::Raw("{}".to_owned())),
    })
}

fn missing_type() -> DecodeError {
    DecodeError::new("record frame lacks chunk.type")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;
    use proptest::prelude::*;

    /// Feeds `chunks` in order, then finishes; stops at the first error.
    fn decode_with(mut dec: StreamDecoder, chunks: &[&[u8]]) -> (Vec<Frame>, Option<DecodeError>) {
        let mut out = Vec::new();
        for chunk in chunks {
            if let Err(e) = dec.feed(chunk, &mut out) {
                return (out, Some(e));
            }
        }
        let err = dec.finish(&mut out).err();
        (out, err)
    }

    fn decode(framing: Framing, chunks: &[&[u8]]) -> (Vec<Frame>, Option<DecodeError>) {
        decode_with(StreamDecoder::new(framing), chunks)
    }

    fn decode_ok(framing: Framing, chunks: &[&[u8]]) -> Vec<Frame> {
        let (frames, err) = decode(framing, chunks);
        assert_eq!(err, None);
        frames
    }

    fn frame(event_type: &str, content: Value) -> Frame {
        Frame::new(event_type, &content)
    }

    fn record(event_type: &str, content: &Value) -> String {
        let frame = json!({"chunk": {"type": event_type, "content": content, "stream_end": false}});
        format!("{frame}\u{241E}")
    }

    /// Whole feed, every two-feed split, and one byte per feed all agree with `expected`.
    fn assert_all_splits(framing: Framing, input: &[u8], expected: &[Frame]) {
        assert_eq!(decode_ok(framing, &[input]), expected);
        for cut in 0..=input.len() {
            let (a, b) = input.split_at(cut);
            assert_eq!(decode_ok(framing, &[a, b]), expected, "split at {cut}");
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(decode_ok(framing, &bytes), expected, "one byte per feed");
    }

    const PROTOCOL_EXAMPLE: &str = "event: stream_start\n\
data: {\"thread_id\":\"thr_1\"}\n\
\n\
event: tool_call\n\
data: {\"id\":\"call_9\",\"name\":\"search_knowledge_base\",\"arguments\":{\"query\":\"install\"},\"executor\":\"server\"}\n\
\n\
event: tool_result\n\
data: {\"id\":\"call_9\",\"status\":\"completed\",\"sources\":[{\"title\":\"Install|Quickstart\",\"source_url\":\"https://docs.example.com/install\",\"source_type\":\"doc\",\"source_visibility\":\"public\"}],\"duration_ms\":120}\n\
\n\
event: text_delta\n\
data: {\"text\":\"Run \"}\n\
\n\
event: text_delta\n\
data: {\"text\":\"`npm install`.\"}\n\
\n\
event: done\n\
data: {\"thread_id\":\"thr_1\"}\n\
\n";

    fn protocol_example_frames() -> Vec<Frame> {
        vec![
            frame("stream_start", json!({"thread_id": "thr_1"})),
            frame(
                "tool_call",
                json!({"id": "call_9", "name": "search_knowledge_base",
                       "arguments": {"query": "install"}, "executor": "server"}),
            ),
            frame(
                "tool_result",
                json!({"id": "call_9", "status": "completed", "sources": [{
                    "title": "Install|Quickstart", "source_url": "https://docs.example.com/install",
                    "source_type": "doc", "source_visibility": "public"}], "duration_ms": 120}),
            ),
            frame("text_delta", json!({"text": "Run "})),
            frame("text_delta", json!({"text": "`npm install`."})),
            frame("done", json!({"thread_id": "thr_1"})),
        ]
    }

    #[test]
    fn content_type_selects_framing() {
        use Framing::*;
        assert_eq!(Framing::from_content_type(Some("text/event-stream")), Sse);
        assert_eq!(
            Framing::from_content_type(Some("Text/Event-Stream; charset=utf-8")),
            Sse
        );
        assert_eq!(
            Framing::from_content_type(Some(" text/event-stream ;x")),
            Sse
        );
        assert_eq!(Framing::from_content_type(Some("text/plain")), Record);
        assert_eq!(Framing::from_content_type(Some("application/json")), Record);
        assert_eq!(Framing::from_content_type(Some("")), Record);
        assert_eq!(Framing::from_content_type(None), Record);
        assert_eq!(StreamDecoder::new(Sse).framing(), Sse);
        assert_eq!(StreamDecoder::new(Record).framing(), Record);
    }

    #[test]
    fn sse_protocol_example_every_split() {
        assert_all_splits(
            Framing::Sse,
            PROTOCOL_EXAMPLE.as_bytes(),
            &protocol_example_frames(),
        );
    }

    #[test]
    fn sse_mixed_stream_every_split() {
        let input = "\u{FEFF}: keep-alive\r\n\
retry: 1000\r\n\
id: 7\r\n\
event: stream_start\r\n\
data: {\"thread_id\":\"t\"}\r\n\
\r\n\
event: text_delta\r\
data: {\"text\":\"héllo ✓ 😀\"}\r\
\r\
:\n\
event: tool_call\n\
data:{\"id\":\"c\",\n\
data:  \"arguments\": {\"q\": \"ü\"}}\n\
\n\
event: ping\n\
\n\
data: [1, 2]\n\
\n\
event: done\r\n\
data: {}\r\n\
\r\n\
event: text_delta\n\
data: {\"text\":\"never dispatched\"}\n";
        let expected = vec![
            frame("stream_start", json!({"thread_id": "t"})),
            frame("text_delta", json!({"text": "héllo ✓ 😀"})),
            frame("tool_call", json!({"id": "c", "arguments": {"q": "ü"}})),
            frame("message", json!([1, 2])),
            frame("done", json!({})),
        ];
        assert_all_splits(Framing::Sse, input.as_bytes(), &expected);
    }

    #[test]
    fn sse_line_endings() {
        let expected = vec![frame("a", json!(1)), frame("b", json!(2))];
        for eol in ["\n", "\r\n", "\r"] {
            let input = format!("event: a{eol}data: 1{eol}{eol}event: b{eol}data: 2{eol}{eol}");
            assert_all_splits(Framing::Sse, input.as_bytes(), &expected);
        }
    }

    #[test]
    fn sse_cr_then_lf_across_feeds_is_one_line_end() {
        // If each `\n` after a feed-final `\r` were a second line end, it would be a blank
        // line: `event: a` would be dropped and "[1," dispatched alone (invalid JSON).
        let chunks: [&[u8]; 4] = [b"event: a\r", b"\ndata: [1,\r", b"\ndata: 2]\r", b"\n\r\n"];
        assert_eq!(
            decode_ok(Framing::Sse, &chunks),
            vec![frame("a", json!([1, 2]))]
        );
    }

    #[test]
    fn sse_cr_across_feeds_then_blank_line() {
        // `\r` `\n` split across feeds followed by a real blank line (`\r`).
        let chunks: [&[u8]; 3] = [b"event: a\r", b"\ndata: [1,\r", b"\ndata: 2]\r\r"];
        assert_eq!(
            decode_ok(Framing::Sse, &chunks),
            vec![frame("a", json!([1, 2]))]
        );
        // A lone `\r` at the end of a feed followed by a non-`\n` byte.
        let chunks: [&[u8]; 3] = [b"event: a\r", b"data: 3\r", b"\r"];
        assert_eq!(decode_ok(Framing::Sse, &chunks), vec![frame("a", json!(3))]);
        // `\r` then `\n` then `\n`: the second `\n` is a blank line.
        let chunks: [&[u8]; 3] = [b"data: 4\r", b"\n", b"\n"];
        assert_eq!(
            decode_ok(Framing::Sse, &chunks),
            vec![frame("message", json!(4))]
        );
    }

    #[test]
    fn sse_fields_and_comments() {
        let input = b": comment\nid: 1\nretry: 5\nfoo: bar\nevent\ndata: {\"x\":1}\n\n";
        // A bare `event` field (no colon) sets an empty type, i.e. "message".
        assert_eq!(
            decode_ok(Framing::Sse, &[input]),
            vec![frame("message", json!({"x": 1}))]
        );
        // No space after the colon; only one leading space is stripped.
        let input = b"event:t\ndata:  \"v\"\n\n";
        assert_eq!(
            decode_ok(Framing::Sse, &[input]),
            vec![frame("t", json!("v"))]
        );
        // Event type is kept as given and reset after dispatch.
        let input = b"event: Custom_Type\ndata: 1\n\ndata: 2\n\n";
        assert_eq!(
            decode_ok(Framing::Sse, &[input]),
            vec![frame("Custom_Type", json!(1)), frame("message", json!(2))]
        );
        // Only one space is stripped from the event type either.
        let input = b"event:  spaced\ndata: 1\n\n";
        assert_eq!(
            decode_ok(Framing::Sse, &[input]),
            vec![frame(" spaced", json!(1))]
        );
        // A leading BOM is ignored, so the first line is still an `event` field.
        let input = "\u{FEFF}event: t\ndata: 1\n\n".as_bytes();
        assert_eq!(
            decode_ok(Framing::Sse, &[input]),
            vec![frame("t", json!(1))]
        );
        // ... but only at the very start of the stream.
        let input = "data: 1\n\n\u{FEFF}event: t\ndata: 2\n\n".as_bytes();
        assert_eq!(
            decode_ok(Framing::Sse, &[input]),
            vec![frame("message", json!(1)), frame("message", json!(2))]
        );
        // A later `event:` replaces an earlier one.
        let input = b"event: a\nevent: b\ndata: 1\n\n";
        assert_eq!(
            decode_ok(Framing::Sse, &[input]),
            vec![frame("b", json!(1))]
        );
    }

    #[test]
    fn sse_multiline_data_joined_with_lf() {
        let input = b"event: t\ndata: {\"text\":\ndata: \"a\"\ndata: }\n\n";
        assert_eq!(
            decode_ok(Framing::Sse, &[input]),
            vec![frame("t", json!({"text": "a"}))]
        );
        // The joined data is "1\n2", which is not one JSON value.
        let (frames, err) = decode(Framing::Sse, &[b"data: 1\ndata: 2\n\n"]);
        assert!(frames.is_empty());
        assert!(err.is_some());
    }

    #[test]
    fn sse_event_without_data_not_dispatched() {
        let input = b"event: ping\n\nevent: x\nid: 3\n\n\n\ndata: 1\n\n";
        assert_eq!(
            decode_ok(Framing::Sse, &[input]),
            vec![frame("message", json!(1))]
        );
    }

    #[test]
    fn sse_empty_data_line_is_invalid_json() {
        // `data:` alone makes a non-empty data buffer holding "", which is not JSON.
        let (frames, err) = decode(Framing::Sse, &[b"event: ping\ndata:\n\n"]);
        assert!(frames.is_empty());
        assert!(err.is_some());
    }

    #[test]
    fn sse_trailing_event_discarded_at_finish() {
        let input = b"data: 1\n\nevent: t\ndata: 2\n";
        assert_eq!(
            decode_ok(Framing::Sse, &[input]),
            vec![frame("message", json!(1))]
        );
        let input = b"data: 1\n\ndata: 2";
        assert_eq!(
            decode_ok(Framing::Sse, &[input]),
            vec![frame("message", json!(1))]
        );
        // Invalid bytes in the discarded tail are not an error.
        let input = b"data: 1\n\ndata: \xff";
        assert_eq!(
            decode_ok(Framing::Sse, &[input]),
            vec![frame("message", json!(1))]
        );
    }

    #[test]
    fn sse_invalid_json_keeps_earlier_frames() {
        let input = b"data: {\"a\":1}\n\ndata: {nope}\n\ndata: 3\n\n";
        for cut in 0..=input.len() {
            let (a, b) = input.split_at(cut);
            let (frames, err) = decode(Framing::Sse, &[a, b]);
            assert_eq!(frames, vec![frame("message", json!({"a": 1}))]);
            let err = err.expect("error");
            assert!(err.message.contains("not valid JSON"), "{err}");
            assert!(!err.message.contains("nope"));
        }
    }

    #[test]
    fn sse_invalid_utf8_is_error() {
        let mut out = Vec::new();
        let mut dec = StreamDecoder::new(Framing::Sse);
        assert!(dec.feed(b"data: 1\n\ndata: \"\xc3\x28\"", &mut out).is_ok());
        assert_eq!(out, vec![frame("message", json!(1))]);
        let err = dec.feed(b"\n", &mut out).unwrap_err();
        assert!(err.message.contains("UTF-8"), "{err}");
        // Even in a comment line.
        let (_, err) = decode(Framing::Sse, &[b": \xff\n"]);
        assert!(err.is_some());
    }

    #[test]
    fn failure_is_sticky() {
        for (framing, bad) in [
            (Framing::Sse, &b"data: x\n\n"[..]),
            (Framing::Record, "x\u{241E}".as_bytes()),
        ] {
            let mut dec = StreamDecoder::new(framing);
            let mut out = Vec::new();
            let err = dec.feed(bad, &mut out).unwrap_err();
            let good: &[u8] = match framing {
                Framing::Sse => b"data: 1\n\n",
                Framing::Record => "{\"chunk\":{\"type\":\"t\"}}\u{241E}".as_bytes(),
            };
            assert_eq!(dec.feed(good, &mut out), Err(err.clone()));
            assert_eq!(dec.finish(&mut out), Err(err));
            assert!(out.is_empty());
        }
    }

    #[test]
    fn feed_after_finish_is_error() {
        let mut dec = StreamDecoder::new(Framing::Sse);
        let mut out = Vec::new();
        dec.finish(&mut out).unwrap();
        assert!(dec.finish(&mut out).is_ok());
        assert!(dec.feed(b"data: 1\n\n", &mut out).is_err());
        assert!(out.is_empty());
    }

    #[test]
    fn record_stream_every_split() {
        let mut input = String::from("\u{FEFF}");
        input += &record("stream_start", &json!({"thread_id": "thr_1"}));
        input += "  \n\t\u{241E}"; // empty frame
        input += " \r\n";
        input += &record("text_delta", &json!({"text": "héllo ✓ 😀"}));
        input += "\u{241E}\u{241E}";
        input += "{\"chunk\":{\"type\":\"ping\"}}\n\u{241E}"; // content missing
        input += "{\"chunk\":{\"type\":\"x\",\"content\":[1]},\"extra\":true}\u{241E}";
        input += &record("done", &json!({"thread_id": "thr_1"}));
        input += "{\"chunk\": {\"type\": \"late\", \"conte"; // ignored at finish
        let expected = vec![
            frame("stream_start", json!({"thread_id": "thr_1"})),
            frame("text_delta", json!({"text": "héllo ✓ 😀"})),
            frame("ping", json!({})),
            frame("x", json!([1])),
            frame("done", json!({"thread_id": "thr_1"})),
        ];
        assert_all_splits(Framing::Record, input.as_bytes(), &expected);
    }

    #[test]
    fn record_protocol_example_every_split() {
        let input: String = protocol_example_frames()
            .iter()
            .map(|f| record(&f.event_type, &f.content()))
            .collect();
        assert_all_splits(
            Framing::Record,
            input.as_bytes(),
            &protocol_example_frames(),
        );
    }

    #[test]
    fn record_delimiter_split_across_feeds() {
        let chunks: [&[u8]; 4] = [
            b"{\"chunk\":{\"type\":\"a\",\"content\":{}}}\xE2",
            b"\x90",
            b"\x9E{\"chunk\":{\"type\":\"b\",\"content\":{\"t\":\"\xE2\x9C",
            b"\x93\"}}}\xE2\x90\x9E",
        ];
        assert_eq!(
            decode_ok(Framing::Record, &chunks),
            vec![frame("a", json!({})), frame("b", json!({"t": "✓"}))]
        );
    }

    #[test]
    fn record_trailing_bytes_ignored() {
        let input = format!("{}   trailing garbage \u{FFFD}", record("t", &json!(1)));
        assert_eq!(
            decode_ok(Framing::Record, &[input.as_bytes()]),
            vec![frame("t", json!(1))]
        );
        // A complete frame without its delimiter is ignored too, as are partial delimiters.
        let mut input = record("t", &json!(1)).into_bytes();
        input.extend_from_slice(b"{\"chunk\":{\"type\":\"u\"}}\xE2\x90");
        assert_eq!(
            decode_ok(Framing::Record, &[&input]),
            vec![frame("t", json!(1))]
        );
        // Invalid UTF-8 after the last delimiter is ignored.
        let mut input = record("t", &json!(1)).into_bytes();
        input.extend_from_slice(b"\xff\xfe");
        assert_eq!(
            decode_ok(Framing::Record, &[&input]),
            vec![frame("t", json!(1))]
        );
    }

    #[test]
    fn record_missing_type_is_error() {
        for bad in [
            "{\"chunk\":{\"content\":{}}}",
            "{\"chunk\":{\"type\":7}}",
            "{\"chunk\":\"x\"}",
            "{\"type\":\"t\"}",
            "[1]",
            "null",
        ] {
            let input = format!(
                "{}{bad}\u{241E}{}",
                record("a", &json!(1)),
                record("b", &json!(2))
            );
            let (frames, err) = decode(Framing::Record, &[input.as_bytes()]);
            assert_eq!(frames, vec![frame("a", json!(1))], "{bad}");
            assert_eq!(err.unwrap().message, "record frame lacks chunk.type");
        }
    }

    /// The one-pass `text_delta` read and the careful path agree on every layout: type
    /// before or after content, extra keys, escapes, duplicate keys (the last wins), a
    /// content of the wrong shape (an error for the protocol to report).
    #[test]
    fn record_text_delta_one_pass_matches_careful_path() {
        enum Want {
            Text(&'static str),
            BadEvent,
            BadFrame,
        }
        use Want::*;
        let cases = [
            (
                r#"{"chunk":{"type":"text_delta","content":{"text":"hi"}}}"#,
                Text("hi"),
            ),
            (
                r#"{"chunk":{"content":{"text":"hi"},"type":"text_delta"}}"#,
                Text("hi"),
            ),
            (
                r#"{"chunk":{"type":"text_delta","content":{"x":[1,{"y":2}],"text":"a\"b\u00e9"},"n":1},"stream_end":false}"#,
                Text("a\"bé"),
            ),
            (
                r#"{"chunk":{"type":"text\u005fdelta","content":{"text":"esc"}}}"#,
                Text("esc"),
            ),
            // Duplicate keys: the last wins, as in JSON.parse.
            (
                r#"{"chunk":{"type":"text_delta","type":"text_delta","content":{"text":"dup"}}}"#,
                Text("dup"),
            ),
            (
                r#"{"chunk":{"type":"text_delta","content":{"text":"1"},"content":{"text":"2"}}}"#,
                Text("2"),
            ),
            (
                r#"{"chunk":{"type":"text_delta","content":{"text":"1","text":"3"}}}"#,
                Text("3"),
            ),
            (
                r#"{"chunk":{"type":"x"},"chunk":{"type":"text_delta","content":{"text":"4"}}}"#,
                Text("4"),
            ),
            (
                r#"{"chunk":{"type":"text_delta","content":{"text":"5"}} x"#,
                BadFrame,
            ),
            (
                r#"{"chunk":{"type":"text_delta","content":{"text":7}}}"#,
                BadEvent,
            ),
            (
                r#"{"chunk":{"type":"text_delta","content":"nope"}}"#,
                BadEvent,
            ),
            (r#"{"chunk":{"type":"text_delta"}}"#, BadEvent),
        ];
        for (input, want) in cases {
            let framed = format!("{input}\u{241E}");
            let (mut frames, err) = decode(Framing::Record, &[framed.as_bytes()]);
            if let BadFrame = want {
                assert!(err.is_some() && frames.is_empty(), "{input}");
                continue;
            }
            assert_eq!(err, None, "{input}");
            assert_eq!(frames.len(), 1, "{input}");
            assert_eq!(frames[0].event_type, "text_delta", "{input}");
            let careful = frames[0].content();
            let got = crate::protocol::parse_event(frames.remove(0));
            match want {
                Text(text) => {
                    assert_eq!(careful["text"], text, "{input}");
                    assert_eq!(
                        got,
                        Ok(crate::protocol::StreamEvent::TextDelta {
                            text: text.into(),
                            halves: Default::default()
                        }),
                        "{input}"
                    );
                }
                _ => assert!(got.is_err(), "{input}: {got:?}"),
            }
        }
    }

    #[test]
    fn record_invalid_json_keeps_earlier_frames() {
        let input = format!(
            "{}{}{{\"chunk\": oops}}\u{241E}{}",
            record("a", &json!(1)),
            record("b", &json!(2)),
            record("c", &json!(3))
        );
        let bytes = input.as_bytes();
        for cut in 0..=bytes.len() {
            let (a, b) = bytes.split_at(cut);
            let (frames, err) = decode(Framing::Record, &[a, b]);
            assert_eq!(frames, vec![frame("a", json!(1)), frame("b", json!(2))]);
            let err = err.expect("error");
            assert!(err.message.contains("not valid JSON"), "{err}");
            assert!(!err.message.contains("oops"));
        }
    }

    #[test]
    fn record_invalid_utf8_is_error() {
        let mut input = record("a", &json!(1)).into_bytes();
        input.extend_from_slice(b"{\"chunk\":{\"type\":\"\xc0\xaf\"}}\xE2\x90\x9E");
        let (frames, err) = decode(Framing::Record, &[&input]);
        assert_eq!(frames, vec![frame("a", json!(1))]);
        assert!(err.unwrap().message.contains("UTF-8"));
    }

    #[test]
    fn deep_nesting_never_overflows_and_fails_when_read() {
        // The decoder only checks syntax (iteratively, so 100,000 levels cannot overflow the
        // stack); reading such content as an event fails at the depth limit (128).
        let open = "[".repeat(100_000);
        let close = "]".repeat(100_000);
        let sse = format!("event: done\ndata: {open}{close}\n\n");
        let frames = decode_ok(Framing::Sse, &[sse.as_bytes()]);
        assert_eq!(frames.len(), 1);
        assert!(crate::protocol::parse_event(frames[0].clone()).is_err());
        let rec = format!("{{\"chunk\":{{\"type\":\"done\",\"content\":{open}{close}}}}}\u{241E}");
        let frames = decode_ok(Framing::Record, &[rec.as_bytes()]);
        assert!(crate::protocol::parse_event(frames[0].clone()).is_err());
        // Unbalanced nesting is not JSON at all.
        let sse = format!("data: {open}\n\n");
        let (frames, err) = decode(Framing::Sse, &[sse.as_bytes()]);
        assert!(frames.is_empty());
        assert!(err.unwrap().message.contains("not valid JSON"));
        let rec = format!("{open}\u{241E}");
        assert!(decode(Framing::Record, &[rec.as_bytes()]).1.is_some());
        // Moderate nesting (below the limit of 128) reads fine.
        let ok = format!(
            "event: done\ndata: {{\"thread_id\":\"t\",\"x\":{}{}}}\n\n",
            "[".repeat(100),
            "]".repeat(100)
        );
        let frames = decode_ok(Framing::Sse, &[ok.as_bytes()]);
        assert!(crate::protocol::parse_event(frames[0].clone()).is_ok());
    }

    #[test]
    fn debug_does_not_show_payload() {
        let mut dec = StreamDecoder::new(Framing::Sse);
        dec.feed(b"data: secret", &mut Vec::new()).unwrap();
        let shown = format!("{dec:?}");
        assert!(shown.contains("pending_bytes: 12"), "{shown}");
        assert!(!shown.contains("secret"), "{shown}");
    }

    #[test]
    fn default_cap_is_64_mib() {
        assert_eq!(
            StreamDecoder::new(Framing::Sse).max_pending,
            64 * 1024 * 1024
        );
    }

    #[test]
    fn sse_line_cap() {
        let dec = || StreamDecoder::with_max_pending(Framing::Sse, 16);
        let line16 = b"data: 1234567890"; // 16 bytes
        assert_eq!(line16.len(), 16);
        // Exactly at the cap: fine, whether pending or complete.
        let mut input = line16.to_vec();
        input.extend_from_slice(b"\n\n");
        assert_eq!(
            decode_with(dec(), &[line16, b"\n\n"]).0,
            vec![frame("message", json!(1234567890))]
        );
        assert_eq!(decode_with(dec(), &[&input]).0.len(), 1);
        // One byte more: error when pending, and when complete in one feed.
        let (frames, err) = decode_with(dec(), &[b"data: 1\n\n", b"data: 12345678901"]);
        assert_eq!(frames, vec![frame("message", json!(1))]);
        assert_eq!(err.unwrap().message, "SSE line exceeds the size limit");
        let (_, err) = decode_with(dec(), &[b"data: 12345678901\n\n"]);
        assert_eq!(err.unwrap().message, "SSE line exceeds the size limit");
        // Comments count too (a server can't stream an endless comment).
        let (_, err) = decode_with(dec(), &[b":", &[b'x'; 100]]);
        assert!(err.is_some());
        // Accumulated data lines are capped as well.
        let (_, err) = decode_with(dec(), &[b"data: 12345678\ndata: 12345678\n"]);
        assert_eq!(
            err.unwrap().message,
            "SSE event data exceeds the size limit"
        );
    }

    #[test]
    fn record_frame_cap() {
        let dec = || StreamDecoder::with_max_pending(Framing::Record, 30);
        let exact = b"{\"chunk\":{\"type\":\"abcdefghijk\"}}"; // 32 bytes
        let dec32 = || StreamDecoder::with_max_pending(Framing::Record, 32);
        // Exactly at the cap, with a partial delimiter pending: not an error.
        let (frames, err) = decode_with(dec32(), &[exact, b"\xE2\x90", b"\x9E"]);
        assert_eq!(err, None);
        assert_eq!(frames, vec![frame("abcdefghijk", json!({}))]);
        // Over the cap: error while pending and when complete.
        let (_, err) = decode_with(dec(), &[exact]);
        assert_eq!(err.unwrap().message, "record frame exceeds the size limit");
        let mut whole = exact.to_vec();
        whole.extend_from_slice(&DELIM);
        let (_, err) = decode_with(dec(), &[&whole]);
        assert_eq!(err.unwrap().message, "record frame exceeds the size limit");
    }

    #[test]
    fn linear_work_and_bounded_buffer() {
        // One large frame fed a byte at a time: each byte is examined O(1) times.
        let big = format!(
            "{{\"chunk\":{{\"type\":\"t\",\"content\":{{\"text\":\"{}\"}}}}}}\u{241E}",
            "é✓".repeat(40_000)
        );
        let mut dec = StreamDecoder::new(Framing::Record);
        let mut out = Vec::new();
        for b in big.as_bytes().chunks(1) {
            dec.feed(b, &mut out).unwrap();
        }
        assert_eq!(out.len(), 1);
        assert!(
            dec.work <= 3 * big.len(),
            "work {} for {}",
            dec.work,
            big.len()
        );

        // Many events, each feed ending mid-event: consumed bytes are dropped.
        let event = "event: text_delta\r\ndata: {\"text\":\"héllo ✓ 😀\"}\r\n\r\n";
        let stream = event.repeat(5_000);
        let mut dec = StreamDecoder::new(Framing::Sse);
        let mut out = Vec::new();
        let mut max_buf = 0;
        for chunk in stream.as_bytes().chunks(37) {
            dec.feed(chunk, &mut out).unwrap();
            max_buf = max_buf.max(dec.buf.len());
        }
        assert_eq!(out.len(), 5_000);
        assert!(max_buf < 4 * event.len(), "buffer grew to {max_buf}");
        assert!(
            dec.work <= 3 * stream.len(),
            "work {} for {}",
            dec.work,
            stream.len()
        );
    }

    // ---- property tests ----

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<String>().prop_map(Value::String),
            "[a-z\u{e9}\u{2713}\u{1F600}\u{241E}\r\n ]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map("[a-z\u{241E}]{0,5}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn events() -> impl Strategy<Value = Vec<(String, Value)>> {
        prop::collection::vec(("[a-z_]{1,12}", json_value()), 0..6)
    }

    /// Encodes events as SSE, varying line ends, data line splits and noise lines.
    fn encode_sse(events: &[(String, Value)], style: &[u8]) -> Vec<u8> {
        let mut s = String::new();
        let mut k = 0;
        let mut pick = |n: u8| {
            k += 1;
            style.get(k % style.len().max(1)).copied().unwrap_or(0) % n
        };
        for (event_type, content) in events {
            let eol = ["\n", "\r\n", "\r"][pick(3) as usize];
            match pick(4) {
                0 => s += &format!(": keep-alive{eol}"),
                1 => s += &format!("id: 9{eol}retry: 10{eol}"),
                _ => {}
            }
            s += &format!("event: {event_type}{eol}");
            let data = if pick(2) == 0 {
                serde_json::to_string(content).unwrap()
            } else {
                serde_json::to_string_pretty(content).unwrap()
            };
            for line in data.split('\n') {
                let sep = if pick(2) == 0 || line.starts_with(' ') {
                    ": "
                } else {
                    ":"
                };
                s += &format!("data{sep}{line}{eol}");
            }
            s += eol;
        }
        s.into_bytes()
    }

    /// Encodes events as records, with whitespace and empty frames.
    fn encode_record(events: &[(String, Value)], style: &[u8]) -> Vec<u8> {
        let mut s = String::new();
        for (i, (event_type, content)) in events.iter().enumerate() {
            let st = style.get(i % style.len().max(1)).copied().unwrap_or(0);
            if st % 3 == 0 {
                s += " \n\u{241E}";
            }
            if st % 2 == 0 {
                s += "\r\n ";
            }
            // The delimiter can't appear raw inside a frame, so escape it in strings.
            s += &record(event_type, content)
                .trim_end_matches('\u{241E}')
                .replace('\u{241E}', "\\u241e");
            s += "\u{241E}";
        }
        s.into_bytes()
    }

    /// Cuts `input` at the given (unsorted, possibly out of range) points.
    fn chunk_at<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut prev = 0;
        for c in cuts {
            chunks.push(&input[prev..c]);
            prev = c;
        }
        chunks.push(&input[prev..]);
        chunks
    }

    fn interesting_bytes() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            any::<u8>(),
            prop::sample::select(b"\r\n:{}[]\" 0\xE2\x90\x9E\xEF\xBB\xBF".to_vec()),
        ];
        let piece = prop_oneof![
            prop::collection::vec(byte, 0..8),
            prop::sample::select(vec![
                &b"data: "[..],
                b"event: t",
                b"data: {}\n\n",
                b"{\"chunk\":{\"type\":\"t\"}}",
                b"\xE2\x90\x9E",
                b"\r\n",
            ])
            .prop_map(|s| s.to_vec()),
        ];
        prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        // Don't write regression files into the repository.
        #![proptest_config(ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn arbitrary_bytes_never_panic_and_chunking_does_not_matter(
            input in interesting_bytes(),
            cuts in prop::collection::vec(any::<usize>(), 0..8),
            sse in any::<bool>(),
            small_cap in any::<bool>(),
        ) {
            let framing = if sse { Framing::Sse } else { Framing::Record };
            let make = || if small_cap {
                StreamDecoder::with_max_pending(framing, 12)
            } else {
                StreamDecoder::new(framing)
            };
            let whole = decode_with(make(), &[&input]);
            let chunked = decode_with(make(), &chunk_at(&input, &cuts));
            prop_assert_eq!(&whole, &chunked);
            let bytes: Vec<&[u8]> = input.chunks(1).collect();
            prop_assert_eq!(&whole, &decode_with(make(), &bytes));
        }

        #[test]
        fn valid_sse_events_decode_under_any_chunking(
            events in events(),
            style in prop::collection::vec(any::<u8>(), 1..16),
            cuts in prop::collection::vec(any::<usize>(), 0..8),
        ) {
            let input = encode_sse(&events, &style);
            let expected: Vec<Frame> =
                events.iter().map(|(t, c)| frame(t, c.clone())).collect();
            prop_assert_eq!(&decode_ok(Framing::Sse, &[&input]), &expected);
            prop_assert_eq!(&decode_ok(Framing::Sse, &chunk_at(&input, &cuts)), &expected);
        }

        #[test]
        fn valid_records_decode_under_any_chunking(
            events in events(),
            style in prop::collection::vec(any::<u8>(), 1..16),
            cuts in prop::collection::vec(any::<usize>(), 0..8),
        ) {
            let input = encode_record(&events, &style);
            let expected: Vec<Frame> =
                events.iter().map(|(t, c)| frame(t, c.clone())).collect();
            prop_assert_eq!(&decode_ok(Framing::Record, &[&input]), &expected);
            prop_assert_eq!(&decode_ok(Framing::Record, &chunk_at(&input, &cuts)), &expected);
        }
    }
}

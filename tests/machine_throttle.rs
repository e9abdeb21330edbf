//! `throttleMs`: onMessagesChange coalesced while text streams, never delaying the first
//! delta, flushing at the end of the turn (and when the interval has passed).

#[macro_use]
mod common;

use common::*;

fn count(t: &[String]) -> usize {
    t.iter().filter(|e| *e == "Messages").count()
}

#[test]
fn throttle_coalesces_text_but_never_delays_the_first_delta_and_flushes_at_the_end() {
    let mut c = config();
    c.throttle_ms = 100.0;
    let mut h = H::new(c);
    let n = started(&mut h, "x");
    h.open_sse(n);
    // The first delta of the turn is delivered at once.
    assert_eq!(count(&h.chunk(n, &sse(&[text("a")]))), 1);
    // Further reads within 100 ms are held back, and a wake-up is asked for.
    h.advance(10.0);
    assert_eq!(count(&h.chunk(n, &sse(&[text("b")]))), 0);
    h.advance(10.0);
    assert_eq!(count(&h.chunk(n, &sse(&[text("c")]))), 0);
    let due = h.m.next_wake().unwrap();
    assert_eq!(due, h.now - 20.0 + 100.0);
    // When the interval has passed, the timer delivers what was held.
    h.now = due;
    assert_eq!(h.timer(), tr!["Messages"]);
    assert_eq!(h.last_msg()["content"], "abc");
    // After the interval, a read is delivered at once again.
    h.advance(150.0);
    assert_eq!(count(&h.chunk(n, &sse(&[text("d")]))), 1);
    h.advance(1.0);
    assert_eq!(count(&h.chunk(n, &sse(&[text("e")]))), 0);
    // The end of the turn flushes, before the streaming flag and the event.
    let t = h.chunk(n, &sse(&[done("thr_1")]));
    assert_eq!(t[0], "Messages");
    assert_eq!(h.last_msg()["content"], "abcde");
}

#[test]
fn without_throttle_every_read_that_changes_something_is_delivered() {
    let mut h = H::new(config());
    let n = started(&mut h, "x");
    h.open_sse(n);
    for piece in ["a", "b", "c"] {
        h.advance(1.0);
        assert_eq!(count(&h.chunk(n, &sse(&[text(piece)]))), 1);
    }
    assert_eq!(
        h.m.next_wake(),
        Some(h.now - 3.0 + 60_000.0 + 3.0),
        "only the idle timeout is armed"
    );
}

/// The skin rebuilds only messages from `take_changed_from()` on, so a read's cost does not
/// grow with the conversation: the mark must cover every change and reset after each take.
#[test]
fn take_changed_from_marks_the_first_changed_message() {
    let mut h = H::new(config());
    let n = started(&mut h, "first");
    assert_eq!(h.m.take_changed_from(), 0, "the user message was added");
    assert_eq!(
        h.m.take_changed_from(),
        1,
        "nothing changed since: the length"
    );
    h.sse(n, &[text("a"), done("thr_1")]);
    assert_eq!(
        h.m.take_changed_from(),
        1,
        "the assistant message (index 1)"
    );
    let n = started(&mut h, "second");
    h.open_sse(n);
    h.chunk(n, &sse(&[text("b")]));
    assert_eq!(
        h.m.take_changed_from(),
        2,
        "the second user message and its answer"
    );
    h.chunk(n, &sse(&[text("c")]));
    assert_eq!(h.m.take_changed_from(), 3, "only the streaming answer");
    h.reset();
    assert_eq!(h.m.take_changed_from(), 0, "a reset changes everything");
}

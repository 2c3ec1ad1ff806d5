//! The memory store's expiry index: everything that expires, by deadline, so forgetting
//! what is due costs work in proportion to what is due, never a walk over every session.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::LogId;

/// Something that may be forgotten at its deadline. The deadline is a hint: the owner
/// checks the thing's own time when it comes due (a session seen since, a log appended
/// to since), and files it again if it is not due yet. Nothing is filed again on a mere
/// touch, so a busy session costs one entry, not one per request.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Due {
    /// A session that may have gone unseen for the session TTL.
    Session(String),
    /// A log whose oldest entries may have left the recovery window.
    Log(LogId),
    /// An append's idempotency key `(sid, key)`.
    Appended(String, String),
    /// Why a session ended (kept for the recovery window).
    Ended(String),
    /// A client message's record (a claim's lease, or an answer's window).
    Message(String, String),
    /// A rate-limit bucket, forgotten once it is full again.
    Bucket(String),
}

/// A min-heap of `(deadline ms, what)`.
#[derive(Debug, Default)]
pub(crate) struct Deadlines {
    heap: BinaryHeap<Reverse<(u64, Due)>>,
}

impl Deadlines {
    /// Files `due` for `at_ms`.
    pub(crate) fn file(&mut self, at_ms: u64, due: Due) {
        self.heap.push(Reverse((at_ms, due)));
    }

    /// The next thing due at `now_ms`, if any.
    pub(crate) fn next_due(&mut self, now_ms: u64) -> Option<Due> {
        let Reverse((at, _)) = self.heap.peek()?;
        if *at > now_ms {
            return None;
        }
        self.heap.pop().map(|Reverse((_, due))| due)
    }

    /// How many things are filed.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn things_come_due_in_deadline_order_and_not_before() {
        let mut d = Deadlines::default();
        d.file(30, Due::Ended("c".into()));
        d.file(10, Due::Session("a".into()));
        d.file(20, Due::Bucket("b".into()));
        assert_eq!(d.next_due(5), None);
        assert_eq!(d.next_due(25), Some(Due::Session("a".into())));
        assert_eq!(d.next_due(25), Some(Due::Bucket("b".into())));
        assert_eq!(d.next_due(25), None);
        assert_eq!(d.len(), 1);
    }
}

//! The cursor: a position in the store's single, totally ordered sequence of log entries.

use std::fmt;
use std::str::FromStr;

/// A position in the message history, sent as the SSE `id:` of every frame.
///
/// Every entry the store appends to any log (a session's, a room's, everyone's) gets a
/// cursor that is larger than every cursor handed out before it, so one cursor says
/// exactly which messages a client has seen: all of those at or below it. Its text form is
/// `<milliseconds>-<sequence>`; clients treat it as opaque and only echo it back.
///
/// ```
/// use socket_serve_protocol::Cursor;
///
/// let a: Cursor = "1000-0".parse().unwrap();
/// let b = Cursor::new(1000, 1);
/// assert!(a < b);
/// assert_eq!(b.to_string(), "1000-1");
/// assert!("nope".parse::<Cursor>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cursor {
    /// Milliseconds since the Unix epoch, by the store's clock, when the entry was appended.
    pub ms: u64,
    /// Tie-breaker among entries appended within the same millisecond.
    pub seq: u64,
}

impl Cursor {
    /// The position before every entry.
    pub const ZERO: Cursor = Cursor { ms: 0, seq: 0 };

    /// A cursor from its two parts.
    ///
    /// ```
    /// # use socket_serve_protocol::Cursor;
    /// assert_eq!(Cursor::new(5, 2).to_string(), "5-2");
    /// ```
    pub const fn new(ms: u64, seq: u64) -> Self {
        Cursor { ms, seq }
    }

    /// The smallest cursor that is larger than this one.
    ///
    /// ```
    /// # use socket_serve_protocol::Cursor;
    /// assert_eq!(Cursor::new(5, 2).next(), Cursor::new(5, 3));
    /// ```
    pub const fn next(self) -> Self {
        Cursor {
            ms: self.ms,
            seq: self.seq.saturating_add(1),
        }
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// The text was not a cursor (`<digits>-<digits>`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cursor {0:?}: expected <milliseconds>-<sequence>")]
pub struct CursorParseError(pub String);

impl FromStr for Cursor {
    type Err = CursorParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || CursorParseError(s.chars().take(64).collect());
        let (ms, seq) = s.trim().split_once('-').ok_or_else(err)?;
        let digits =
            |p: &str| !p.is_empty() && p.len() <= 20 && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms) || !digits(seq) {
            return Err(err());
        }
        Ok(Cursor {
            ms: ms.parse().map_err(|_| err())?,
            seq: seq.parse().map_err(|_| err())?,
        })
    }
}

impl serde::Serialize for Cursor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Cursor {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_time_then_sequence() {
        assert!(Cursor::new(1, 9) < Cursor::new(2, 0));
        assert!(Cursor::new(2, 0) < Cursor::new(2, 1));
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in [
            "",
            "-",
            "1-",
            "-1",
            "a-1",
            "1-b",
            "1-2-3",
            "1 -2",
            "99999999999999999999999-1",
        ] {
            assert!(bad.parse::<Cursor>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn round_trips_through_text_and_json() {
        let c = Cursor::new(1795624221059, 42);
        assert_eq!(c.to_string().parse::<Cursor>().unwrap(), c);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, "\"1795624221059-42\"");
        assert_eq!(serde_json::from_str::<Cursor>(&json).unwrap(), c);
    }
}

//! Entries on the wire to and from Redis: stream fields (`k`, `a`, `b`) and the pub/sub
//! payload `<cursor>\n<k>\n<a>\n<b>` (the envelope JSON, one line, comes last; a volatile
//! message has `v` for its cursor).
//!
//! A message's `a` is its [`Audience`]: empty for everyone, the one public id or room left
//! out (the sender of a broadcast: what earlier versions wrote), or the JSON object
//! `{"x": [...], "r": [...]}` (`except` and `rooms`) for anything more. A public id never
//! starts with `{`.

use std::sync::Arc;

use socket_serve_protocol::Cursor;

use crate::store::{Audience, Entry, EntryKind, StoreError};

/// The `a` field of a message.
pub(crate) fn encode_audience(audience: &Audience) -> String {
    match (audience.except.as_slice(), audience.rooms.is_empty()) {
        ([], true) => String::new(),
        ([one], true) if !one.starts_with('{') && !one.is_empty() => one.clone(),
        (except, _) => serde_json::json!({ "x": except, "r": audience.rooms }).to_string(),
    }
}

pub(crate) fn decode_audience(a: &str) -> Result<Audience, StoreError> {
    if a.is_empty() {
        return Ok(Audience::default());
    }
    if !a.starts_with('{') {
        return Ok(Audience::except_sender(a));
    }
    #[derive(serde::Deserialize)]
    struct Wire {
        #[serde(default)]
        x: Vec<String>,
        #[serde(default)]
        r: Vec<String>,
    }
    let wire: Wire =
        serde_json::from_str(a).map_err(|e| StoreError::Corrupt(format!("audience: {e}")))?;
    Ok(Audience {
        except: wire.x,
        rooms: wire.r,
    })
}

/// The three fields an entry is stored as.
pub(crate) fn fields(kind: &EntryKind) -> (&'static str, String, String) {
    match kind {
        EntryKind::Message { json, audience } => ("m", encode_audience(audience), json.to_string()),
        EntryKind::Joined { room } => ("j", room.clone(), String::new()),
        EntryKind::Left { room, since } => ("l", room.clone(), since.to_string()),
        EntryKind::Disconnected { reason } => ("d", reason.clone(), String::new()),
    }
}

pub(crate) fn kind_from(k: &str, a: String, b: String) -> Result<EntryKind, StoreError> {
    Ok(match k {
        "m" => EntryKind::Message {
            json: Arc::from(b),
            audience: decode_audience(&a)?,
        },
        "j" => EntryKind::Joined { room: a },
        "l" => EntryKind::Left {
            room: a,
            since: b
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("bad join cursor {b:?}")))?,
        },
        "d" => EntryKind::Disconnected { reason: a },
        other => return Err(StoreError::Corrupt(format!("unknown entry kind {other:?}"))),
    })
}

/// What a pub/sub payload says.
#[derive(Debug, PartialEq)]
pub(crate) enum Announcement {
    /// An appended entry.
    Entry(Entry),
    /// A volatile message: not logged.
    Volatile(Arc<str>, Audience),
}

/// The pub/sub payload of a volatile message.
pub(crate) fn volatile_payload(json: &str, audience: &Audience) -> String {
    format!("v\nm\n{}\n{json}", encode_audience(audience))
}

/// Parses a pub/sub payload.
pub(crate) fn decode_announcement(payload: &str) -> Result<Announcement, StoreError> {
    if let Some(rest) = payload.strip_prefix("v\nm\n") {
        let Some((a, json)) = rest.split_once('\n') else {
            return Err(StoreError::Corrupt("short volatile announcement".into()));
        };
        return Ok(Announcement::Volatile(Arc::from(json), decode_audience(a)?));
    }
    decode_entry(payload).map(Announcement::Entry)
}

fn decode_entry(payload: &str) -> Result<Entry, StoreError> {
    let mut parts = payload.splitn(4, '\n');
    let (Some(cursor), Some(k), Some(a), Some(b)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(StoreError::Corrupt("short announcement".into()));
    };
    let cursor: Cursor = cursor
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("bad cursor {cursor:?}")))?;
    Ok(Entry {
        cursor,
        kind: kind_from(k, a.to_owned(), b.to_owned())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_round_trip_every_kind() {
        let kinds = [
            EntryKind::Message {
                json: Arc::from(r#"{"event":"x","data":"a\nb"}"#),
                audience: Audience::except_sender("pub"),
            },
            EntryKind::Message {
                json: Arc::from("{}"),
                audience: Audience::default(),
            },
            EntryKind::Message {
                json: Arc::from("{}"),
                audience: Audience {
                    except: vec!["p1".into(), "room {x}".into()],
                    rooms: vec!["a".into(), "b".into()],
                },
            },
            EntryKind::Joined { room: "r".into() },
            EntryKind::Left {
                room: "r".into(),
                since: Cursor::new(5, 1),
            },
            EntryKind::Disconnected {
                reason: "expired".into(),
            },
        ];
        for kind in kinds {
            let (k, a, b) = fields(&kind);
            let payload = format!("7-3\n{k}\n{a}\n{b}");
            let Announcement::Entry(entry) = decode_announcement(&payload).unwrap() else {
                panic!("not an entry: {payload:?}");
            };
            assert_eq!(entry.cursor, Cursor::new(7, 3));
            assert_eq!(entry.kind, kind);
        }
    }

    #[test]
    fn volatile_announcements_round_trip_and_old_audiences_still_read() {
        let audience = Audience {
            except: vec!["p".into()],
            rooms: vec!["a".into(), "b".into()],
        };
        let payload = volatile_payload(r#"{"event":"cursor"}"#, &audience);
        assert_eq!(
            decode_announcement(&payload).unwrap(),
            Announcement::Volatile(Arc::from(r#"{"event":"cursor"}"#), audience)
        );
        // What earlier versions stored: a lone sender id.
        assert_eq!(
            decode_audience("p-9").unwrap(),
            Audience::except_sender("p-9")
        );
        assert_eq!(encode_audience(&Audience::except_sender("p-9")), "p-9");
        assert!(decode_audience("{oops").is_err());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode_announcement("").is_err());
        assert!(decode_announcement("x\nm\n\n{}").is_err());
        assert!(decode_announcement("1-1\nz\n\n").is_err());
    }
}

//! Entries on the wire to and from Redis: stream fields (`k`, `a`, `b`) and the pub/sub
//! payload `<cursor>\n<k>\n<a>\n<b>` (the envelope JSON, one line, comes last).

use std::sync::Arc;

use socket_serve_protocol::Cursor;

use crate::store::{Entry, EntryKind, StoreError};

/// The three fields an entry is stored as.
pub(crate) fn fields(kind: &EntryKind) -> (&'static str, String, String) {
    match kind {
        EntryKind::Message { json, except } => {
            ("m", except.clone().unwrap_or_default(), json.to_string())
        }
        EntryKind::Joined { room } => ("j", room.clone(), String::new()),
        EntryKind::Left { room, since } => ("l", room.clone(), since.to_string()),
        EntryKind::Disconnected { reason } => ("d", reason.clone(), String::new()),
    }
}

pub(crate) fn kind_from(k: &str, a: String, b: String) -> Result<EntryKind, StoreError> {
    Ok(match k {
        "m" => EntryKind::Message {
            json: Arc::from(b),
            except: (!a.is_empty()).then_some(a),
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

/// Parses a pub/sub payload.
pub(crate) fn decode_announcement(payload: &str) -> Result<Entry, StoreError> {
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
                except: Some("pub".into()),
            },
            EntryKind::Message {
                json: Arc::from("{}"),
                except: None,
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
            let entry = decode_announcement(&payload).unwrap();
            assert_eq!(entry.cursor, Cursor::new(7, 3));
            assert_eq!(entry.kind, kind);
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode_announcement("").is_err());
        assert!(decode_announcement("x\nm\n\n{}").is_err());
        assert!(decode_announcement("1-1\nz\n\n").is_err());
    }
}

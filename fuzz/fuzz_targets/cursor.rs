//! `Cursor::from_str` (the `Last-Event-ID` header, the `lastEventId` parameter): never
//! panics, and what parses prints back to text that parses to the same cursor.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socket_serve_protocol::Cursor;

fuzz_target!(|text: &str| {
    if let Ok(cursor) = text.parse::<Cursor>() {
        let printed = cursor.to_string();
        assert_eq!(
            printed.parse::<Cursor>(),
            Ok(cursor),
            "{text:?} -> {printed:?}"
        );
        assert!(cursor < cursor.next() || cursor.seq == u64::MAX);
        let json = serde_json::to_string(&cursor).expect("a cursor serializes");
        assert_eq!(serde_json::from_str::<Cursor>(&json).ok(), Some(cursor));
    }
});

//! Key and channel names. Every key and channel of one deployment (one key prefix: one
//! namespace) carries the prefix as its hash tag, `{ss}:...`, so a namespace lives in one
//! Redis Cluster slot: every script may touch any of its keys (all passed in `KEYS`), and
//! the one clock keeps cursors ordered over all of them. Different namespaces spread over
//! a cluster's shards. The pub/sub channel of a log is the log's key name.

use crate::store::LogId;

#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    /// The keys of prefix `prefix` (which has no braces: see [`check_prefix`]).
    pub(crate) fn new(prefix: &str) -> Self {
        Keys {
            prefix: format!("{{{prefix}}}"),
        }
    }

    /// The last cursor handed out: one clock for all logs, so cursors are totally ordered.
    pub(crate) fn clock(&self) -> String {
        format!("{}:clock", self.prefix)
    }

    /// Sorted set of live sessions by last-seen time, for the expiry sweep.
    pub(crate) fn sessions(&self) -> String {
        format!("{}:sessions", self.prefix)
    }

    /// Hash: public id → session id, for addressing a session by its public id. Entries
    /// go with their session's purge; the hash expires `keys_ttl` after the last connect
    /// or periodic refresh of any session, so it cannot outlive the deployment's sessions.
    pub(crate) fn public_ids(&self) -> String {
        format!("{}:public", self.prefix)
    }

    /// Hash: `pub` (public id), `start`, `drain` (cursors), `closed` (0/1).
    pub(crate) fn meta(&self, sid: &str) -> String {
        format!("{}:s:{sid}:meta", self.prefix)
    }

    /// Why the session was closed: set by the close, expires after the recovery window.
    pub(crate) fn ended(&self, sid: &str) -> String {
        format!("{}:s:{sid}:ended", self.prefix)
    }

    /// Hash of the app's session state.
    pub(crate) fn state(&self, sid: &str) -> String {
        format!("{}:s:{sid}:state", self.prefix)
    }

    /// Hash: room → cursor of the join.
    pub(crate) fn rooms(&self, sid: &str) -> String {
        format!("{}:s:{sid}:rooms", self.prefix)
    }

    /// Sorted set of the session's open streams by when they opened (microseconds of the
    /// Redis clock): the lowest is the oldest, the one a stream past the cap ends.
    pub(crate) fn streams(&self, sid: &str) -> String {
        format!("{}:s:{sid}:streams", self.prefix)
    }

    /// Hash: stream id → when its heartbeat last refreshed its slot (ms). Both stream keys
    /// expire with the slots' staleness, so streams that all died silently leave nothing.
    pub(crate) fn streams_seen(&self, sid: &str) -> String {
        format!("{}:s:{sid}:streams:seen", self.prefix)
    }

    /// A client message id's record: `claimed` (with a lease) or `done:<answer>`.
    pub(crate) fn message(&self, sid: &str, message_id: &str) -> String {
        format!("{}:s:{sid}:msg:{message_id}", self.prefix)
    }

    /// An append's idempotency key.
    pub(crate) fn appended(&self, sid: &str, key: &str) -> String {
        format!("{}:s:{sid}:out:{key}", self.prefix)
    }

    /// A rate-limit bucket: its arrival time in µs (see `store::rate`); it expires once the
    /// bucket is full again, so an idle client costs nothing.
    pub(crate) fn bucket(&self, name: &str) -> String {
        format!("{}:rate:{name}", self.prefix)
    }

    /// Hash of a room's members: public id → presence metadata (JSON, `''` for none).
    /// Its size is the room's count (HLEN), its pages one HSCAN each.
    pub(crate) fn members(&self, room: &str) -> String {
        format!("{}:room:{room}:presence", self.prefix)
    }

    /// The stream (and pub/sub channel) of a log.
    pub(crate) fn log(&self, log: &LogId) -> String {
        match log {
            LogId::Session(sid) => format!("{}:s:{sid}:log", self.prefix),
            LogId::Room(room) => format!("{}:room:{room}:log", self.prefix),
            LogId::All => format!("{}:all:log", self.prefix),
            LogId::Ack { sid, id } => format!("{}:s:{sid}:ack:{id}", self.prefix),
        }
    }

    /// This instance's heartbeat channel.
    pub(crate) fn tick(&self, instance: &str) -> String {
        format!("{}:tick:{instance}", self.prefix)
    }
}

/// Why `prefix` cannot be a key prefix, if it cannot: it becomes the hash tag of every key,
/// so it must be non-empty and brace-free (a brace would change which part Redis hashes).
pub(crate) fn check_prefix(prefix: &str) -> Result<(), &'static str> {
    if prefix.is_empty() {
        return Err("the key prefix is empty");
    }
    if prefix.contains(['{', '}']) {
        return Err("the key prefix contains a brace ('{' or '}')");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The part of a key Redis Cluster hashes (its hash tag, as the cluster spec defines it).
    fn hashed(key: &str) -> &str {
        match key.find('{') {
            Some(open) => match key[open + 1..].find('}') {
                Some(0) | None => key,
                Some(len) => &key[open + 1..open + 1 + len],
            },
            None => key,
        }
    }

    #[test]
    fn every_key_of_a_namespace_hashes_to_its_prefix() {
        let k = Keys::new("ss");
        let sid = "00112233445566778899aabbccddeeff";
        let ack = LogId::Ack {
            sid: sid.into(),
            id: "a1".into(),
        };
        let keys = [
            k.clock(),
            k.sessions(),
            k.public_ids(),
            k.meta(sid),
            k.ended(sid),
            k.state(sid),
            k.rooms(sid),
            k.streams(sid),
            k.streams_seen(sid),
            k.message(sid, "m-1"),
            k.appended(sid, "m-1#s0#0"),
            k.members("lobby {x}"),
            k.bucket("ip:{127.0.0.1}"),
            k.log(&LogId::Session(sid.into())),
            k.log(&LogId::Room("{other}".into())),
            k.log(&LogId::All),
            k.log(&ack),
            k.tick("i1"),
        ];
        for key in keys {
            assert_eq!(hashed(&key), "ss", "{key}");
        }
        assert_eq!(k.clock(), "{ss}:clock");
    }

    #[test]
    fn prefixes_with_braces_or_nothing_are_refused() {
        assert!(check_prefix("ss").is_ok());
        assert!(check_prefix("app-1:chat").is_ok());
        assert!(check_prefix("").is_err());
        assert!(check_prefix("a{b").is_err());
        assert!(check_prefix("a}b").is_err());
    }
}
